import { describe, expect, it } from 'vitest';
import { ambientMargin, withAmbientMargin } from '../../gateway/planner/ambient-margin.js';
import { normalCdf } from '../../gateway/planner/ambient-risk.js';
import { describeStay, forcedMove, forcedMoveSettings, meetsAmbientLimit, runRisks, type ForcedMoveRule } from '../../gateway/planner/forced-move.js';
import type { PlannedRun } from '../../gateway/planner/types.js';
import { testPlannerInput, testProcess } from '../helpers/planner-input.js';
import { testConfig } from '../helpers/context.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import { intradayReplay } from '../../models/eval/simulate-live.js';

const H = 3_600_000;
const t0 = Date.parse('2025-07-15T06:00:00Z');

/**
 * One 1 h conche (48 kW, halt 35 °C) planned at slot 6; the move goes to slot 9 (28 °C). Slot 0 is the last observed
 * hour (the forecast's anchor), so slot 6 is 6 h ahead: σ(6) = 1.2 × √(1 − 0.8^12) = 1.161 °C. `observedUpTo`: slots
 * up to it are observed (σ 0).
 */
function day(slot6C: number, priceAt6: number, priceAt9: number, observedUpTo = 0) {
  const temps = [30, 31, 32, 33, 34, 34.5, slot6C, 33, 30, 28, 27, 26];
  const prices = temps.map((_, i) => (i === 6 ? priceAt6 : i === 9 ? priceAt9 : 300));
  const starts = temps.map((_, i) => t0 + i * H);
  const base = testPlannerInput(t0, prices, temps, [testProcess('conching', 48, 60)], { runsToPlace: { conching: 1 } });
  const input = withAmbientMargin(base, ambientMargin(starts, { z: 0, sigmaC: 1.2, rho: 0.8, stakeEur: 7.5 }, starts[observedUpTo], (i) => i <= observedUpTo));
  const keep: PlannedRun[] = [{ process: 'conching', batch: 0, startSlot: 6, slots: 1 }];
  const move: PlannedRun[] = [{ process: 'conching', batch: 0, startSlot: 9, slots: 1 }];
  return { input, keep, move };
}
const settings = (rule: ForcedMoveRule) => forcedMoveSettings({ replanThresholdEur: 2, ambientRisk: { stakeEur: 7.5, forcedMoveRule: rule, forcedMoveStakeEur: 0 } });

describe('the forced-move rule priced (stake × P(the run meets its limit) against what the move costs)', () => {
  it('a run 0.3 °C over the halt on the forecast 6 h ahead stays when the move costs more than its expected loss, and moves when it costs less; the limit rule moves it either way', () => {
    // P = 1 − Φ((35 − 35.3) / 1.161) = 0.602; × 7.5 € = 4.52 € expected loss (the cool slot 9: P ≈ 0).
    const dear = day(35.3, 50, 150);
    const [risk] = runRisks(dear.input, dear.keep);
    expect(risk!.p).toBeCloseTo(1 - normalCdf((35 - 35.3) / (1.2 * Math.sqrt(1 - 0.8 ** 12))), 6);
    expect(risk!.certain).toBe(false);
    expect(meetsAmbientLimit(dear.input, dear.keep)).toBe(true);
    // Moving costs 48 kWh × (150 − 50) €/MWh = 4.80 € + the 2 € the plant puts on a change = 6.80 € > 4.52 €: stays.
    const stays = forcedMove(dear.input, dear.keep, dear.move, settings('priced'));
    expect(stays.broken).toBe(true);
    expect(stays.forced).toBe(false);
    expect(stays.expectedLossEur).toBeCloseTo(4.52, 2);
    expect(stays.moveCostEur).toBe(6.8);
    expect(describeStay(stays, (s) => `slot ${s}`)).toMatch(/^conching #0 at slot 6 \(P 60 %\) stays .*4\.52 € expected loss is less than the 6\.80 € the move costs/);
    // The rule before the price (and today's main): the point forecast crosses the halt, so it moves.
    expect(forcedMove(dear.input, dear.keep, dear.move, settings('limit')).forced).toBe(true);
    // A small price difference: 48 × 20 / 1000 = 0.96 € + 2 € = 2.96 € < 4.52 €: moves.
    const cheap = day(35.3, 100, 120);
    const moves = forcedMove(cheap.input, cheap.keep, cheap.move, settings('priced'));
    expect(moves.forced).toBe(true);
    expect(moves.moveCostEur).toBe(2.96);
  });

  it('a run 0.3 °C under the limit 6 h ahead is not forced by either rule (it is the solvers\' priced risk, not a forced move)', () => {
    const under = day(34.7, 50, 150);
    expect(meetsAmbientLimit(under.input, under.keep)).toBe(false);
    expect(runRisks(under.input, under.keep)[0]!.p).toBeCloseTo(1 - normalCdf(0.3 / (1.2 * Math.sqrt(1 - 0.8 ** 12))), 6);
    for (const rule of ['limit', 'priced'] as const) expect(forcedMove(under.input, under.keep, under.move, settings(rule)).forced).toBe(false);
  });

  it('at lead 0 over the limit (the hour observed, no spread left) it moves whatever the move costs: safety first', () => {
    const observed = day(35.3, -500, 500, 6);
    const [risk] = runRisks(observed.input, observed.keep);
    expect(risk).toMatchObject({ p: 1, certain: true });
    const v = forcedMove(observed.input, observed.keep, observed.move, settings('priced'));
    expect(v.forced).toBe(true);
    expect(v.certain).toBe(true);
    // Without σ per slot (no stake and no margin configured) every crossing counts as certain: the limit rule.
    const { ambientMargin: _, ...bare } = day(35.3, 50, 150).input;
    expect(forcedMove(bare, observed.keep, observed.move, settings('priced')).forced).toBe(true);
  });

  it('any other broken constraint (a forbidden hour) forces the move under the priced rule too', () => {
    const d = day(35.3, 50, 150);
    const input = { ...d.input, forbidden: d.input.forbidden.map((_, i) => i === 6) };
    const v = forcedMove(input, d.keep, d.move, settings('priced'));
    expect(v.forced).toBe(true);
    expect(v.certain).toBe(true);
  });
});

describe("simulate's intraday replay uses the same rule", () => {
  // Madrid Barajas, local day 2025-07-10 (the day of test/planner/simulate-live.test.ts): 35.3 °C at 17:00; the
  // day-ahead forecast 3 °C too cold, solar prices cheap 12-19 h local. The plan made on the forecast runs into the
  // halt and the tempering limit on the corrected forecast later in the day.
  const observed = [27.9, 26.5, 24.7, 23.0, 21.5, 20.5, 19.8, 18.4, 19.2, 22.7, 24.9, 27.7, 31.1, 32.2, 33.3, 34.1, 34.7, 35.3, 35.2, 35.1, 34.7, 33.5, 31.6, 30.2];
  const forecast = observed.map((o) => Math.round((o - 3) * 10) / 10);

  it("'limit' moves the plan by force; 'priced' (7.5 € a run) keeps it, moving out of the 5 €/MWh hours costing more than the expected loss; the replay's decision is forcedMove's", async () => {
    const config = testConfig('http://127.0.0.1:9', { planner: { maxMovesPerDay: 2 } });
    const { start, end } = localDayRange('2025-07-10', 'Europe/Madrid');
    const starts: number[] = [];
    for (let t = start; t < end; t += H) starts.push(t);
    const prices = starts.map((_, i) => (i >= 12 && i < 20 ? 5 : 120));
    const runsToPlace = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.batchesPerDay]));
    const plan = (await planSchedule(buildPlannerInput(config.planner, { starts, resolutionMs: H, priceEurMwh: prices, priceSource: starts.map(() => 'published' as const), outdoorC: forecast, runsToPlace }, 'Europe/Madrid'))).runs;
    const day = { planner: config.planner, timezone: 'Europe/Madrid', starts, prices, forecastC: forecast, observedC: observed, plan, movesUsed: 2, rho: 0.8, risk: { z: 0, sigmaC: 1.2, stakeEur: 7.5 } };
    const limit = await intradayReplay({ ...day, forcedMove: settings('limit') });
    expect(limit.moves).toBeGreaterThan(0);
    expect(limit.steps.every((s) => s.reason === 'forced')).toBe(true);
    expect(limit.stays).toBe(0);
    const priced = await intradayReplay({ ...day, forcedMove: settings('priced') });
    expect(priced.moves).toBe(0);
    expect(priced.stays).toBeGreaterThan(0);
    expect(priced.runs.map((r) => [r.process, r.startSlot])).toEqual([...plan].sort((a, b) => a.startSlot - b.startSlot).map((r) => [r.process, r.startSlot]));
    // Without a spread (sigma 0: every crossing certain) the priced rule is the limit rule.
    const certain = await intradayReplay({ ...day, risk: { z: 0, sigmaC: 0, stakeEur: 7.5 }, forcedMove: settings('priced') });
    expect(certain.moves).toBe(limit.moves);
  }, 120_000);
});
