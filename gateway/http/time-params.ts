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
    try {
      return localDayRange(text, tz).start;
    } catch (error) {
      throw Object.assign(new Error(`${name}: ${(error as Error).message}`), { statusCode: 400 });
    }
  }
  try {
    return parseInstant(text);
  } catch {
    throw Object.assign(new Error(`${name}: expected a local date (YYYY-MM-DD, ${tz}) or an ISO timestamp with offset or Z, got ${JSON.stringify(text.slice(0, 40))}`), { statusCode: 400 });
  }
}
