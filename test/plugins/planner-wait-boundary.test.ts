import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { heldIntervals } from '../../gateway/planner/holding.js';
import { pluginContext, testConfig } from '../helpers/context.js';
import { testPlannerInput, testProcess } from '../helpers/planner-input.js';

const H = 3_600_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const at = (iso: string) => Date.parse(iso);

describe('planner: the wait of a batch whose previous step ended at a day or horizon boundary stays known (tester5 fault 13)', () => {
  it('a kept run takes its wait from its own batch, not from the batch-order pairing', () => {
    // Refining #10 is kept (fixed, slot 2); its mixing ended before the horizon (slot -1, fixedWaitSince). Mixing #11
    // is planned at slot 0: the pairing (no credit) would take it as #10's mixing and lose the wait.
    const mixing = testProcess('mixing', 30, 60);
    const refining = testProcess('refining', 42, 240, { maxWaitMinutes: 240, holdKw: 4 });
    const input = testPlannerInput(at('2025-11-04T00:00:00Z'), new Array(12).fill(50), new Array(12).fill(null), [mixing, refining], {
      fixedRuns: [{ process: 'refining', batch: 10, startSlot: 2, slots: 4 }],
      fixedWaitSince: { refining: { 10: -1 } },
      runsToPlace: { mixing: 1, refining: 0 },
    });
    const held = heldIntervals(input, [{ process: 'mixing', batch: 11, startSlot: 0, slots: 1 }]);
    expect(held.find((h) => h.process === 'refining' && h.batch === 10)).toMatchObject({ fromSlot: -1, toSlot: 2, fixed: true });
  });

  it('refining batch 10, mixed until local midnight, keeps its waited_min in the plans after midnight', async () => {
    // Every day the same: batch 9 mixed 22:00-23:00Z two days ago (its mixing leaves the planner's two-day history
    // first), batch 10 mixed 22:00-23:00Z yesterday (23:00Z = local midnight) and waits for refining.
    const now = '2025-11-04T23:00:00Z';
    // Nothing runs from 00:00 to 03:00 local on Wednesday: batch 10 waits 180 min for refining, as in the demo.
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, frozenMinutes: 120, forbidden: [{ weekdays: [3], from: '00:00', to: '03:00' }] } }), now);
    const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(now) });
    await ctx.store.setValue('planner.started', [
      { process: 'mixing', batch: 9, start: at('2025-11-02T22:00:00Z'), end: at('2025-11-02T23:00:00Z') },
      { process: 'refining', batch: 9, start: at('2025-11-02T23:00:00Z'), end: at('2025-11-03T03:00:00Z') },
      { process: 'conching', batch: 9, start: at('2025-11-03T03:00:00Z'), end: at('2025-11-03T08:00:00Z') },
      { process: 'tempering', batch: 9, start: at('2025-11-03T08:00:00Z'), end: at('2025-11-03T10:00:00Z') },
      { process: 'mixing', batch: 10, start: at('2025-11-04T22:00:00Z'), end: at('2025-11-04T23:00:00Z') },
    ]);
    await ctx.store.setValue('planner.nextBatch', 11);
    const planner = createPlanner(ctx);
    await planner.start();
    const r10 = () => planner.current()!.runs.find((r) => r.process === 'refining' && r.batch === 10);
    // The plan at local midnight, then after it: the second and third keep the run (frozen window, a fixed run).
    for (const t of ['2025-11-04T23:00:00Z', '2025-11-05T00:00:00Z', '2025-11-05T00:30:00Z']) {
      await ctx.clock.advanceTo(at(t));
      await planner.jobs!.planning!();
      const doc = planner.current()!;
      expect(doc.infeasible, doc.plan_id).toEqual([]);
      const run = r10();
      expect(run, `${doc.plan_id}: refining #10 in the plan`).toBeDefined();
      expect(run!.start, doc.plan_id).toBe('2025-11-05T02:00:00Z');
      expect(run!.waited_min, doc.plan_id).toBe(180);
    }
    await ctx.close();
  }, 180_000);
});
