import { describe, expect, it } from 'vitest';
import { ambientMargin, withAmbientMargin } from '../../gateway/planner/ambient-margin.js';
import { limitOutdoorFor, normalCdf, startRiskEur } from '../../gateway/planner/ambient-risk.js';
import { scheduleCost } from '../../gateway/planner/cost.js';
import { solveGreedy } from '../../gateway/planner/greedy.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';
import { testPlannerInput, testProcess } from '../helpers/planner-input.js';

const H = 3_600_000;
const t0 = Date.parse('2025-07-15T00:00:00Z');
const proc = testProcess;
const input = (prices: number[], outdoorC: Array<number | null>, processes: ProcessSpec[]): PlannerInput => testPlannerInput(t0, prices, outdoorC, processes, { priceSource: prices.map(() => 'forecast') });

describe('the ambient risk priced in euros (stake × the chance a run meets its limit)', () => {
  it('Φ to 1e-6 at known points; each process meets its first limit: the halt, or the plant floor over its maxPlantTempC', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1)).toBeCloseTo(0.841345, 6);
    expect(normalCdf(-1.281552)).toBeCloseTo(0.1, 6);
    expect(normalCdf(2.326348)).toBeCloseTo(0.99, 6);
    const i = input([50, 50], [30, 30], [proc('conching', 48, 60), proc('tempering', 36, 60, { maxPlantTempC: 24 })]);
    expect(limitOutdoorFor(i, 'conching')).toBe(35);
    // 21 + 0.25 × (o − 21) > 24 ⇔ o > 33 °C.
    expect(limitOutdoorFor(i, 'tempering')).toBe(33);
  });

  it('is stake × the largest chance over the run, 0 on observed slots, without a stake and where the temperature is unknown', () => {
    const starts = [0, 1, 2, 3].map((k) => t0 + k * H);
    const temps = [30, 34.4, 35 - 1.2, null];
    const base = input([50, 50, 50, 50], temps, [proc('conching', 48, 120)]);
    const priced = withAmbientMargin(base, ambientMargin(starts, { z: 0, sigmaC: 1.2, rho: 0.8, stakeEur: 20 }));
    // Slot 1: 0.6 °C under the halt, σ 1.2 → P = 1 − Φ(0.5) = 0.3085; slot 2: 1 σ under → 0.1587.
    expect(startRiskEur(priced, 'conching', 1, 2)).toBeCloseTo(20 * (1 - normalCdf(0.5)), 6);
    expect(startRiskEur(priced, 'conching', 2, 2)).toBeCloseTo(20 * (1 - normalCdf(1)), 6);
    expect(startRiskEur(priced, 'conching', 0, 1)).toBeCloseTo(20 * (1 - normalCdf(5 / 1.2)), 6);
    expect(startRiskEur(base, 'conching', 1, 2)).toBe(0);
    expect(startRiskEur(withAmbientMargin(base, ambientMargin(starts, { z: 0, sigmaC: 1.2, rho: 0.8 })), 'conching', 1, 2)).toBe(0);
    const observed = withAmbientMargin(base, ambientMargin(starts, { z: 0, sigmaC: 1.2, rho: 0.8, stakeEur: 20 }, undefined, (k) => k < 3));
    expect(startRiskEur(observed, 'conching', 1, 3)).toBe(0);
  });

  it('moves a run out of a cheap hour 0.3 °C under the halt when the saving there is less than what it risks, and keeps it when it is more; the reported cost never holds the risk', async () => {
    // One 1 h conche (48 kW). Hour 2 is cheap and 34.7 °C on the forecast; hour 5 is cool and dearer.
    const temps = [28, 29, 34.7, 30, 29, 28];
    const starts = temps.map((_, k) => t0 + k * H);
    const plan = async (cheap: number, stakeEur: number) => {
      const prices = [200, 200, cheap, 200, 200, 100];
      const i = withAmbientMargin(input(prices, temps, [proc('conching', 48, 60)]), ambientMargin(starts, { z: 0, sigmaC: 1.2, rho: 0.8, stakeEur }));
      const out = await planSchedule(i);
      const greedy = solveGreedy(i);
      return { start: out.runs[0]!.startSlot, greedy: greedy.runs[0]!.startSlot, eur: scheduleCost(i, out.runs).eur };
    };
    // No stake: the point forecast is under the halt, the cheap hour is taken.
    expect((await plan(50, 0)).start).toBe(2);
    // Stake 20 €: P(> 35 °C) = 1 − Φ(0.25) = 0.40 → 7.9 € of risk against 48 kWh × (100 − 50) €/MWh = 2.40 € saved: hour 5.
    const safe = await plan(50, 20);
    expect(safe.start).toBe(5);
    expect(safe.greedy).toBe(5);
    expect(safe.eur).toBe(4.8);
    // A cheap hour at −150 €/MWh saves 12 €, more than the 7.9 € at risk: hour 2 again, its cost without the risk.
    const deep = await plan(-150, 20);
    expect(deep.start).toBe(2);
    expect(deep.greedy).toBe(2);
    expect(deep.eur).toBe(-7.2);
  });
});
