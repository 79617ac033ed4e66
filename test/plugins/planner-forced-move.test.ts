import { describe, expect, it } from 'vitest';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;

/**
 * The live planner and the forced-move rule (gateway/planner/forced-move.ts, the rule simulate's intraday replay
 * uses). A plan made at 06:00 local on a 32 °C forecast with the solar hours cheap (09-15 UTC, `cheap` €/MWh against
 * 120) puts mixing, refining and conching in them; two hours later the last two hours were observed at 40 °C (8 °C
 * over the forecast), so the corrected forecast (+ 0.8^L × 8 °C) puts the halt (35 °C) over 06-09 UTC and the
 * tempering floor limit (33 °C outdoors) over the hours after: runs of the plan in force now meet an ambient limit
 * on the corrected forecast, 4-9 h ahead (P 53-61 %).
 */
async function replanAfterHeat(rule: 'limit' | 'priced' | undefined, cheap: number) {
  const start = '2025-07-15T04:00:00Z';
  const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 24, ...(rule ? { ambientRisk: { forcedMoveRule: rule } } : {}) } }), start);
  const now = Date.parse(start);
  const hours = (from: number, n: number, value: (i: number) => number) => Array.from({ length: n }, (_, i) => ({ start: from + i * H, end: from + (i + 1) * H, value: value(i) }));
  await ctx.store.write('omie_es', 'EUR/MWh', hours(now, 30, (i) => (i >= 5 && i < 11 ? cheap : 120)), { source: 'test', fetchedAt: now });
  await ctx.store.write('fc.combined.temp', 'degC', hours(now - 6 * H, 40, () => 32), { source: 'test', fetchedAt: now - 6 * H });
  await ctx.store.write('obs.combined.temp', 'degC', hours(now - 3 * H, 3, () => 32), { source: 'test', fetchedAt: now });
  const planner = createPlanner(ctx);
  await planner.start();
  await planner.jobs!.planning!();
  const first = planner.current()!;
  await ctx.clock.advance(2 * H);
  await ctx.store.write('obs.combined.temp', 'degC', hours(now, 2, () => 40), { source: 'test', fetchedAt: now + 2 * H });
  await planner.jobs!.planning!();
  const second = planner.current()!;
  await ctx.close();
  const starts = (doc: typeof first) => doc.runs.filter((r) => Date.parse(r.start) >= now + 4 * H).map((r) => `${r.process}@${r.start}`).sort();
  return { first, second, starts };
}

describe('the live planner: a plan in force that meets an ambient limit on the corrected forecast', () => {
  it("'priced' (the default): kept where the expected loss is below what the move costs, and the plan says so; moved by force where it is above", async () => {
    // Moving out of the 5 €/MWh hours costs far more than the 7.5 € stake × the runs' chances: the batches stay.
    const dear = await replanAfterHeat(undefined, 5);
    // The plan in force had runs in the hours the corrected forecast now halts (09 UTC: 32 + 0.8^4 × 8 = 35.3 °C).
    expect(dear.first.runs.some((r) => r.start === '2025-07-15T09:00:00Z')).toBe(true);
    expect(dear.second.stability!.moves).toEqual([]);
    expect(dear.starts(dear.second)).toEqual(dear.starts(dear.first));
    // On main no sentence: the plan kept its runs in the Halt hours without saying why.
    expect(dear.second.fallback_reason).toMatch(/stays? though the temperature forecast meets the ambient limit: the \d+\.\d\d € expected loss is less than the \d+\.\d\d € the move costs \(planner\.ambientRisk\.forcedMoveRule priced\)/);
    // The same heat with the midday hours at 110 €/MWh: the move costs little, the expected loss is larger: moved by force.
    const flat = await replanAfterHeat(undefined, 110);
    expect(flat.first.runs.some((r) => r.start === '2025-07-15T09:00:00Z')).toBe(true);
    const moves = flat.second.stability!.moves;
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) {
      expect(m.forced).toBe(true);
      expect(m.reason).toMatch(/^the plan in force meets an ambient limit on the corrected temperature forecast \(\w+ #\d+ at \d\d:\d\d, P \d+ %\): its \d+\.\d\d € expected loss exceeds the -?\d+\.\d\d € the move costs/);
    }
  }, 120_000);

  it("'limit': moved by force (forced: true, not refused by the day's limit), each move saying why", async () => {
    const limit = await replanAfterHeat('limit', 5);
    const moves = limit.second.stability!.moves;
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) {
      expect(m.forced).toBe(true);
      expect(m.reason).toMatch(/^the plan in force meets an ambient limit on the corrected temperature forecast \(\w+ #\d+ at \d\d:\d\d, P \d+ %\)$/);
    }
    expect(limit.second.runs.some((r) => r.start === '2025-07-15T09:00:00Z')).toBe(false);
  }, 120_000);
});
