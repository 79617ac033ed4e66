import type { Slot } from '../series/slots.js';
import { HOUR_MS, PLANT_TZ, localDayRange, localParts } from '../time/tz.js';

/** OMIE's day-ahead market clears quarter-hours from this local date on (MTU 15 min), hours before. */
export const QUARTER_HOUR_MARKET_FROM = '2025-10-01';

/** Periods of a local day at the market's resolution: 96 quarter-hours from 2025-10-01, 24 hours before. */
export function marketPeriods(date: string): 24 | 96 {
  return date >= QUARTER_HOUR_MARKET_FROM ? 96 : 24;
}

/**
 * Values of a series laid out per local day and clock period (0 … periods−1 from local midnight), at either
 * resolution: an hourly slot fills its four quarter-hours, four quarter-hours average into their hour. On the
 * 23-hour day the missing clock hour takes the hour before; on the 25-hour day the repeated hour is averaged.
 * A day with fewer than 90 % of its periods known has no profile.
 */
export class DayProfiles {
  private readonly byDate = new Map<string, Array<{ minute: number; length: number; value: number }>>();
  private readonly cache = new Map<string, Float64Array | null>();

  constructor(
    slots: Iterable<Slot>,
    tz = PLANT_TZ,
  ) {
    for (const s of slots) {
      if (!Number.isFinite(s.value)) continue;
      const p = localParts(s.start, tz);
      const date = `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
      const list = this.byDate.get(date) ?? [];
      list.push({ minute: p.hour * 60 + p.minute, length: Math.round((s.end - s.start) / 60_000), value: s.value });
      this.byDate.set(date, list);
    }
  }

  has(date: string): boolean {
    return this.byDate.has(date);
  }

  dates(): string[] {
    return [...this.byDate.keys()].sort();
  }

  profile(date: string, periods: number): Float64Array | undefined {
    const key = `${date}/${periods}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const list = this.byDate.get(date);
    let out: Float64Array | null = null;
    if (list) {
      const step = 1440 / periods;
      const sum = new Float64Array(periods);
      const n = new Float64Array(periods);
      for (const s of list) {
        const from = Math.floor(s.minute / step);
        const to = Math.max(from + 1, Math.floor((s.minute + s.length - 1) / step) + 1);
        for (let i = from; i < Math.min(periods, to); i++) {
          sum[i]! += s.value;
          n[i]!++;
        }
      }
      let known = 0;
      for (let i = 0; i < periods; i++) if (n[i]) known++;
      if (known >= 0.9 * periods) {
        out = new Float64Array(periods);
        let last = NaN;
        for (let i = 0; i < periods; i++) {
          out[i] = n[i] ? sum[i]! / n[i]! : last;
          if (n[i]) last = out[i]!;
        }
        const first = out.find((x) => Number.isFinite(x)) ?? NaN;
        for (let i = 0; i < periods && !Number.isFinite(out[i]!); i++) out[i] = first;
      }
    }
    this.cache.set(key, out);
    return out ?? undefined;
  }
}

/** The UTC slots of a local day at `periods` resolution (92/96/100 quarter-hours or 23/24/25 hours) with their clock period. */
export function daySlots(date: string, periods: number, tz = PLANT_TZ): Array<{ start: number; end: number; period: number }> {
  const { start, end } = localDayRange(date, tz);
  const step = (1440 / periods) * 60_000;
  const out: Array<{ start: number; end: number; period: number }> = [];
  let parts = localParts(start, tz);
  let hourStart = start;
  for (let t = start; t < end; t += step) {
    if (t - hourStart >= HOUR_MS || t === start) {
      hourStart = t - (t - start) % HOUR_MS;
      parts = localParts(hourStart, tz);
    }
    const minute = parts.hour * 60 + parts.minute + (t - hourStart) / 60_000;
    out.push({ start: t, end: t + step, period: Math.floor(minute / (1440 / periods)) });
  }
  return out;
}

