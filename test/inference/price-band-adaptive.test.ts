import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPriceSlots } from '../../models/eval/datasets.js';
import { BAND_KINDS, learHistory, type LearDayForecast, type LearSettings } from '../../gateway/inference/price-lear.js';
import { marketPeriods } from '../../gateway/inference/price-profiles.js';
import { advanceBandState, nominalBandState, recalibrate, rollingOrigins, type RollingOrigin } from '../../gateway/inference/price-recalibrate.js';
import { addDays } from '../../gateway/time/tz.js';
import { FIXTURES } from '../helpers/fixture-server.js';

// Real OMIE hourly prices, 2024-01 → 05 (test/fixtures/PROVENANCE.md): April 2024 broke from the four weeks before it
// (windy and wet, most hours near 0 €/MWh, a few evenings high), the kind of month where a band calibrated on the
// last 28 days held too few prices.
const h = learHistory(loadPriceSlots([join(FIXTURES, 'models/omie_es_2024-01-01_2024-05-31_hourly.csv.gz')]));
const base: LearSettings = { windows: [14, 28], lambda: 0.05, conformalDays: 28, weightDays: 7 };
const fixed = rollingOrigins(h, '2024-02-10', '2024-05-30', { ...base, bandStep: 0, bandScaleDays: 0 });
const adaptive = rollingOrigins(h, '2024-02-10', '2024-05-30', { ...base, bandStep: 0.1, bandScaleDays: 7 });

/** Share of D+1 prices with targets in `month` inside the forecast's 10-90 % band. */
function coverage(origins: readonly RollingOrigin[], month: string): number {
  let inside = 0;
  let n = 0;
  for (const o of origins) {
    for (const f of o.forecasts) {
      if (f.k !== 1 || !f.date.startsWith(month)) continue;
      const actual = h.prices.profile(f.date, marketPeriods(f.date))!;
      for (const s of f.slots) {
        n++;
        if (actual[s.period]! >= s.low && actual[s.period]! <= s.high) inside++;
      }
    }
  }
  expect(n).toBeGreaterThan(600);
  return inside / n;
}

describe('the adaptive 10-90 % band (adaptive conformal inference on error-scaled residuals)', () => {
  it('holds 75-85 % of April 2024, a month that broke from the weeks before it, where the fixed band held under 75 %', () => {
    const before = coverage(fixed, '2024-04');
    const after = coverage(adaptive, '2024-04');
    expect(before).toBeLessThan(0.75);
    expect(after).toBeGreaterThanOrEqual(0.75);
    expect(after).toBeLessThanOrEqual(0.85);
    // The point forecasts are the same: only the band moved.
    const a = adaptive.find((o) => o.lastDay === '2024-04-15')!.forecasts[0]!;
    const b = fixed.find((o) => o.lastDay === '2024-04-15')!.forecasts[0]!;
    expect(a.slots.map((s) => s.value)).toEqual(b.slots.map((s) => s.value));
  });

  it('never inverts the band, keeps its levels inside their limits, and widens it after a day the prices escaped it', () => {
    for (const o of adaptive) {
      for (const kind of BAND_KINDS) {
        const [lo, hi] = o.calibration.bandState!.levels[kind];
        expect(lo).toBeGreaterThanOrEqual(0);
        expect(lo).toBeLessThan(0.5);
        expect(hi).toBeGreaterThan(0.5);
        expect(hi).toBeLessThanOrEqual(1);
      }
      for (const f of o.forecasts) for (const s of f.slots) expect(s.low).toBeLessThanOrEqual(s.high);
    }
    // The update rule on the real forecasts: a day with more than 10 % of prices above the band raises the high edge's level.
    const past: LearDayForecast[] = adaptive.flatMap((o) => o.forecasts);
    const escaped = past.find((f) => {
      if (f.k !== 1 || f.slots[0]!.low === f.slots[0]!.high) return false;
      const actual = h.prices.profile(f.date, marketPeriods(f.date))!;
      return f.slots.filter((s) => actual[s.period]! > s.high).length > 0.3 * f.slots.length;
    })!;
    expect(escaped).toBeDefined();
    const state = nominalBandState(addDays(escaped.date, -1));
    const next = advanceBandState(h, [escaped], state, escaped.date, 0.1);
    expect(next.through).toBe(escaped.date);
    expect(next.levels[escaped.band!][1]).toBeGreaterThan(0.9 + 0.1 * 0.2);
    // Step 0: the plain split-conformal band, levels fixed at 10/90 %.
    expect(advanceBandState(h, [escaped], state, escaped.date, 0).levels[escaped.band!]).toEqual([0.1, 0.9]);
  });

  it('carries the state on from the active calibration: the daily run starts where the last promoted calibration ended', () => {
    const lastDay = '2024-04-20';
    const settings = { ...base, bandStep: 0.1, bandScaleDays: 7 };
    const continuous = adaptive.find((o) => o.lastDay === addDays(lastDay, -1))!.calibration;
    // A state far from the nominal one, as a calibration that went through a turbulent month would hold.
    const active = { ...continuous, bandState: { through: addDays(lastDay, -1), levels: { d1: [0.02, 0.97] as [number, number], d2: [0.03, 0.98] as [number, number], d1Drivers: [0.1, 0.9] as [number, number] } } };
    const carried = recalibrate(h, lastDay, settings, { kind: 'calibration', calibration: JSON.parse(JSON.stringify(active)) }, { guardDays: 5, tolerance: 0.02 });
    expect(carried.candidate.bandState!.through).toBe(lastDay);
    // One day's update moves a level by at most γ × 0.9.
    expect(Math.abs(carried.candidate.bandState!.levels.d1[0] - 0.02)).toBeLessThanOrEqual(0.09 + 1e-9);
    expect(Math.abs(carried.candidate.bandState!.levels.d1[1] - 0.97)).toBeLessThanOrEqual(0.09 + 1e-9);
    expect(Math.abs(carried.candidate.bandState!.levels.d2[1] - 0.98)).toBeLessThanOrEqual(0.09 + 1e-9);
    // Without an active calibration it starts from the nominal levels 30 days back, and ends elsewhere.
    const fresh = recalibrate(h, lastDay, settings, null, { guardDays: 5, tolerance: 0.02 });
    expect(fresh.candidate.bandState!.levels.d1).not.toEqual(carried.candidate.bandState!.levels.d1);
  });
});
