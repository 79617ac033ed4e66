import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const at = (iso: string) => Date.parse(iso);

/** Batches 4 and 5 in the line at 10:00Z: 4 conching until 11:00Z, 5 refined (waits for conching); 3 done. */
async function plantWithBatchesInTheLine() {
  const now = '2025-11-04T10:00:00Z';
  const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48 } }), now);
  const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
  await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(now) });
  await ctx.store.setValue('planner.started', [
    { process: 'mixing', batch: 4, start: at('2025-11-04T00:00:00Z'), end: at('2025-11-04T01:00:00Z') },
    { process: 'refining', batch: 4, start: at('2025-11-04T01:00:00Z'), end: at('2025-11-04T05:00:00Z') },
    { process: 'mixing', batch: 5, start: at('2025-11-04T03:00:00Z'), end: at('2025-11-04T04:00:00Z') },
    { process: 'conching', batch: 4, start: at('2025-11-04T06:00:00Z'), end: at('2025-11-04T11:00:00Z') },
    { process: 'refining', batch: 5, start: at('2025-11-04T05:00:00Z'), end: at('2025-11-04T09:00:00Z') },
  ]);
  await ctx.store.setValue('planner.nextBatch', 6);
  const planner = createPlanner(ctx);
  await planner.start();
  return { ctx, planner };
}

describe('planner: a quota of 0 for a later step while batches are in the line (tester5 fault 4)', () => {
  it('keeps the remaining steps of the batches already in the line and starts no batch whose later step cannot run', async () => {
    const { ctx, planner } = await plantWithBatchesInTheLine();
    const quotas: Array<Record<string, number>> = [{ tempering: 0 }, { mixing: 0, refining: 0, conching: 0, tempering: 0 }];
    for (const quota of quotas) {
      const doc = await planner.preview({ quota });
      const steps = (batch: number) => doc.runs.filter((r) => r.batch === batch).map((r) => r.process).sort();
      // Batch 4 (conching now) still gets its tempering; batch 5 (refined) its conching and tempering.
      expect(steps(4), JSON.stringify(quota)).toEqual(['conching', 'tempering']);
      expect(steps(5), JSON.stringify(quota)).toEqual(['conching', 'tempering']);
      // No new batch enters the line: its tempering could not run.
      expect(doc.runs.filter((r) => r.batch >= 6), JSON.stringify(quota)).toEqual([]);
      // Every later step's wait is within its limit, or listed.
      for (const r of doc.runs.filter((x) => x.max_wait_min !== null && x.waited_min !== null && x.waited_min > x.max_wait_min!)) expect(doc.holding_breaches.join(' ')).toContain(`batch ${r.batch}`);
      expect(doc.totals.holding_kwh, JSON.stringify(quota)).toBeLessThan(50);
    }
    await ctx.close();
  }, 120_000);
});
