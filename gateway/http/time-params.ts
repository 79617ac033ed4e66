import { localDayRange, parseInstant } from '../time/tz.js';

/**
 * A `from`/`to` query parameter as UTC ms: an ISO 8601 timestamp with its offset or Z (`2025-10-26T00:00:00+02:00`),
 * or a local date (`2025-10-26`), which means that day's first instant in the plant's time zone (`tz`,
 * Europe/Madrid), as the bill's and savings' dates do: `from=2025-10-26&to=2025-10-27` is the 25-hour local day.
 * A timestamp without an offset is refused (it would be read in the box's own time zone). Throws an Error with
 * statusCode 400 and one sentence.
 */
export function parseTimeParam(name: string, text: string, tz: string): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    // in SUPPORTED_DATES, so that the day after it (a default `to`) exists too
    checkDateParam(name, text);
    try {
      return localDayRange(text, tz).start;
    } catch (error) {
      throw Object.assign(new Error(`${name}: ${(error as Error).message}`), { statusCode: 400 });
    }
  }
  let t: number;
  try {
    t = parseInstant(text);
  } catch {
    throw Object.assign(new Error(`${name}: expected a local date (YYYY-MM-DD, ${tz}) or an ISO timestamp with offset or Z, got ${JSON.stringify(text.slice(0, 40))}`), { statusCode: 400 });
  }
  const day = new Date(t).toISOString().slice(0, 10);
  if (day < SUPPORTED_DATES.from || day > SUPPORTED_DATES.to) throw Object.assign(new Error(`${name}: ${text.slice(0, 40)} is outside the supported dates ${SUPPORTED_DATES.from} to ${SUPPORTED_DATES.to}`), { statusCode: 400 });
  return t;
}

/** The local dates the API accepts (a calendar date in these years): outside, a day after or before may not exist. */
export const SUPPORTED_DATES = { from: '1970-01-01', to: '2199-12-31' } as const;

/**
 * A local date (YYYY-MM-DD) or month (YYYY-MM) path or query parameter checked to exist and to lie within
 * SUPPORTED_DATES (so the day or month after it can be computed). Throws an Error with statusCode 400 and one
 * sentence; returns the text.
 */
export function checkDateParam(name: string, text: string): string {
  const bad = (why: string) => Object.assign(new Error(`${name}: ${why}`), { statusCode: 400 });
  const isMonth = /^\d{4}-\d{2}$/.test(text);
  if (!isMonth && !/^\d{4}-\d{2}-\d{2}$/.test(text)) throw bad(`expected ${name === 'month' ? 'a month as YYYY-MM' : 'a local date as YYYY-MM-DD'}, got ${JSON.stringify(text.slice(0, 40))}`);
  const date = isMonth ? `${text}-01` : text;
  const check = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== date) throw bad(`no such ${isMonth ? 'month' : 'date'}: ${text}`);
  const last = isMonth ? SUPPORTED_DATES.to.slice(0, 7) : SUPPORTED_DATES.to;
  const first = isMonth ? SUPPORTED_DATES.from.slice(0, 7) : SUPPORTED_DATES.from;
  if (text < first || text > last) throw bad(`${text} is outside the supported ${isMonth ? 'months' : 'dates'} ${first} to ${last}`);
  return text;
}
