import { HOUR_MS } from '../time/tz.js';

/** The one shape for prices, weather, forecasts, model outputs and plans: a value over [start, end) in UTC ms. */
export interface Slot {
  start: number;
  end: number;
  value: number;
}

/** A stored slot also records where and when it came from. */
export interface StoredSlot extends Slot {
  source: string;
  fetchedAt: number;
}

export type Unit = 'EUR/MWh' | 'EUR/kWh' | 'degC' | 'percent' | 'm/s' | 'km/h' | 'hPa' | 'mm' | 'kW' | 'kWh' | 'EUR' | 'class' | 'MW';

export interface SeriesInfo {
  id: string;
  unit: Unit;
  description: string;
}

export const QUARTER_HOUR_MS = 15 * 60_000;

export function eurPerMwhToEurPerKwh(eurPerMwh: number): number {
  return Math.round(eurPerMwh * 100) / 100_000;
}

export function eurPerKwhToEurPerMwh(eurPerKwh: number): number {
  return Math.round(eurPerKwh * 1_000_000) / 1000;
}

/** The slot whose [start, end) contains `at`, if any. Slots must be sorted by start. */
export function slotAt<T extends Slot>(slots: readonly T[], at: number): T | undefined {
  let lo = 0;
  let hi = slots.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = slots[mid]!;
    if (at < s.start) hi = mid - 1;
    else if (at >= s.end) lo = mid + 1;
    else return s;
  }
  return undefined;
}

/** Ranges of [from, to) not covered by any slot. Slots must be sorted by start. */
export function findGaps(slots: readonly Slot[], from: number, to: number): Array<{ start: number; end: number }> {
  const gaps: Array<{ start: number; end: number }> = [];
  let cursor = from;
  for (const s of slots) {
    if (s.end <= cursor) continue;
    if (s.start >= to) break;
    if (s.start > cursor) gaps.push({ start: cursor, end: Math.min(s.start, to) });
    cursor = Math.max(cursor, s.end);
    if (cursor >= to) break;
  }
  if (cursor < to) gaps.push({ start: cursor, end: to });
  return gaps;
}

/** Means over fixed buckets (e.g. hourly), weighting each slot by how much of the bucket it covers. */
export function resample(slots: readonly Slot[], bucketMs: number): Slot[] {
  const buckets = new Map<number, { weighted: number; covered: number }>();
  for (const s of slots) {
    for (let b = Math.floor(s.start / bucketMs) * bucketMs; b < s.end; b += bucketMs) {
      const overlap = Math.min(s.end, b + bucketMs) - Math.max(s.start, b);
      if (overlap <= 0) continue;
      const acc = buckets.get(b) ?? { weighted: 0, covered: 0 };
      acc.weighted += s.value * overlap;
      acc.covered += overlap;
      buckets.set(b, acc);
    }
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, acc]) => ({ start, end: start + bucketMs, value: round6(acc.weighted / acc.covered) }));
}

export function hourly(slots: readonly Slot[]): Slot[] {
  return resample(slots, HOUR_MS);
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Builds consecutive slots of equal length from a local day's start; used for 23/24/25-hour and 92/96/100-period days. */
export function slotsFromPeriods(dayStart: number, dayEnd: number, values: readonly number[]): Slot[] {
  const span = dayEnd - dayStart;
  const resolution = span / values.length;
  if (resolution !== HOUR_MS && resolution !== QUARTER_HOUR_MS) {
    throw new Error(
      `${values.length} periods do not fit a ${span / HOUR_MS}-hour day (expected ${span / HOUR_MS} hourly or ${span / QUARTER_HOUR_MS} quarter-hourly)`,
    );
  }
  return values.map((value, i) => ({ start: dayStart + i * resolution, end: dayStart + (i + 1) * resolution, value }));
}
