import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { Alerts } from '../../gateway/core/alerts.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const at = (iso: string) => Date.parse(iso);

describe('planner: a batch that has waited too long already', () => {
  it('keeps its id, is tempered first, and its wait is listed in the plan document and raised as HOLDING_LIMIT', async () => {
    // Restart at local midnight after the gateway was down: batch 7 left conching at 18:00 local, 6 h ago, and has
    // waited for tempering since (limit 4 h). Nothing can undo that: the plan says so instead of failing.
    const now = '2025-11-03T23:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48 } }), now);
    const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(now) });
    await ctx.store.setValue('planner.started', [
      { process: 'mixing', batch: 7, start: at('2025-11-03T07:00:00Z'), end: at('2025-11-03T08:00:00Z') },
      { process: 'refining', batch: 7, start: at('2025-11-03T08:00:00Z'), end: at('2025-11-03T12:00:00Z') },
      { process: 'conching', batch: 7, start: at('2025-11-03T12:00:00Z'), end: at('2025-11-03T17:00:00Z') },
    ]);
    await ctx.store.setValue('planner.nextBatch', 8);
    const alerts: string[] = [];
    ctx.bus.on('alert', 'test', (a) => a.code === 'HOLDING_LIMIT' && alerts.push(a.message));
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    expect(doc.infeasible).toEqual([]);
    const tempering = doc.runs.filter((r) => r.process === 'tempering').sort((a, b) => a.start.localeCompare(b.start));
    expect(tempering[0]!.batch).toBe(7);
    expect(tempering[0]!.max_wait_min).toBe(240);
    expect(tempering[0]!.waited_min).toBeGreaterThan(240);
    expect(doc.holding_breaches[0]).toBe(`batch 7 waits ${tempering[0]!.waited_min! / 60} h for tempering (limit 4 h)`);
    expect(alerts).toEqual([`batch 7 before tempering: waits ${tempering[0]!.waited_min! / 60} h (limit 4 h)`]);
    // The new batches get ids after it, each id once per process.
    expect(doc.runs.filter((r) => r.process === 'mixing').map((r) => r.batch)).toEqual([8, 9, 10, 11]);
    await ctx.close();
  }, 60_000);

  it('keeps listing the breach and the wait once the re-plan keeps the run (frozen window), and still reports the wait once it has started', async () => {
    // The demo's fault (breaker3, plans #1942-1949): a breach listed while the run was planned vanished from
    // holding_breaches, and every run's waited_min turned null, once the frozen window kept the run (a fixed run).
    const now = '2025-11-03T23:00:00Z';
    // Nothing starts in the first local hour (00:00-01:00 Tuesday), so the re-plan below comes before the run starts.
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, frozenMinutes: 120, forbidden: [{ weekdays: [2], from: '00:00', to: '01:00' }] } }), now);
    const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(now) });
    await ctx.store.setValue('planner.started', [
      { process: 'mixing', batch: 7, start: at('2025-11-03T07:00:00Z'), end: at('2025-11-03T08:00:00Z') },
      { process: 'refining', batch: 7, start: at('2025-11-03T08:00:00Z'), end: at('2025-11-03T12:00:00Z') },
      { process: 'conching', batch: 7, start: at('2025-11-03T12:00:00Z'), end: at('2025-11-03T17:00:00Z') },
    ]);
    await ctx.store.setValue('planner.nextBatch', 8);
    // The alerts as the gateway keeps them (gateway/core/alerts.ts on the same bus), and what the planner emitted.
    const kept = new Alerts(() => ({ publish: async () => {} }), ctx.clock, ctx.log);
    kept.wire(ctx.bus, 'alerts-test');
    const emitted: string[] = [];
    ctx.bus.on('alert', 'test', (a) => a.code === 'HOLDING_LIMIT' && emitted.push(a.message));
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const first = planner.current()!;
    const t7 = (doc: typeof first) => doc.runs.find((r) => r.process === 'tempering' && r.batch === 7)!;
    const start7 = Date.parse(t7(first).start);
    const waited = t7(first).waited_min!;
    expect(waited).toBeGreaterThan(240);
    const breach = `batch 7 waits ${waited / 60} h for tempering (limit 4 h)`;
    expect(first.holding_breaches).toContain(breach);
    // A re-plan inside the frozen window before the run starts: the run is kept (a fixed run); its wait is the plan's.
    expect(start7 - at(now)).toBeGreaterThan(0);
    await ctx.clock.advanceTo(start7 - 60_000);
    await planner.jobs!.planning!();
    const keptPlan = planner.current()!;
    expect(t7(keptPlan).start).toBe(t7(first).start);
    expect(t7(keptPlan).waited_min).toBe(waited);
    expect(keptPlan.holding_breaches).toContain(breach);
    // One alert for the breach while the plans keep listing it (it was emitted at every re-plan: a flood when the wait
    // grows, since each new figure made a new message), open until a plan no longer lists it.
    const holding = () => kept.recent().filter((a) => a.code === 'HOLDING_LIMIT' && a.message.startsWith('batch 7 before tempering: '));
    expect(emitted.filter((m) => m.startsWith('batch 7 before tempering: '))).toHaveLength(1);
    expect(holding()).toHaveLength(1);
    expect(holding()[0]!.resolvedAt).toBeNull();
    // Once started, the wait is history: still reported on the run, no longer a breach this plan makes (no alert at
    // every re-plan for what no plan can undo).
    await ctx.clock.advanceTo(start7 + H / 2);
    await planner.jobs!.planning!();
    const running = planner.current()!;
    expect(t7(running).start).toBe(t7(first).start);
    expect(t7(running).waited_min).toBe(waited);
    expect(running.holding_breaches).not.toContain(breach);
    expect(emitted.filter((m) => m.startsWith('batch 7 before tempering: '))).toHaveLength(1);
    expect(holding()[0]!.resolvedAt).toBe(ctx.clock.now());
    // Every later step's run whose previous step the plan knows has its wait, whichever way the plan was made.
    for (const doc of [first, keptPlan, running]) {
      for (const r of doc.runs.filter((x) => x.process !== 'mixing' && !x.interrupted)) {
        const pred = doc.runs.find((x) => x.batch === r.batch && x.process === { refining: 'mixing', conching: 'refining', tempering: 'conching' }[r.process]);
        if (pred) expect(r.waited_min, `${doc.plan_id} ${r.process} #${r.batch}`).toBe((Date.parse(r.start) - Date.parse(pred.end)) / 60_000);
      }
    }
    await ctx.close();
  }, 120_000);
});
