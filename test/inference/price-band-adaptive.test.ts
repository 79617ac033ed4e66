import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPriceSlots } from '../../models/eval/datasets.js';
import { BAND_KINDS, learHistory, type LearDayForecast, type LearSettings } from '../../gateway/inference/price-lear.js';
import { marketPeriods } from '../../gateway/inference/price-profiles.js';
import { recalibrate, rollingOrigins, updateLevels, warmupDays, type RollingOrigin } from '../../gateway/inference/price-recalibrate.js';
import type { BandState } from '../../gateway/inference/price-lear.js';
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
    const actual = h.prices.profile(escaped.date, marketPeriods(escaped.date))!;
    const offsets: [number, number] = [escaped.slots[0]!.low - escaped.slots[0]!.value, escaped.slots[0]!.high - escaped.slots[0]!.value];
    const levels: BandState['levels'] = { d1: [0.1, 0.9], d2: [0.1, 0.9], d1Drivers: [0.1, 0.9] };
    updateLevels(levels, escaped, actual, offsets, 0.1);
    expect(levels[escaped.band!][1]).toBeGreaterThan(0.9 + 0.1 * 0.2);
    // Pushed by many such days, the levels stop at their limits.
    for (let i = 0; i < 100; i++) updateLevels(levels, escaped, actual, [0, 0], 0.1);
    expect(levels[escaped.band!][1]).toBeLessThanOrEqual(1);
    expect(levels[escaped.band!][0]).toBeGreaterThanOrEqual(0);
  });

  it('depends only on the last weeks: a replay started warmupDays earlier, or the daily job, gives the band of an uninterrupted run', () => {
    const settings = { ...base, bandStep: 0.1, bandScaleDays: 7 };
    const lastDay = '2024-05-20';
    const continuous = adaptive.find((o) => o.lastDay === lastDay)!.calibration;
    const late = rollingOrigins(h, addDays(lastDay, -warmupDays(settings)), lastDay, settings).at(-1)!.calibration;
    expect(late.lastDay).toBe(lastDay);
    expect(late.bands).toEqual(continuous.bands);
    expect(late.bandState).toEqual(continuous.bandState);
    // The levels moved away from 10/90 % (the recursion did something) and the daily job computes the same band.
    expect(continuous.bandState!.levels.d1).not.toEqual([0.1, 0.9]);
    const job = recalibrate(h, lastDay, settings, null, { guardDays: 5, tolerance: 0.02 });
    expect(job.candidate.bands).toEqual(continuous.bands);
    // One day less of warm-up and the band may differ: the replay needs all of it.
    expect(warmupDays(settings)).toBeGreaterThan(2 * settings.conformalDays);
  });
});
