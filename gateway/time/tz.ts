/** Time-zone arithmetic at the edges: compute in UTC milliseconds, present in the plant's zone (Europe/Madrid). */
import { calendarProblem } from './calendar-date.js';
export const PLANT_TZ = 'Europe/Madrid';
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Offset of `tz` from UTC (ms) per UTC quarter-hour, memoised: every zone's offset is a multiple of 15 minutes and
 * changes at a whole quarter-hour of UTC (from 1901 on: local-mean-time offsets before that are not), so one Intl
 * call per quarter-hour serves every instant in it. Intl's formatToParts costs microseconds a call, and payloads
 * format every slot (issue 24: the ingest → MQTT path). Bounded: cleared past 100,000 entries per zone.
 */
const QUARTER_MS = 900_000;
const offsets = new Map<string, Map<number, number>>();

const MODERN_MS = Date.UTC(1901, 0, 1);

export function localParts(ms: number, tz = PLANT_TZ): LocalParts {
  if (!(ms >= MODERN_MS)) return intlParts(ms, tz);
  const bucket = Math.floor(ms / QUARTER_MS);
  let zone = offsets.get(tz);
  if (!zone) offsets.set(tz, (zone = new Map()));
  let offset = zone.get(bucket);
  if (offset === undefined) {
    const p = intlParts(bucket * QUARTER_MS, tz);
    offset = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - bucket * QUARTER_MS;
    if (zone.size >= 100_000) zone.clear();
    zone.set(bucket, offset);
  }
  const d = new Date(ms + offset);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

/** The wall-clock parts of `ms` in `tz`, straight from Intl (what localParts memoises). */
export function intlParts(ms: number, tz = PLANT_TZ): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Offset of `tz` from UTC at instant `ms`, in minutes (Madrid: +60 or +120). */
export function offsetMinutes(ms: number, tz = PLANT_TZ): number {
  const p = localParts(Math.floor(ms / 1000) * 1000, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseLocalDate(date: string): { year: number; month: number; day: number } {
  const m = DATE_RE.exec(date);
  if (!m) throw new Error(`expected a date as YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) throw new Error(`no such date: ${date}`);
  return { year, month, day };
}

/** The UTC instant of local midnight that starts `date` (YYYY-MM-DD) in `tz`. */
export function localMidnightUtc(date: string, tz = PLANT_TZ): number {
  const { year, month, day } = parseLocalDate(date);
  const naive = Date.UTC(year, month - 1, day);
  let guess = naive - offsetMinutes(naive, tz) * 60_000;
  guess = naive - offsetMinutes(guess, tz) * 60_000;
  return guess;
}

/** The local calendar day (YYYY-MM-DD) that contains instant `ms`. */
export function localDate(ms: number, tz = PLANT_TZ): string {
  const p = localParts(ms, tz);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

export function addDays(date: string, days: number): string {
  const { year, month, day } = parseLocalDate(date);
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** [start, end) of a local day in UTC ms: 23, 24 or 25 hours long. */
export function localDayRange(date: string, tz = PLANT_TZ): { start: number; end: number } {
  return { start: localMidnightUtc(date, tz), end: localMidnightUtc(addDays(date, 1), tz) };
}

export function localDayHours(date: string, tz = PLANT_TZ): number {
  const { start, end } = localDayRange(date, tz);
  return (end - start) / HOUR_MS;
}

/** ISO 8601 with the zone's offset, e.g. 2021-10-31T02:00:00+01:00. */
export function formatLocalIso(ms: number, tz = PLANT_TZ): string {
  const p = localParts(ms, tz);
  const off = offsetMinutes(ms, tz);
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function formatUtcIso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const OFFSET_TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses a timestamp that must carry its offset (or Z), `2025-01-15T08:15:00Z` or `2025-10-26T02:30:00+01:00`, to UTC
 * ms: the project's one parser of such timestamps. A naive local time is refused, never guessed, and so is a date the
 * calendar has not (`2025-02-30T00:00Z`, which `Date.parse` rolls over to 2 March; calendar-date.ts). Throws an Error
 * whose message is one sentence fragment naming the text: `expected an ISO timestamp with offset or Z, got "…"` or
 * `"2025-02-30T00:00:00Z": no such date: February 2025 has 28 days`.
 */
export function parseInstant(text: unknown): number {
  if (typeof text !== 'string' || !OFFSET_TS_RE.test(text)) {
    throw new InstantError(`expected an ISO timestamp with offset or Z, got ${JSON.stringify(typeof text === 'string' ? text.slice(0, 60) : text)}`, false);
  }
  const impossible = calendarProblem(text);
  if (impossible) throw new InstantError(`${JSON.stringify(text)}: ${impossible}`, true);
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new InstantError(`unparseable timestamp ${JSON.stringify(text)}`, false);
  return ms;
}

/** parseInstant's error: `impossibleDate` when the text has the shape but names a date or time the calendar has not. */
export class InstantError extends Error {
  constructor(
    message: string,
    readonly impossibleDate: boolean,
  ) {
    super(message);
    this.name = 'InstantError';
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The UTC instant of a local wall-clock time on `date`; the earlier one on the repeated autumn hour. */
export function localTimeToUtc(date: string, hour: number, minute = 0, tz = PLANT_TZ): number {
  const { year, month, day } = parseLocalDate(date);
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  const offsets = [offsetMinutes(naive - DAY_MS, tz), offsetMinutes(naive + DAY_MS, tz)];
  const matching = offsets.map((o) => naive - o * 60_000).filter((utc) => localParts(utc, tz).hour === hour);
  return matching.length ? Math.min(...matching) : naive - offsets[0]! * 60_000;
}
