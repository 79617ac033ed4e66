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
    const planner = createPlanner(ctx);
    await planner.start();
    // The runs that started, as the plan in force said at each step.
    const started = new Map<string, { process: string; start: number }>();
    for (let step = 0; step < 72 * 2; step++) {
      if (step) await ctx.clock.advance(H / 2);
      await planner.jobs!.planning!();
      for (const r of planner.current()!.runs) {
        const start = Date.parse(r.start);
        if (start <= ctx.clock.now()) started.set(`${r.process}@${start}`, { process: r.process, start });
      }
    }
    expect(infeasible).toEqual([]);
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
  }, 120_000);
});
