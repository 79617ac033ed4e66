import { PayloadMismatchError } from '../util/errors.js';
import type { Slot } from '../series/slots.js';
import { formatLocalIso, localDayRange } from '../time/tz.js';

/**
 * The one place where every price and weather source checks that a payload is the one it asked for:
 * the requested local day or time window, indicator or series, region (geo id), resolution and unit.
 * Each check throws a `PayloadMismatchError` (code `payload_mismatch`) naming what was asked and what came;
 * a source that gets one stores nothing from that payload.
 */

/** Every slot lies inside the requested local day `date` (YYYY-MM-DD in `timezone`). */
export function assertInsideDay(source: string, what: string, date: string, timezone: string, slots: readonly Slot[]): void {
  const { start, end } = localDayRange(date, timezone);
  const outside = slots.filter((s) => s.start < start || s.end > end);
  if (!outside.length) return;
  const first = outside[0]!;
  const last = outside[outside.length - 1]!;
  throw new PayloadMismatchError(
    source,
    `${what}: asked for ${date} (${timezone}), got ${outside.length} of ${slots.length} values outside it, ${formatLocalIso(first.start, timezone)} … ${formatLocalIso(last.start, timezone)}`,
  );
}

/** Every slot starts inside [from, to) (a weather observation or forecast window). */
export function assertInsideWindow(source: string, what: string, from: number, to: number, timezone: string, slots: ReadonlyArray<{ start: number }>): void {
  const bad = slots.find((s) => !Number.isFinite(s.start) || s.start < from || s.start >= to);
  if (bad) throw new PayloadMismatchError(source, `${what}: value at ${Number.isFinite(bad.start) ? formatLocalIso(bad.start, timezone) : String(bad.start)} is outside the requested window ${formatLocalIso(from, timezone)} … ${formatLocalIso(to, timezone)}`);
}

/** The payload names the identifier (indicator, station, municipality, geo id) that was asked for. */
export function assertSameId(source: string, what: string, asked: string | number, got: unknown): void {
  if (got === undefined || got === null || String(got) !== String(asked)) throw new PayloadMismatchError(source, `asked for ${what} ${asked}, got ${JSON.stringify(got ?? null)}`);
}

/** Every value belongs to one of the regions asked for (values that carry no geo id are accepted). */
export function assertGeos(source: string, what: string, asked: readonly number[], values: ReadonlyArray<{ geo_id?: unknown }>): void {
  const other = values.find((v) => v.geo_id !== undefined && v.geo_id !== null && !asked.includes(Number(v.geo_id)));
  if (other) throw new PayloadMismatchError(source, `${what}: asked for geo ${asked.join(', ')}, got geo ${JSON.stringify(other.geo_id)}`);
}

/** Consecutive slots are `stepMs` long (the resolution asked for). */
export function assertResolution(source: string, what: string, stepMs: number, slots: readonly Slot[]): void {
  const bad = slots.find((s) => s.end - s.start !== stepMs);
  if (bad) throw new PayloadMismatchError(source, `${what}: asked for ${stepMs / 60_000}-minute values, got ${(bad.end - bad.start) / 60_000}-minute values`);
}

/** Consecutive slots have one of the resolutions `stepsMs` the series comes in (native first); any other is evidence of another series. */
export function assertResolutionIn(source: string, what: string, stepsMs: readonly number[], slots: readonly Slot[]): void {
  const bad = slots.find((s) => !stepsMs.includes(s.end - s.start));
  if (bad) {
    throw new PayloadMismatchError(source, `${what}: comes in ${stepsMs.map((m) => `${m / 60_000}-minute`).join(' or ')} values, got ${(bad.end - bad.start) / 60_000}-minute values`);
  }
}

/**
 * Refuses on evidence, never on absence: when `label` states a unit (`states` matches it) that is not the `expected`
 * one (`pattern`), the payload is another quantity; a label that states no unit (REE's 2026 titles "PVPC",
 * "Precio mercado spot") or no label at all is accepted.
 */
export function assertStatedUnit(source: string, what: string, expected: string, pattern: RegExp, states: RegExp, label: unknown): void {
  if (label === undefined || label === null) return;
  const text = typeof label === 'string' ? label : JSON.stringify(label);
  if (!text.trim() || !states.test(text) || pattern.test(text)) return;
  throw new PayloadMismatchError(source, `${what}: expected ${expected}, the payload says ${text.slice(0, 80)}`);
}

/** The unit or magnitude the payload states matches the one asked for (`pattern` tested on its label). */
export function assertUnit(source: string, what: string, expected: string, pattern: RegExp, label: unknown): void {
  const text = typeof label === 'string' ? label : JSON.stringify(label ?? null);
  if (!pattern.test(text)) throw new PayloadMismatchError(source, `${what}: expected ${expected}, the payload says ${text.slice(0, 80)}`);
}

/** The coordinates a weather payload is for lie within `toleranceDeg` of the ones asked for. */
export function assertNear(source: string, asked: { lat: number; lon: number }, got: { lat?: unknown; lon?: unknown } | undefined, toleranceDeg = 0.1): void {
  const lat = Number(got?.lat);
  const lon = Number(got?.lon);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat - asked.lat) > toleranceDeg || Math.abs(lon - asked.lon) > toleranceDeg) {
    throw new PayloadMismatchError(source, `asked for ${asked.lat},${asked.lon}, got ${got ? `${String(got.lat)},${String(got.lon)}` : 'no coordinates'}`);
  }
}
