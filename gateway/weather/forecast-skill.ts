/**
 * The temperature forecast's skill as measured on this box: the forecast kept as issued a day ahead, compared with
 * what was then observed.
 *
 * The store keeps only the latest forecast of each hour (`fc.combined.temp` is rewritten at every refresh), so the
 * error of the forecast the planner used a day ahead cannot be read back from it. `fc.combined.temp.issued24h` keeps,
 * for each hour, the forecast as it stood when the hour was between ISSUED_LEAD_FROM_H and ISSUED_LEAD_TO_H hours
 * ahead (the last refresh in that window wins): a day-ahead forecast, issued like the one the 10:00 plan of the day
 * before uses.
 *
 * From it and `obs.combined.temp`, over the last SKILL_WINDOW_DAYS days:
 *   e(h) = issued(h) − observed(h)                      (°C, hours with both)
 *   bias = mean e;  rmse = √(mean e²);  ρ = lag-1 autocorrelation of e over consecutive hours
 * `rmse` is the spread σ of the planner's ambient margin and priced risk (gateway/planner/ambient-margin.ts): at a
 * day's lead ρ^(2L) ≈ 0, so σ(L) ≈ σ, and the root mean square keeps a bias in it (a forecast that runs 1 °C cold
 * is 1 °C less sure of the limit, not more).
 */
import type { Slot } from '../series/slots.js';
import { DAY_MS, HOUR_MS } from '../time/tz.js';

/** The series of the temperature forecast as issued a day ahead (°C, hourly slots). */
export const ISSUED_TEMP_SERIES = 'fc.combined.temp.issued24h';
/** A forecast slot is kept as issued while it is at least this many hours ahead … */
export const ISSUED_LEAD_FROM_H = 20;
/** … and less than this many: the latest refresh in [20 h, 28 h) before the hour wins. */
export const ISSUED_LEAD_TO_H = 28;
/** The days of issued forecasts and observations the skill is measured over. */
export const SKILL_WINDOW_DAYS = 28;
/** Fewer hours with both an issued forecast and an observation than this: no measured skill (14 days). */
export const SKILL_MIN_HOURS = 14 * 24;

/** The forecast slots of `forecast` (hourly, UTC ms) issued at `now` that are a day ahead: the ones to keep as issued. */
export function dayAheadSlots(forecast: readonly Slot[], now: number): Slot[] {
  return forecast.filter((s) => s.start - now >= ISSUED_LEAD_FROM_H * HOUR_MS && s.start - now < ISSUED_LEAD_TO_H * HOUR_MS);
}

/** The measured day-ahead skill (°C, except `rho` and `hours`); `from`/`to` bound the hours compared (UTC ms). */
export interface ForecastSkill {
  hours: number;
  biasC: number;
  rmseC: number;
  /** Lag-1 autocorrelation of the hourly error, over pairs of consecutive hours both compared; null with < 2 pairs or no spread. */
  rho: number | null;
  from: number;
  to: number;
}

/**
 * The skill of `issued` against `observed` (both hourly slots, °C; matched on their start hour), or null when no hour
 * has both. Values rounded to 0.01. Whether `hours` is enough to rely on is the caller's (SKILL_MIN_HOURS).
 */
export function forecastSkill(issued: readonly Slot[], observed: readonly Slot[]): ForecastSkill | null {
  const obs = new Map(observed.map((s) => [Math.floor(s.start / HOUR_MS) * HOUR_MS, s.value]));
  const errors = new Map<number, number>();
  for (const s of issued) {
    const h = Math.floor(s.start / HOUR_MS) * HOUR_MS;
    const o = obs.get(h);
    if (o !== undefined && Number.isFinite(o) && Number.isFinite(s.value)) errors.set(h, s.value - o);
  }
  if (errors.size === 0) return null;
  const hours = [...errors.keys()].sort((a, b) => a - b);
  const e = hours.map((h) => errors.get(h)!);
  const mean = e.reduce((a, x) => a + x, 0) / e.length;
  const rmse = Math.sqrt(e.reduce((a, x) => a + x * x, 0) / e.length);
  let num = 0;
  let den = 0;
  let pairs = 0;
  for (const x of e) den += (x - mean) ** 2;
  for (let i = 1; i < hours.length; i++) {
    if (hours[i]! - hours[i - 1]! !== HOUR_MS) continue;
    num += (e[i]! - mean) * (e[i - 1]! - mean);
    pairs++;
  }
  // The lag-1 sum over the pairs against the variance over all hours, scaled to the pairs' share.
  const rho = pairs >= 2 && den > 0 ? Math.max(-1, Math.min(1, num / pairs / (den / e.length))) : null;
  const round = (x: number) => Math.round(x * 100) / 100;
  return { hours: e.length, biasC: round(mean), rmseC: round(rmse), rho: rho === null ? null : round(rho), from: hours[0]!, to: hours.at(-1)! + HOUR_MS };
}

/** The window [from, to) (UTC ms) the skill at `now` is measured over: the last SKILL_WINDOW_DAYS whole hours. */
export function skillWindow(now: number): { from: number; to: number } {
  const to = Math.floor(now / HOUR_MS) * HOUR_MS;
  return { from: to - SKILL_WINDOW_DAYS * DAY_MS, to };
}
