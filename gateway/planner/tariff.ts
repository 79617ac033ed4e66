import { isNationalHoliday } from '../time/calendar.js';
import { localDate, localParts } from '../time/tz.js';

/** A tariff as data: period rules tried in order (first match wins) and a €/kWh adder per period. */
export interface TariffCalendar {
  name: string;
  rules: Array<{ period: string; months?: number[]; weekdays?: number[]; hours?: number[]; holidays?: boolean }>;
  /** Period for weekends and national holidays when no rule says otherwise. */
  offPeriod: string;
  adders: Record<string, number>;
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const WEEKDAYS = [1, 2, 3, 4, 5];

/** 2.0TD (Península): P1 10-14 and 18-22, P2 8-10, 14-18, 22-24, P3 0-8; weekends and national holidays P3. Adders are examples. */
export const TARIFF_20TD: TariffCalendar = {
  name: '2.0TD',
  rules: [
    { period: 'P1', weekdays: WEEKDAYS, hours: [...range(10, 14), ...range(18, 22)] },
    { period: 'P2', weekdays: WEEKDAYS, hours: [8, 9, ...range(14, 18), 22, 23] },
    { period: 'P3', weekdays: WEEKDAYS, hours: range(0, 8) },
  ],
  offPeriod: 'P3',
  adders: { P1: 0.075, P2: 0.04, P3: 0.005 },
};

/**
 * A 3.0TD/6.1TD-style six-period calendar (Península, CNMC Circular 3/2020 structure: seasons by month, peak
 * hours on weekdays, P6 nights, weekends and holidays). Adders are illustrative: a plant enters its own contract.
 */
export const TARIFF_30TD: TariffCalendar = {
  name: '3.0TD',
  rules: [
    { period: 'P1', months: [1, 2, 7, 12], weekdays: WEEKDAYS, hours: [...range(9, 14), ...range(18, 22)] },
    { period: 'P2', months: [1, 2, 7, 12], weekdays: WEEKDAYS, hours: [8, ...range(14, 18), 22, 23] },
    { period: 'P2', months: [3, 11], weekdays: WEEKDAYS, hours: [...range(9, 14), ...range(18, 22)] },
    { period: 'P3', months: [3, 11], weekdays: WEEKDAYS, hours: [8, ...range(14, 18), 22, 23] },
    { period: 'P3', months: [6, 8, 9], weekdays: WEEKDAYS, hours: [...range(9, 14), ...range(18, 22)] },
    { period: 'P4', months: [6, 8, 9], weekdays: WEEKDAYS, hours: [8, ...range(14, 18), 22, 23] },
    { period: 'P4', months: [4, 5, 10], weekdays: WEEKDAYS, hours: [...range(9, 14), ...range(18, 22)] },
    { period: 'P5', months: [4, 5, 10], weekdays: WEEKDAYS, hours: [8, ...range(14, 18), 22, 23] },
    { period: 'P6', hours: range(0, 8) },
  ],
  offPeriod: 'P6',
  adders: { P1: 0.028, P2: 0.022, P3: 0.013, P4: 0.009, P5: 0.005, P6: 0.002 },
};

export const TARIFFS: Record<string, TariffCalendar> = { '2.0TD': TARIFF_20TD, '3.0TD': TARIFF_30TD };

/** The tariff period at instant `t` (local clock hours; weekends and national holidays fall to the off period). */
export function tariffPeriod(calendar: TariffCalendar, t: number, timezone = 'Europe/Madrid'): string {
  const p = localParts(t, timezone);
  const weekday = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
  const offDay = weekday === 0 || weekday === 6 || isNationalHoliday(localDate(t, timezone));
  for (const r of calendar.rules) {
    if (r.months && !r.months.includes(p.month)) continue;
    if (r.weekdays && (offDay || !r.weekdays.includes(weekday))) continue;
    if (r.hours && !r.hours.includes(p.hour)) continue;
    return r.period;
  }
  return calendar.offPeriod;
}
