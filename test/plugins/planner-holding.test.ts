import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
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
    expect(alerts).toEqual([doc.holding_breaches[0]]);
    // The new batches get ids after it, each id once per process.
    expect(doc.runs.filter((r) => r.process === 'mixing').map((r) => r.batch)).toEqual([8, 9, 10, 11]);
    await ctx.close();
  }, 60_000);
});
