/**
 * Observation-anchored correction of a temperature forecast (issue #23): the error a forecast makes at the last
 * observed hour persists, fading by `rho` per hour, so the forecast for the coming hours is moved by that much:
 *
 *   corrected(h) = forecast(h) + rho^(h − h0) × (observed(h0) − forecast(h0))      for h > h0
 *
 * with h0 the latest hour that has both an observation and a forecast (the standard persistence-of-error, or
 * AR(1) error, correction; rho is the lag-1 autocorrelation of the hourly forecast error). Hours up to h0 take
 * their observation when there is one (it is a fact, not a forecast), as does an hour with an observation and no
 * forecast. °C, corrected values rounded to 0.1 °C.
 */
import type { Slot } from '../series/slots.js';
import { HOUR_MS } from '../time/tz.js';

/** The anchor: the hour index h0 (into the arrays) and the error observed − forecast there, °C. */
export interface ErrorAnchor {
  index: number;
  errorC: number;
}

/**
 * The correction on one hourly grid: `forecast[i]` and `observed[i]` are hour i's forecast and observation (°C,
 * null when absent; an hour not observed yet is null). Returns the corrected temperatures (null where the
 * forecast and the observation both are), and the anchor used (undefined: no hour has both, the forecast is
 * returned as it is, observed hours replaced by their observation). `rho` in [0, 1]; throws RangeError outside.
 */
export function anchorCorrection(forecast: ReadonlyArray<number | null>, observed: ReadonlyArray<number | null>, rho: number): { values: Array<number | null>; anchor?: ErrorAnchor } {
  if (!(rho >= 0 && rho <= 1)) throw new RangeError(`the weather error decay must be in [0, 1], got ${rho}`);
  let anchor: ErrorAnchor | undefined;
  for (let i = Math.min(forecast.length, observed.length) - 1; i >= 0 && !anchor; i--) {
    const f = forecast[i];
    const o = observed[i];
    if (f !== null && f !== undefined && o !== null && o !== undefined) anchor = { index: i, errorC: o - f };
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  const values = forecast.map((f, i) => {
    const o = observed[i];
    if (o !== null && o !== undefined && (!anchor || i <= anchor.index || f === null || f === undefined)) return o;
    if (f === null || f === undefined) return null;
    return anchor && i > anchor.index ? round(f + rho ** (i - anchor.index) * anchor.errorC) : f;
  });
  return { values, ...(anchor ? { anchor } : {}) };
}

/**
 * The correction for the planner's slots `starts` (UTC ms, any resolution) from the stored hourly series: the
 * forecast `fc` and the observations `obs` (e.g. `fc.combined.temp`, `obs.combined.temp`, read from at least a few
 * hours before `starts[0]` so the anchor's hour is in them). Each slot takes the corrected value of the hour holding
 * it. Returns the values and the anchor (its hour as UTC ms) for the plan document or a log.
 */
export function correctedTemperatures(starts: readonly number[], fc: readonly Slot[], obs: readonly Slot[], rho: number, lookbackHours = 6): { values: Array<number | null>; anchor?: { at: number; errorC: number } } {
  if (!starts.length) return { values: [] };
  const from = Math.floor(starts[0]! / HOUR_MS) * HOUR_MS - lookbackHours * HOUR_MS;
  const to = starts.at(-1)! + 1;
  const hours: number[] = [];
  for (let t = from; t < to; t += HOUR_MS) hours.push(t);
  const at = (series: readonly Slot[], t: number) => series.find((s) => s.start <= t && s.end > t)?.value ?? null;
  const { values, anchor } = anchorCorrection(
    hours.map((t) => at(fc, t)),
    hours.map((t) => at(obs, t)),
    rho,
  );
  return { values: starts.map((t) => values[Math.floor((t - from) / HOUR_MS)] ?? null), ...(anchor ? { anchor: { at: hours[anchor.index]!, errorC: Math.round(anchor.errorC * 10) / 10 } } : {}) };
}
