import { describe, expect, it } from 'vitest';
import { anchorCorrection, correctedTemperatures } from '../../gateway/weather/error-correction.js';
import { noisyTemperatures } from '../../models/eval/simulate-live.js';

const H = 3_600_000;
// Madrid Barajas (Meteostat), 2025-07-10 08:00-17:00 UTC, °C: the afternoon that crossed 35 °C.
const observed = [24.9, 27.7, 31.1, 32.2, 33.3, 34.1, 34.7, 35.3, 35.2, 35.1];
// A day-ahead forecast that ran 1.5 °C cold all day (a real-looking error: it kept the afternoon under 35 °C).
const forecast = observed.map((o) => Math.round((o - 1.5) * 10) / 10);

describe('observation-anchored temperature forecast (persistence of the forecast error)', () => {
  it('moves the coming hours by ρ^(h − h0) × (obs(h0) − fc(h0)) from the last hour with both', () => {
    // Observed up to 10:00 UTC (index 2): the error there is 31.1 − 29.6 = +1.5 °C.
    const seen = observed.map((o, i) => (i <= 2 ? o : null));
    const { values, anchor } = anchorCorrection(forecast, seen, 0.8);
    expect(anchor).toEqual({ index: 2, errorC: expect.closeTo(1.5, 9) });
    expect(values.slice(0, 3)).toEqual([24.9, 27.7, 31.1]); // observed hours: the observation
    // 11:00: 30.7 + 0.8 × 1.5 = 31.9; 12:00: 31.8 + 0.64 × 1.5 = 32.76 → 32.8; 15:00 (5 h): 33.8 + 0.32768 × 1.5 = 34.29 → 34.3
    expect(values[3]).toBe(31.9);
    expect(values[4]).toBe(32.8);
    expect(values[7]).toBe(34.3);
    // Closer to what happened than the raw forecast at every coming hour.
    for (let i = 3; i < observed.length; i++) expect(Math.abs(values[i]! - observed[i]!)).toBeLessThan(Math.abs(forecast[i]! - observed[i]!));
    // ρ = 1: the error persists whole (the 15:00 reading, 35.3, reaches the halt limit); ρ = 0: the raw forecast.
    expect(anchorCorrection(forecast, seen, 1).values[7]).toBe(35.3);
    expect(anchorCorrection(forecast, seen, 0).values.slice(3)).toEqual(forecast.slice(3));
  });

  it('without any hour holding both, returns the forecast (observed hours replaced); rejects ρ outside [0, 1]', () => {
    expect(anchorCorrection([20, 21, null], [null, null, 19], 0.8)).toEqual({ values: [20, 21, 19] });
    expect(anchorCorrection([20, null, 22], [19, null, null], 0.8).values).toEqual([19, null, 21.4]);
    expect(() => anchorCorrection([20], [20], 1.2)).toThrow(RangeError);
  });

  it('maps stored hourly series onto quarter-hour planner slots, the anchor before the horizon', () => {
    const t0 = Date.UTC(2025, 6, 10, 8);
    const fc = forecast.map((value, i) => ({ start: t0 + i * H, end: t0 + (i + 1) * H, value }));
    const obs = observed.slice(0, 3).map((value, i) => ({ start: t0 + i * H, end: t0 + (i + 1) * H, value }));
    // Planning at 11:15 UTC: the last observation is 10:00 (index 2).
    const starts = [0, 1, 2, 3, 4, 5].map((q) => t0 + 3 * H + (q + 1) * 15 * 60_000);
    const { values, anchor } = correctedTemperatures(starts, fc, obs, 0.8);
    expect(anchor).toEqual({ at: t0 + 2 * H, errorC: 1.5 });
    expect(values).toEqual([31.9, 31.9, 31.9, 32.8, 32.8, 32.8]);
  });

  it('cuts the error of the next hours of the noisy day-ahead forecast (AR(1) 0.8) by the share ρ^lag predicts', () => {
    // 365 days of the simulate error model on a flat truth: observed up to 10:00, the error of 11:00-13:00.
    let raw = 0;
    let fixed = 0;
    for (let d = 0; d < 365; d++) {
      const date = new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10);
      const truth = new Array(24).fill(25);
      const fcDay = noisyTemperatures(truth, date, 3);
      const { values } = anchorCorrection(fcDay, truth.map((t, i) => (i <= 10 ? t : null)), 0.8);
      for (let h = 11; h <= 13; h++) {
        raw += (fcDay[h]! - 25) ** 2;
        fixed += (values[h]! - 25) ** 2;
      }
    }
    // AR(1) 0.8: the error variance left at lags 1-3 is 1 − 0.8^(2·lag), on average ≈ 0.55 of the raw one.
    expect(fixed / raw).toBeGreaterThan(0.4);
    expect(fixed / raw).toBeLessThan(0.7);
  });
});
