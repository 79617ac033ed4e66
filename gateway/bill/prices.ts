import { QUARTER_HOUR_MS, type Slot } from '../series/slots.js';

/**
 * The day-ahead price of each quarter-hour, €/MWh, keyed by the quarter-hour's UTC start: quarter-hour slots as
 * they are, an hourly (or any multiple of 15 min) slot applied to each of its quarters. Where slots of different
 * lengths overlap, the shorter (finer) one wins; slots of equal length must agree. Throws on a slot that is not on
 * the quarter-hour grid or has a non-finite value.
 */
export function quarterHourPrices(slots: readonly Slot[]): Map<number, number> {
  const out = new Map<number, number>();
  const width = new Map<number, number>();
  for (const s of slots) {
    const len = s.end - s.start;
    if (!(len >= QUARTER_HOUR_MS) || len % QUARTER_HOUR_MS !== 0 || s.start % QUARTER_HOUR_MS !== 0) {
      throw new Error(`price slot ${new Date(s.start).toISOString()} (${len / 60_000} min) is not on the quarter-hour grid`);
    }
    if (!Number.isFinite(s.value)) throw new Error(`price slot ${new Date(s.start).toISOString()} has no finite value`);
    for (let t = s.start; t < s.end; t += QUARTER_HOUR_MS) {
      const had = width.get(t);
      if (had !== undefined && had < len) continue;
      if (had === len && out.get(t) !== s.value) throw new Error(`two prices for ${new Date(t).toISOString()}: ${out.get(t)} and ${s.value} €/MWh`);
      out.set(t, s.value);
      width.set(t, len);
    }
  }
  return out;
}
