import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const at = (iso: string) => Date.parse(iso);

describe('planner: a run newly placed never starts before the plan is made (tester5 fault 3)', () => {
  it('after an operator change at hh:42 the waiting batch starts at the next slot boundary and keeps its full duration', async () => {
    // Batch 7 left conching at 17:00Z and waits for tempering beyond its 4 h limit: the solvers want it as early as
    // possible. The operator applies a quota change at 23:42Z (frozen window released): the plan placed tempering in
    // the 23:00 slot, and the line was told "run until 01:00" at 23:42 (78 min instead of 120).
    const now = '2025-11-03T23:42:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48 } }), now);
    const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(now) });
    await ctx.store.setValue('planner.started', [
      { process: 'mixing', batch: 7, start: at('2025-11-03T07:00:00Z'), end: at('2025-11-03T08:00:00Z') },
      { process: 'refining', batch: 7, start: at('2025-11-03T08:00:00Z'), end: at('2025-11-03T12:00:00Z') },
      { process: 'conching', batch: 7, start: at('2025-11-03T12:00:00Z'), end: at('2025-11-03T17:00:00Z') },
    ]);
    await ctx.store.setValue('planner.nextBatch', 8);
    const planner = createPlanner(ctx);
    await planner.start();
    for (const doc of [await planner.preview({ quota: { mixing: 3, refining: 3, conching: 3, tempering: 3 } }), await planner.apply({ quota: { mixing: 3, refining: 3, conching: 3, tempering: 3 } })]) {
      const created = Date.parse(doc.created_at);
      expect(created).toBe(at(now));
      // No run of this plan starts before it was made: nothing has started since the store's runs (all before 17:00Z).
      for (const r of doc.runs) expect(Date.parse(r.start), `${doc.plan_id} ${r.process} #${r.batch} ${r.start}`).toBeGreaterThanOrEqual(created);
      const t7 = doc.runs.find((r) => r.process === 'tempering' && r.batch === 7)!;
      // The next slot boundary (the plan's hourly grid), the whole 120 min.
      expect(t7.start).toBe('2025-11-04T00:00:00Z');
      expect((Date.parse(t7.end) - Date.parse(t7.start)) / 60_000).toBe(120);
    }
    // What the line is told at once agrees: not "run until 01:00" now, but idle with tempering next at 00:00Z.
    const line = planner.lines().find((l) => l.process === 'tempering')!;
    expect(line.command?.state).toBe('next');
    expect(line.command?.start).toBe('2025-11-04T00:00:00Z');
    await ctx.close();
  }, 120_000);
});
