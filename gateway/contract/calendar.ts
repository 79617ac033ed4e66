/**
 * The period calendar of the Spanish access tariffs (Península), CNMC Circular 3/2020 (BOE-A-2020-1066), in force
 * since 2021-06-01: which period (P1 the dearest … P6 the cheapest) a quarter-hour belongs to.
 *
 * - 3.0TD and 6.1TD, six periods, weekdays by season and local clock hour:
 *   | season     | months             | 09-14, 18-22 | 08-09, 14-18, 22-24 | 00-08 |
 *   | alta       | Jan, Feb, Jul, Dec | P1           | P2                  | P6    |
 *   | media-alta | Mar, Nov           | P2           | P3                  | P6    |
 *   | media      | Jun, Aug, Sep      | P3           | P4                  | P6    |
 *   | baja       | Apr, May, Oct      | P4           | P5                  | P6    |
 *   Saturdays, Sundays and tariff holidays are P6 all day.
 * - 2.0TD, three energy periods all year: P1 10-14 and 18-22, P2 08-10, 14-18 and 22-24, P3 00-08 on weekdays;
 *   Saturdays, Sundays and tariff holidays P3 all day. Its power has two periods: P1 (energy P1 and P2) and P2
 *   (energy P3), see powerPeriodOf.
 * - Tariff holidays: the national holidays of fixed date that are not substitutable, and 6 January
 *   (isTariffHoliday); Good Friday, regional and local holidays do not change the period.
 * - Hours are local (Europe/Madrid) clock hours: on the 23-hour spring day 02:00-03:00 does not exist, on the
 *   25-hour autumn day both 02:00-03:00 hours are P6 (or P3) like any 02:00.
 */
import { isTariffHoliday } from '../time/calendar.js';
import { localParts, PLANT_TZ } from '../time/tz.js';

export type AccessTariff = '2.0TD' | '3.0TD' | '6.1TD';

export const ACCESS_TARIFFS: readonly AccessTariff[] = ['2.0TD', '3.0TD', '6.1TD'];

/** Number of energy periods of a tariff: 3 for 2.0TD, 6 for 3.0TD and 6.1TD. */
export function energyPeriods(tariff: AccessTariff): number {
  return tariff === '2.0TD' ? 3 : 6;
}

/** Number of power periods of a tariff: 2 for 2.0TD, 6 for 3.0TD and 6.1TD. */
export function powerPeriods(tariff: AccessTariff): number {
  return tariff === '2.0TD' ? 2 : 6;
}

// Peak period (09-14, 18-22) of a weekday by month 1..12; the shoulder period is the next one.
const PEAK_BY_MONTH = [0, 1, 1, 2, 4, 4, 3, 1, 3, 3, 4, 2, 1];

const HOUR = 3_600_000;
const kinds = new Map<string, { month: number; hour: number; offDay: boolean }>();

/**
 * Local clock facts of an instant: month, hour, and whether the day is a weekend or tariff holiday. Cached per UTC
 * hour (the zones this serves change offset by whole hours only, so every instant of a UTC hour has the same facts).
 */
export function localDayKind(utcMs: number, timezone = PLANT_TZ): { month: number; hour: number; offDay: boolean } {
  const key = `${timezone}|${Math.floor(utcMs / HOUR)}`;
  const hit = kinds.get(key);
  if (hit) return hit;
  if (kinds.size >= 200_000) kinds.clear();
  const kind = computeKind(Math.floor(utcMs / HOUR) * HOUR, timezone);
  kinds.set(key, kind);
  return kind;
}

function computeKind(utcMs: number, timezone: string): { month: number; hour: number; offDay: boolean } {
  const p = localParts(utcMs, timezone);
  const weekday = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
  const date = `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
  return { month: p.month, hour: p.hour, offDay: weekday === 0 || weekday === 6 || isTariffHoliday(date) };
}

/**
 * The energy period (1..6; 1..3 for 2.0TD) of the quarter-hour or instant `utcMs` (UTC milliseconds), on the
 * local clock of `timezone` (Europe/Madrid for the Península). Throws on an unknown tariff.
 */
export function periodOf(tariff: AccessTariff, utcMs: number, timezone = PLANT_TZ): number {
  const { month, hour, offDay } = localDayKind(utcMs, timezone);
  if (tariff === '2.0TD') {
    if (offDay || hour < 8) return 3;
    if ((hour >= 10 && hour < 14) || (hour >= 18 && hour < 22)) return 1;
    return 2;
  }
  if (tariff !== '3.0TD' && tariff !== '6.1TD') throw new Error(`unknown access tariff ${JSON.stringify(tariff)}: expected 2.0TD, 3.0TD or 6.1TD`);
  if (offDay || hour < 8) return 6;
  const peak = PEAK_BY_MONTH[month]!;
  if ((hour >= 9 && hour < 14) || (hour >= 18 && hour < 22)) return peak;
  return peak + 1;
}

/**
 * The power period (1..6; 1..2 for 2.0TD) of `utcMs`: the energy period for 3.0TD and 6.1TD; for 2.0TD P1
 * (punta and llano, weekdays 08-24) or P2 (valle: nights, weekends, holidays).
 */
export function powerPeriodOf(tariff: AccessTariff, utcMs: number, timezone = PLANT_TZ): number {
  const p = periodOf(tariff, utcMs, timezone);
  if (tariff === '2.0TD') return p === 3 ? 2 : 1;
  return p;
}
