import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const at = (iso: string) => Date.parse(iso);

// breaker3 (demo at ×3600): runs of the plan in force reappeared later in the plan (conching #146 at 04:00, then at
// 18:00 the next day) and batches waited 12-42 h. A re-plan takes its `now` when it starts; the plan in force stays in
// force (the lines run it) until the new one is published. A run of it that starts meanwhile did start; a plan made
// for the earlier `now` may move it, and then the run is lost from the started ones and planned again. At ×3600 the
// planning job took 0.4-4.6 h of plant time (demo.log runMs, median 78 min), past the 120-min frozen window; at ×1
// any re-plan whose frozen window is released (a line stop, the guard, an operator change) has the same window.
describe('planner: a run of the plan in force that starts while the re-plan is made', () => {
  it('counts as started and stays where it ran, not moved by a plan made for an earlier moment', async () => {
    const start = '2025-11-03T23:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, frozenMinutes: 0, timeLimitMs: 0 } }), start);
    const slots = [...loadHourlyPrices(PRICES)].map(([s, value]) => ({ start: s, end: s + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(start) });
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const first = planner.current()!;
    // The first run of the plan that starts later than 2 h from now.
    const r = first.runs.filter((x) => Date.parse(x.start) >= at(start) + 2 * H).sort((a, b) => a.start.localeCompare(b.start))[0]!;
    const rStart = Date.parse(r.start);
    // Its hour becomes dear (a new publication), so a re-plan made before it starts moves it.
    await ctx.store.write('omie_es', 'EUR/MWh', [{ start: rStart, end: rStart + H, value: 5000 }], { source: 'test', fetchedAt: rStart - H });
    // The re-plan starts one hour before the run and takes until 5 min after its start (the solve's time, injected).
    await ctx.clock.advanceTo(rStart - H);
    const read = ctx.store.read.bind(ctx.store);
    let slow = true;
    ctx.store.read = async (series: string, from: number, to: number) => {
      if (slow) {
        slow = false;
        await ctx.clock.advanceTo(rStart + 5 * 60_000);
      }
      return read(series, from, to);
    };
    await planner.jobs!.planning!();
    ctx.store.read = read;
    const second = planner.current()!;
    // The run the line started under the plan in force is in the plan, where it ran, once.
    const same = second.runs.filter((x) => x.process === r.process && x.batch === r.batch && !x.interrupted);
    expect(same.map((x) => x.start)).toEqual([r.start]);
    // And it stays so at the next plan (while it runs): started, never planned again.
    await ctx.clock.advanceTo(rStart + 20 * 60_000);
    await planner.jobs!.planning!();
    const third = planner.current()!;
    expect(third.runs.filter((x) => x.process === r.process && x.batch === r.batch && !x.interrupted).map((x) => x.start)).toEqual([r.start]);
    await ctx.close();
  }, 120_000);
});
