import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import type { StartedRun } from '../../plugins/planner/interruptions.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
// The demo's own recording: OMIE day-ahead prices of 2018 (plugins/replay/PROVENANCE.md).
const PRICES = new URL('../../plugins/replay/sample/omie_es_2018.csv.gz', import.meta.url).pathname;
const at = (iso: string) => Date.parse(`2018-01-${iso}:00Z`);
const run = (process: string, batch: number, start: string, end: string): StartedRun => ({ process, batch, start: at(start), end: at(end) });

/**
 * A fresh tester's demo (×3600, the embedded defaults): batch 10 finished refining at 02:00 UTC on 13 January 2018 and
 * its conching, planned for 03:00, left the plan at the 02:07 re-plan; no plan placed it for 35 h, then one did with a
 * 35 h wait (limit 4 h). The started runs are kept two days; refining #6 (ended 02:00 on the 11th) had just left that
 * window and conching #6 (ended 07:00) had not, so "refining runs done − conching runs done" was one short and the
 * batch order credited one waiting batch instead of two (conching #9 running, batch 10 waiting). These are the runs
 * that had started then, as the demo's plans recorded them.
 */
const STARTED: StartedRun[] = [
  run('tempering', 4, '10T12:00', '10T14:00'),
  run('mixing', 5, '10T13:00', '10T14:00'),
  run('refining', 5, '10T14:00', '10T18:00'),
  run('mixing', 6, '10T21:00', '10T22:00'),
  run('conching', 5, '10T21:00', '11T02:00'),
  run('refining', 6, '10T22:00', '11T02:00'),
  run('tempering', 5, '11T02:00', '11T04:00'),
  run('conching', 6, '11T02:00', '11T07:00'),
  run('tempering', 6, '11T07:00', '11T09:00'),
  run('mixing', 7, '11T12:00', '11T13:00'),
  run('refining', 7, '11T13:00', '11T17:00'),
  run('mixing', 8, '11T21:00', '11T22:00'),
  run('conching', 7, '11T21:00', '12T02:00'),
  run('refining', 8, '11T22:00', '12T02:00'),
  run('tempering', 7, '12T02:00', '12T04:00'),
  run('conching', 8, '12T02:00', '12T07:00'),
  run('tempering', 8, '12T07:00', '12T09:00'),
  run('mixing', 9, '12T17:00', '12T18:00'),
  run('refining', 9, '12T18:00', '12T22:00'),
  run('mixing', 10, '12T21:00', '12T22:00'),
  run('refining', 10, '12T22:00', '13T02:00'),
  run('conching', 9, '12T22:00', '13T03:00'),
];

describe('a batch waiting between two steps', () => {
  it.each([
    ['the solver', 5000],
    ['the greedy fallback', 0],
  ])('is planned for its next step by every re-plan, whatever the two-day window of started runs keeps (%s)', async (_, timeLimitMs) => {
    const now = '2018-01-13T02:07:55Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { timeLimitMs } }), now);
    const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: Date.parse(now) });
    await ctx.store.setValue('planner.started', STARTED);
    await ctx.store.setValue('planner.nextBatch', 11);
    const planner = createPlanner(ctx);
    await planner.start();
    const seen: string[] = [];
    // Re-planning every 30 min for 6 h: batch 10's conching is in every plan until it starts, within its 4 h limit,
    // and batch 10's tempering follows it.
    for (let step = 0; step < 12; step++) {
      if (step) await ctx.clock.advance(H / 2);
      await planner.jobs!.planning!();
      const doc = planner.current()!;
      const conching = doc.runs.find((r) => r.process === 'conching' && r.batch === 10);
      seen.push(`${new Date(ctx.clock.now()).toISOString()}: ${conching ? `conching #10 at ${conching.start}, waited ${conching.waited_min} min` : 'no conching #10'}`);
      expect(conching, seen.join('\n')).toBeDefined();
      expect(conching!.waited_min).toBeLessThanOrEqual(240);
      expect(doc.holding_breaches).toEqual([]);
      expect(doc.runs.some((r) => r.process === 'tempering' && r.batch === 10)).toBe(true);
      // Every wait over an hour says why (gateway/planner/wait-reasons.ts).
      for (const r of doc.runs) if ((r.waited_min ?? 0) > 60) expect(r.wait_reason, `${r.process} #${r.batch} waits ${r.waited_min} min`).toMatch(/\S/);
      // Each batch once per step (no id given twice).
      const ids = doc.runs.map((r) => `${r.process} #${r.batch}`);
      expect(new Set(ids).size).toBe(ids.length);
    }
    await planner.stop();
    await ctx.close();
  }, 300_000);
});
