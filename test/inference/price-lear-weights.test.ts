import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPriceSlots } from '../../models/eval/datasets.js';
import { NAIVE_MEMBER, calibrateLear, forecastLearDay, learHistory, type LearDayForecast } from '../../gateway/inference/price-lear.js';
import { marketPeriods } from '../../gateway/inference/price-profiles.js';
import { rollingOrigins, type RollingOrigin } from '../../gateway/inference/price-recalibrate.js';
import { addDays } from '../../gateway/time/tz.js';
import { FIXTURES } from '../helpers/fixture-server.js';

// Real OMIE quarter-hour prices (test/fixtures/models/PROVENANCE.md).
const h = learHistory(loadPriceSlots([join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz')]));
const settings = { windows: [14, 28], lambda: 0.05, conformalDays: 7, weightDays: 7 };
const from = '2025-10-10';
const to = '2025-11-08';
const weighted = rollingOrigins(h, from, to, settings);
const plain = rollingOrigins(h, from, to, { ...settings, weightDays: 0 });
const d1 = (o: RollingOrigin) => o.forecasts.find((f) => f.k === 1)!;

/** MAE of each member's D+1 forecasts with targets in the `days` days up to `lastDay`, recomputed from the stored forecasts. */
function memberMae(origins: readonly RollingOrigin[], lastDay: string, days: number): Map<string, number> {
  const sums = new Map<string, { abs: number; n: number }>();
  for (const o of origins) {
    const f = d1(o);
    if (f.date > lastDay || f.date < addDays(lastDay, -days + 1)) continue;
    const actual = h.prices.profile(f.date, marketPeriods(f.date))!;
    for (const [name, values] of Object.entries(f.members!)) {
      const s = sums.get(name) ?? { abs: 0, n: 0 };
      values.forEach((v, p) => (s.abs += Math.abs(v - actual[p]!)));
      s.n += values.length;
      sums.set(name, s);
    }
  }
  return new Map([...sums].map(([name, s]) => [name, s.abs / s.n]));
}

const mae = (forecasts: readonly LearDayForecast[]) => {
  let abs = 0;
  let n = 0;
  for (const f of forecasts) {
    const actual = h.prices.profile(f.date, marketPeriods(f.date))!;
    for (const s of f.slots) {
      abs += Math.abs(s.value - actual[s.period]!);
      n++;
    }
  }
  return abs / n;
};

describe('the recalibrated forecaster weighs its members and same-period-yesterday by their recent errors', () => {
  it('weights each member by 1 / its out-of-sample MAE over the last weightDays days, and forecasts their weighted mean', () => {
    const origin = weighted.at(-1)!;
    const weights = origin.calibration.weights!.d1!;
    expect(Object.keys(weights).sort()).toEqual([NAIVE_MEMBER, 'd1-14', 'd1-28'].sort());
    const recent = memberMae(weighted.slice(0, -1), origin.lastDay, 7);
    for (const [name, w] of Object.entries(weights)) expect(w).toBeCloseTo(1 / Math.max(0.5, recent.get(name)!), 4);
    const f = d1(origin);
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    for (const s of f.slots.slice(0, 8)) {
      const expected = Object.entries(weights).reduce((sum, [name, w]) => sum + w * f.members![name]![s.period]!, 0) / total;
      expect(s.value).toBeCloseTo(expected, 1);
    }
  }, 120_000);

  it('falls back to the plain mean of the ridge members without weights (weightDays 0, or a calibration stored before weights)', () => {
    const o = plain.at(-1)!;
    expect(o.calibration.weights).toEqual({});
    const f = d1(o);
    for (const s of f.slots.slice(0, 8)) expect(s.value).toBeCloseTo((f.members!['d1-14']![s.period]! + f.members!['d1-28']![s.period]!) / 2, 1);
    const older = { ...weighted.at(-1)!.calibration, weights: undefined };
    const again = forecastLearDay(older, h, weighted.at(-1)!.lastDay, 1)!;
    for (const s of again.slots.slice(0, 8)) expect(s.value).toBeCloseTo((again.members!['d1-14']![s.period]! + again.members!['d1-28']![s.period]!) / 2, 1);
  }, 120_000);

  it('on these weeks of real prices the weighted forecast is not worse than the plain mean (D+1 MAE, last 3 weeks)', () => {
    const scored = (os: readonly RollingOrigin[]) => os.filter((o) => o.lastDay >= addDays(to, -21)).map(d1);
    expect(mae(scored(weighted))).toBeLessThanOrEqual(mae(scored(plain)) * 1.001);
  }, 120_000);

  it('weighs an external member (here same-weekday-last-week, standing in for the TF.js network) once it has a track record, and ignores one of the wrong length', () => {
    const lastWeek = (last: string, k: 1 | 2) => {
      const target = addDays(last, k);
      const p = h.prices.profile(addDays(target, -7), marketPeriods(target));
      return p ? { week: p, short: p.slice(0, 10) } : undefined;
    };
    const withWeek = rollingOrigins(h, from, to, { ...settings }, { external: lastWeek });
    const o = withWeek.at(-1)!;
    const weights = o.calibration.weights!.d1!;
    expect(weights.week).toBeGreaterThan(0);
    expect(weights.short).toBeUndefined();
    const f = d1(o);
    expect(f.members!.short).toBeUndefined();
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    const s0 = f.slots[40]!;
    const expected = Object.entries(weights).reduce((sum, [name, w]) => sum + w * f.members![name]![s0.period]!, 0) / total;
    expect(s0.value).toBeCloseTo(expected, 1);
    // Without the external member at forecast time, the same calibration still forecasts from the others.
    const without = forecastLearDay(o.calibration, h, o.lastDay, 1)!;
    expect(without.members!.week).toBeUndefined();
    expect(without.slots[40]!.value).not.toBeCloseTo(s0.value, 3);
  }, 120_000);

  it('keeps forecasting with a calibration stored by the previous release (input layout 1) and never with rows it was not fitted on', () => {
    const last = weighted.at(-1)!.lastDay;
    const older = calibrateLear(h, last, settings, 1);
    const { layout: _, ...stored } = older;
    const f = forecastLearDay(stored, h, last, 1)!;
    const current = forecastLearDay(calibrateLear(h, last, settings), h, last, 1)!;
    expect(f.slots).toHaveLength(current.slots.length);
    expect(f.slots.every((s) => Number.isFinite(s.value))).toBe(true);
    const gap = f.slots.reduce((sum, s, i) => sum + Math.abs(s.value - current.slots[i]!.value), 0) / f.slots.length;
    expect(gap).toBeLessThan(10);
    // A calibration whose fits do not match the rows (a layout-2 one read as layout 1) forecasts nothing rather than garbage.
    const { layout: __, ...mislabelled } = calibrateLear(h, last, settings);
    expect(forecastLearDay(mislabelled, h, last, 1)).toBeUndefined();
  }, 120_000);
});

