/** Spanish national holidays by rule (never a per-year table): fixed dates plus Good Friday. */
export function easterSunday(year: number): { month: number; day: number } {
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return { month, day };
}

const FIXED = new Set(['01-01', '01-06', '05-01', '08-15', '10-12', '11-01', '12-06', '12-08', '12-25']);

/**
 * A holiday of the access-tariff calendar (CNMC Circular 3/2020, BOE-A-2020-1066): the national holidays of fixed
 * date that no region may substitute, plus 6 January — 1 Jan, 6 Jan, 1 May, 15 Aug, 12 Oct, 1 Nov, 6 Dec, 8 Dec,
 * 25 Dec. Good Friday (no fixed date), regional and local holidays do not change the tariff period.
 */
export function isTariffHoliday(date: string): boolean {
  return FIXED.has(date.slice(5));
}

/** National holiday in Spain on local date YYYY-MM-DD (fixed national days and Good Friday). */
export function isNationalHoliday(date: string): boolean {
  if (FIXED.has(date.slice(5))) return true;
  const year = Number(date.slice(0, 4));
  const { month, day } = easterSunday(year);
  const goodFriday = new Date(Date.UTC(year, month - 1, day - 2));
  return date === goodFriday.toISOString().slice(0, 10);
}
