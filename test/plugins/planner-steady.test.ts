import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { localDate } from '../../gateway/time/tz.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const TZ = 'Europe/Madrid';
const ORDER = ['mixing', 'refining', 'conching', 'tempering'];
// Real OMIE day-ahead prices of November 2025 (test/fixtures/PROVENANCE.md).
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;

describe('planner over three days on a fake clock, re-planning every 30 minutes as the gateway does', () => {
  it.each([
    ['the solver', 5000],
    ['the greedy fallback', 0],
  ])('mixes exactly two batches every local day from a cold start, and no later step falls behind (%s)', async (_, timeLimitMs) => {
    const now = '2025-11-03T08:00:00Z'; // 09:00 local, nothing run yet
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, timeLimitMs } }), now);
    const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: Date.parse(now) });
    const infeasible: string[] = [];
    ctx.bus.on('alert', 'test', (a) => a.code === 'PLAN_INFEASIBLE' && infeasible.push(a.message));
    let planner = createPlanner(ctx);
    await planner.start();
    // The runs that started, as the plan in force said at each step, with their batch ids.
    const started = new Map<string, { process: string; start: number; end: number; batch: number }>();
    const problems: string[] = [];
    for (let step = 0; step < 72 * 2; step++) {
      if (step) await ctx.clock.advance(H / 2);
      if (step === 61) {
        // A restart half way (21:30 local on the second day, batches in progress): the new planner starts from the store.
        await planner.stop();
        planner = createPlanner(ctx);
        await planner.start();
      }
      await planner.jobs!.planning!();
      const doc = planner.current()!;
      const at = new Date(ctx.clock.now()).toISOString();
      // One identity per batch: never the same batch twice in one process of a plan.
      const seen = new Set<string>();
      for (const r of doc.runs) {
        if (seen.has(`${r.process} #${r.batch}`)) problems.push(`${at}: ${r.process} #${r.batch} twice`);
        seen.add(`${r.process} #${r.batch}`);
      }
      // An honest saving: the plan never costs more than the fixed shift unless the document says why.
      if (doc.totals.saved_eur === null) problems.push(`${at}: no fixed-shift comparison`);
      else if (doc.totals.saved_eur < 0 && !doc.totals.saved_reason) problems.push(`${at}: saved ${doc.totals.saved_eur} € without a reason`);
      if (doc.holding_breaches?.length) problems.push(`${at}: ${doc.holding_breaches.join('; ')}`);
      for (const r of doc.runs) {
        const start = Date.parse(r.start);
        if (start > ctx.clock.now()) continue;
        const before = started.get(`${r.process}@${start}`);
        // A batch keeps its id through re-plans and the restart.
        if (before && before.batch !== r.batch) problems.push(`${at}: ${r.process} started at ${r.start} was batch ${before.batch}, now ${r.batch}`);
        started.set(`${r.process}@${start}`, { process: r.process, start, end: Date.parse(r.end), batch: r.batch });
      }
    }
    expect(problems).toEqual([]);
    expect(infeasible).toEqual([]);
    // Each batch goes mixing → refining → conching → tempering under one id, each step after the previous one ended
    // and within the 4 h holding limit; no id is reused by another batch.
    const byBatch = new Map<number, Array<{ process: string; start: number; end: number }>>();
    for (const r of started.values()) byBatch.set(r.batch, [...(byBatch.get(r.batch) ?? []), r]);
    const mixed = [...started.values()].filter((r) => r.process === 'mixing');
    expect(new Set(mixed.map((r) => r.batch)).size).toBe(mixed.length);
    expect(mixed.filter((r) => localDate(r.start, TZ) <= '2025-11-05').map((r) => r.batch).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [batch, steps] of byBatch) {
      steps.sort((a, b) => a.start - b.start);
      expect(steps.map((s) => s.process), `batch ${batch}`).toEqual(ORDER.slice(0, steps.length));
      for (let i = 1; i < steps.length; i++) {
        expect(steps[i]!.start, `batch ${batch} ${steps[i]!.process}`).toBeGreaterThanOrEqual(steps[i - 1]!.end);
        expect(steps[i]!.start - steps[i - 1]!.end, `batch ${batch} waits for ${steps[i]!.process}`).toBeLessThanOrEqual(4 * H);
      }
    }
    const perDay = new Map<string, Record<string, number>>();
    for (const r of started.values()) {
      const day = perDay.get(localDate(r.start, TZ)) ?? {};
      day[r.process] = (day[r.process] ?? 0) + 1;
      perDay.set(localDate(r.start, TZ), day);
    }
    const cumulative: Record<string, number> = Object.fromEntries(ORDER.map((p) => [p, 0]));
    for (const day of ['2025-11-03', '2025-11-04', '2025-11-05']) {
      const runs = perDay.get(day) ?? {};
      expect(runs.mixing, day).toBe(2);
      for (const p of ORDER) cumulative[p]! += runs[p] ?? 0;
      // Each later step trails the batches mixed by at most the day's two (work in progress over midnight), never more.
      for (const p of ORDER.slice(1)) {
        expect(cumulative[p], `${day} ${p}`).toBeLessThanOrEqual(cumulative.mixing!);
        expect(cumulative[p], `${day} ${p}`).toBeGreaterThanOrEqual(cumulative.mixing! - 2);
      }
    }
    await ctx.close();
  }, 300_000); // up to three solves per re-plan (frozen window, the plan in force kept whole): slow on a loaded box
});
