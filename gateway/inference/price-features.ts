import { isNationalHoliday } from '../time/calendar.js';
import { HOUR_MS, localDate, localParts } from '../time/tz.js';

/** Bump when the feature layout changes; a model card records the version it was trained with. */
export const PRICE_FEATURES_VERSION = 1;
export const PRICE_HORIZON_HOURS = 48;
export const PRICE_QUANTILES = [0.1, 0.5, 0.9] as const;

export interface DriverRow {
  demand: number;
  wind: number;
  solar: number;
}

export interface PriceFeatureSet {
  /** One row per target hour, h = 1..48 after the last known price. */
  rows: number[][];
  targets: number[];
  /** Recent level and scale: a forecast in model units is level + scale × output. */
  level: number;
  scale: number;
  driversUsed: number;
}

export class MissingInputsError extends Error {}

const clip = (x: number) => Math.max(-10, Math.min(10, x));

export function priceFeatureNames(): string[] {
  return [
    'lag_day',
    'lag_week',
    'lag_2week',
    'last_day_mean',
    'last_hour',
    ...Array.from({ length: 24 }, (_, i) => `last_day_${i}`),
    ...Array.from({ length: 24 }, (_, i) => `hour_${i}`),
    ...Array.from({ length: 7 }, (_, i) => `weekday_${i}`),
    'holiday',
    'horizon',
    'month_sin',
    'month_cos',
    'log_scale',
    'demand',
    'wind',
    'solar',
    'residual_load',
    'drivers_known',
  ];
}

/**
 * Features for the 48 hours after `lastKnownEnd`, from hourly prices known before it (€/MWh keyed by UTC hour start)
 * and, where known at forecast time, REE's D-1 demand/wind/solar forecasts for the target hour (only for the first day).
 * Refuses (MissingInputsError) when fewer than 160 of the last 168 hours are known.
 */
export function buildPriceFeatures(prices: ReadonlyMap<number, number>, lastKnownEnd: number, drivers?: ReadonlyMap<number, DriverRow>, timezone = 'Europe/Madrid'): PriceFeatureSet {
  const week: number[] = [];
  for (let t = lastKnownEnd - 168 * HOUR_MS; t < lastKnownEnd; t += HOUR_MS) {
    const p = prices.get(t);
    if (p !== undefined) week.push(p);
  }
  if (week.length < 160) throw new MissingInputsError(`only ${week.length} of the 168 hours before ${new Date(lastKnownEnd).toISOString()} are known (need 160)`);
  const level = week.reduce((s, x) => s + x, 0) / week.length;
  const scale = Math.max(5, Math.sqrt(week.reduce((s, x) => s + (x - level) ** 2, 0) / week.length));
  const n = (x: number | undefined, fallback: number) => clip(((x ?? fallback) - level) / scale);
  const lastDay = Array.from({ length: 24 }, (_, i) => prices.get(lastKnownEnd - (24 - i) * HOUR_MS));
  const lastDayMean = lastDay.filter((x): x is number => x !== undefined).reduce((s, x, _, a) => s + x / a.length, 0);
  const lastHour = prices.get(lastKnownEnd - HOUR_MS) ?? lastDayMean;
  const profile = lastDay.map((x) => n(x, lastDayMean));
  const rows: number[][] = [];
  const targets: number[] = [];
  let driversUsed = 0;
  for (let h = 1; h <= PRICE_HORIZON_HOURS; h++) {
    const t = lastKnownEnd + (h - 1) * HOUR_MS;
    const k = Math.ceil(h / 24);
    const lagDay = prices.get(t - 24 * k * HOUR_MS);
    const lagWeek = prices.get(t - 168 * HOUR_MS) ?? lagDay;
    const lag2Week = prices.get(t - 336 * HOUR_MS) ?? lagWeek;
    const local = localParts(t, timezone);
    const date = localDate(t, timezone);
    const weekday = new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay();
    const d = h <= 24 ? drivers?.get(t) : undefined;
    if (d) driversUsed++;
    rows.push([
      n(lagDay, lastDayMean),
      n(lagWeek, lastDayMean),
      n(lag2Week, lastDayMean),
      n(lastDayMean, level),
      n(lastHour, level),
      ...profile,
      ...Array.from({ length: 24 }, (_, i) => (i === local.hour ? 1 : 0)),
      ...Array.from({ length: 7 }, (_, i) => (i === weekday ? 1 : 0)),
      isNationalHoliday(date) ? 1 : 0,
      h / PRICE_HORIZON_HOURS,
      Math.sin((2 * Math.PI * (local.month - 1)) / 12),
      Math.cos((2 * Math.PI * (local.month - 1)) / 12),
      Math.log(scale) / 5,
      d ? (d.demand - 28_000) / 6_000 : 0,
      d ? (d.wind - 6_000) / 4_000 : 0,
      d ? (d.solar - 3_000) / 3_000 : 0,
      d ? (d.demand - d.wind - d.solar - 18_000) / 6_000 : 0,
      d ? 1 : 0,
    ]);
    targets.push(t);
  }
  return { rows, targets, level, scale, driversUsed };
}
