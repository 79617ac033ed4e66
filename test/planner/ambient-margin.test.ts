import { describe, expect, it } from 'vitest';
import { ambientMargin, errorSpreadC, planAmbient, withAmbientMargin } from '../../gateway/planner/ambient-margin.js';
import { blockedSlots, scheduleCost, violations } from '../../gateway/planner/cost.js';
import { planDocument } from '../../gateway/planner/document.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';
import { testPlannerInput, testProcess } from '../helpers/planner-input.js';

const H = 3_600_000;
const t0 = Date.parse('2025-07-15T00:00:00Z');
const proc = testProcess;
const input = (prices: number[], outdoorC: Array<number | null>, processes: ProcessSpec[], over: Partial<PlannerInput> = {}): PlannerInput => testPlannerInput(t0, prices, outdoorC, processes, { coolingKwPerDegree: 2, ...over });

describe('the error spread at a lead after the last observation: σ √(1 − ρ^(2L))', () => {
  it('is 0 at lead 0 (observed), grows with the lead and tends to σ; the full σ without an anchor', () => {
    expect(errorSpreadC(1.2, 0.8, 0)).toBe(0);
    expect(errorSpreadC(1.2, 0.8, -3)).toBe(0);
    // One hour after: √(1 − 0.64) = 0.6 of σ.
    expect(errorSpreadC(1.2, 0.8, 1)).toBeCloseTo(0.72, 10);
    expect(errorSpreadC(1.2, 0.8, 2)).toBeCloseTo(1.2 * Math.sqrt(1 - 0.8 ** 4), 10);
    let last = 0;
    for (let L = 1; L <= 48; L++) {
      const s = errorSpreadC(1.2, 0.8, L);
      expect(s).toBeGreaterThan(last);
      expect(s).toBeLessThan(1.2);
      last = s;
    }
    expect(errorSpreadC(1.2, 0.8, 24)).toBeCloseTo(1.2, 3);
    expect(errorSpreadC(1.2, 0.8, undefined)).toBe(1.2);
    // ρ = 0: the error has no memory, the whole spread from the first hour; ρ = 1: the observed error persists, none.
    expect(errorSpreadC(1.2, 0, 1)).toBe(1.2);
    expect(errorSpreadC(1.2, 1, 5)).toBe(0);
    expect(() => errorSpreadC(1.2, 1.5, 1)).toThrow(RangeError);
    expect(() => errorSpreadC(-1, 0.8, 1)).toThrow(/spread/);
  });

  it('gives z × σ(lead) per slot (rounded up to 0.1 °C), 0 up to the anchor hour and on observed slots, z × σ without an anchor', () => {
    const starts = Array.from({ length: 8 }, (_, i) => t0 + i * H);
    const m = ambientMargin(starts, { z: 1.28, sigmaC: 1.2, rho: 0.8 }, t0 + 2 * H);
    expect(m.marginC.slice(0, 3)).toEqual([0, 0, 0]);
    starts.slice(3).forEach((_, k) => expect(m.marginC[3 + k]).toBe(Math.ceil(1.28 * errorSpreadC(1.2, 0.8, k + 1) * 10 - 1e-9) / 10));
    expect(m.marginC[3]).toBe(1); // 1.28 × 0.72 = 0.92 → 1.0
    expect(m.marginC.at(-1)).toBeLessThanOrEqual(Math.ceil(1.28 * 1.2 * 10) / 10);
    const day = ambientMargin(starts, { z: 0.84, sigmaC: 1.2, rho: 0.8 });
    expect(new Set(day.marginC)).toEqual(new Set([1.1])); // 0.84 × 1.2 = 1.008 → 1.1
    expect(ambientMargin(starts, { z: 0, sigmaC: 1.2, rho: 0.8 }).marginC.every((x) => x === 0)).toBe(true);
    expect(ambientMargin(starts, { z: 1, sigmaC: 1.2, rho: 0.8 }, undefined, (i) => i < 4).marginC.slice(0, 5)).toEqual([0, 0, 0, 0, 1.2]);
  });
});

describe('the plan keeps its runs out of the hours the forecast puts within the margin of a limit', () => {
  // Twelve hours; the cheapest hours (5-6) are forecast 34.5 °C: 0.5 °C under the 35 °C halt.
  const prices = [80, 80, 70, 60, 50, 5, 5, 50, 60, 70, 80, 90];
  const temps = [28, 29, 30, 31, 33, 34.5, 34.5, 33, 31, 30, 29, 28];
  const processes = [proc('mixing', 30, 120)];
  const margin = (z: number) => ambientMargin(prices.map((_, i) => t0 + i * H), { z, sigmaC: 1.2, rho: 0.8 });

  it('z = 0 (the point forecast) runs in the 34.5 °C hours; z = 0.84 avoids them and pays the point-forecast price for its own hours', async () => {
    const point = withAmbientMargin(input(prices, temps, processes), margin(0));
    const p0 = await planSchedule(point);
    expect(p0.runs).toEqual([expect.objectContaining({ process: 'mixing', startSlot: 5, slots: 2 })]);
    const chance = withAmbientMargin(input(prices, temps, processes), margin(0.84));
    expect(chance.ambientMargin!.relaxed).toBeUndefined();
    expect(blockedSlots(chance, 'mixing').slice(4, 8)).toEqual([false, true, true, false]);
    const p1 = await planSchedule(chance);
    expect(p1.infeasible).toBeUndefined();
    for (const r of p1.runs) for (let t = r.startSlot; t < r.startSlot + r.slots; t++) expect(temps[t]! + 1.1).toBeLessThan(35);
    expect(p1.runs[0]!.startSlot === 3 || p1.runs[0]!.startSlot === 7).toBe(true);
    // The cost keeps the point forecast (cooling at 33 °C, not 34.1): the same € with and without the margin.
    const plain = input(prices, temps, processes);
    expect(scheduleCost(chance, p1.runs)).toEqual(scheduleCost(plain, p1.runs));
    // The plant's rule is unchanged: the 34.5 °C plan breaks no limit at the forecast, only the margin's.
    expect(violations(plain, p0.runs)).toEqual([]);
    expect(violations(chance, p0.runs).length).toBeGreaterThan(0);
  });

  it('keeps tempering off a plant floor the margin makes warmer than its limit (floor model 21 + 0.25 × (outdoor − 21))', async () => {
    // 32.6 °C outdoor → floor 23.9 °C (under tempering's 24 °C); + 1.1 °C → 24.2 °C.
    const warm = [30, 30, 32.6, 32.6, 30, 30];
    const tempering = [proc('tempering', 36, 120, { maxPlantTempC: 24 })];
    const cheap = [60, 60, 5, 5, 60, 70];
    const starts = cheap.map((_, i) => t0 + i * H);
    expect((await planSchedule(input(cheap, warm, tempering))).runs[0]!.startSlot).toBe(2);
    const withM = withAmbientMargin(input(cheap, warm, tempering), ambientMargin(starts, { z: 0.84, sigmaC: 1.2, rho: 0.8 }));
    const run = (await planSchedule(withM)).runs[0]!;
    expect([2, 3].includes(run.startSlot) || [2, 3].includes(run.startSlot + 1)).toBe(false);
  });

  it('counts the cooling at the margin temperature inside the contracted-power cap, not in the cost', async () => {
    // 36 kW + 2 kW/°C above 24 °C: at 33 °C 54 kW, at 33 + 1.1 °C 56.2 kW; a 55 kW cap.
    const hot = [25, 25, 33, 33, 25, 25];
    const cheap = [60, 60, 5, 5, 60, 70];
    const one = [proc('refining', 36, 120)];
    const starts = cheap.map((_, i) => t0 + i * H);
    expect((await planSchedule(input(cheap, hot, one, { contractedKw: 55 }))).runs[0]!.startSlot).toBe(2);
    const withM = withAmbientMargin(input(cheap, hot, one, { contractedKw: 55 }), ambientMargin(starts, { z: 0.84, sigmaC: 1.2, rho: 0.8 }));
    const plan = await planSchedule(withM);
    expect(plan.runs[0]!.startSlot).not.toBe(2);
    expect(violations(withM, [{ process: 'refining', batch: 1, startSlot: 2, slots: 2 }])).toEqual([expect.stringMatching(/^power 56\.2 kW > 55 kW/), expect.stringMatching(/^power 56\.2 kW > 55 kW/)]);
  });

  it('where the margin alone leaves a process no window: the infeasible path names the margin in one sentence; the input builder relaxes it and says why', async () => {
    // Every hour 34.5 °C: mixing fits only at the point forecast.
    const flat = prices.map(() => 34.5);
    const strict = { ...input(prices, flat, processes), ambientMargin: margin(0.84) };
    const refused = await planSchedule(strict);
    expect(refused.infeasible).toEqual(['mixing: no window of 120 min free of forbidden hours and ambient limits (checked at the temperature forecast + up to 1.1 °C, the chance constraint planner.ambientRisk) in the horizon (quota 1)']);
    const relaxed = withAmbientMargin(input(prices, flat, processes), margin(0.84));
    expect(relaxed.ambientMargin!.relaxed).toBe('mixing: no window of 120 min free of forbidden hours and ambient limits (checked at the temperature forecast + up to 1.1 °C, the chance constraint planner.ambientRisk) in the horizon (quota 1), so this plan uses the point temperature forecast (a run may meet the limit)');
    expect(relaxed.ambientMargin!.marginC.every((x) => x === 0)).toBe(true);
    const planned = await planSchedule(relaxed);
    expect(planned.infeasible).toBeUndefined();
    expect(planned.runs[0]!.startSlot).toBe(5);
    // The plan document says which margin was used, and that it was relaxed.
    const doc = planDocument(relaxed, planned, { planId: 'p', version: 1, createdAt: t0, baselineEur: null, keptPrevious: false, timezone: 'Europe/Madrid', lineOf: (p) => p });
    expect(doc.ambient_margin!.relaxed).toBe(relaxed.ambientMargin!.relaxed);
    expect(doc.ambient_margin!.summary).toMatch(/relaxed: mixing: no window/);
    // 34.1 °C all day: the full margin (+ 1.1 °C) reaches the halt, half of it (+ 0.6 °C) does not: half is kept.
    const half = withAmbientMargin(input(prices, prices.map(() => 34.1), processes), margin(0.84));
    expect(half.ambientMargin!.marginC.every((x) => x === 0.6)).toBe(true);
    expect(half.ambientMargin!.relaxed).toMatch(/^mixing: no window of 120 min .*, so this plan keeps 0\.5 of the margin \(up to 0\.6 °C\)$/);
    expect((await planSchedule(half)).runs[0]!.startSlot).toBe(5);
    // A day the point forecast cannot plan either (36 °C, over the halt) keeps the infeasible path as it is: no relaxing.
    const over = withAmbientMargin(input(prices, prices.map(() => 36), processes), margin(0.84));
    expect(over.ambientMargin!.relaxed).toBeUndefined();
    expect((await planSchedule(over)).infeasible![0]).toMatch(/^mixing: no window of 120 min free of forbidden hours and ambient limits \(checked at the temperature forecast \+ up to 1\.1 °C/);
  });

  it('where only the solver finds the margin infeasible (the power cap with the cooling at the margin), planAmbient plans at the point forecast and says why', async () => {
    // Two hours at 33 °C, two 30 kW processes that must both run in them: 2 × (30 + 18) = 96 kW at the forecast,
    // 2 × (30 + 20.2) = 100.4 kW at + 1.1 °C; a 98 kW cap. diagnose sees each process alone fit.
    const two = [proc('a', 30, 120), proc('b', 30, 120)];
    const strict = withAmbientMargin(input([50, 50], [33, 33], two, { contractedKw: 98, order: [] }), ambientMargin([t0, t0 + H], { z: 0.84, sigmaC: 1.2, rho: 0.8 }));
    expect(strict.ambientMargin!.relaxed).toBeUndefined();
    expect((await planSchedule(strict)).infeasible).toEqual(['no plan meets every constraint; the binding one is the contracted power of 98 kW']);
    const { input: used, outcome } = await planAmbient(strict);
    expect(outcome.infeasible).toBeUndefined();
    expect(outcome.runs.map((r) => [r.process, r.startSlot])).toEqual([['a', 0], ['b', 0]]);
    expect(used.ambientMargin!.relaxed).toBe('no plan meets every constraint; the binding one is the contracted power of 98 kW, so this plan uses the point temperature forecast (a run may meet the limit)');
    expect(violations(used, outcome.runs)).toEqual([]);
  });

  it('the plan document carries the margin per slot and a summary; Halt stays the plant rule at the forecast', async () => {
    const chance = withAmbientMargin(input(prices, temps, processes), ambientMargin(prices.map((_, i) => t0 + i * H), { z: 0.84, sigmaC: 1.2, rho: 0.8 }, t0 + 1 * H));
    const planned = await planSchedule(chance);
    const doc = planDocument(chance, planned, { planId: 'p', version: 1, createdAt: t0, baselineEur: null, keptPrevious: false, timezone: 'Europe/Madrid', lineOf: (p) => p });
    expect(doc.ambient_margin).toMatchObject({ z: 0.84, sigma_c: 1.2, rho: 0.8, anchor: '2025-07-15T01:00:00Z', relaxed: null });
    expect(doc.ambient_margin!.margin_c).toEqual(chance.ambientMargin!.marginC);
    expect(doc.ambient_margin!.margin_c.slice(0, 3)).toEqual([0, 0, 0.7]); // 0.84 × 0.72 = 0.605 → 0.7 one hour after the anchor
    expect(doc.ambient_margin!.summary).toMatch(/^ambient limits checked at the forecast \+ z 0\.84 × σ\(lead\), σ 1\.2 °C/);
    // 34.5 °C + 1.0 °C crosses 35 °C only with the margin: not a Halt hour (the plan keeps out of it, the plant need not stop).
    expect(doc.hours[5]!.recommendation).not.toBe('Halt');
  });
});
