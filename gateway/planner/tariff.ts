import { periodOf, type AccessTariff } from '../contract/calendar.js';

/**
 * The planner's tariff: the access tariff whose period calendar (gateway/contract/calendar.ts, CNMC Circular
 * 3/2020) labels each slot, and a €/kWh adder per period that the planner adds to the market price.
 */
export interface TariffCalendar {
  name: AccessTariff;
  adders: Record<string, number>;
}

/** 2.0TD (Península): P1 10-14 and 18-22, P2 8-10, 14-18, 22-24, P3 0-8; weekends and tariff holidays P3. Adders are examples. */
export const TARIFF_20TD: TariffCalendar = {
  name: '2.0TD',
  adders: { P1: 0.075, P2: 0.04, P3: 0.005 },
};

/**
 * 3.0TD (Península, CNMC Circular 3/2020: seasons by month, peak hours on weekdays, P6 nights, weekends and tariff
 * holidays). Adders are illustrative: a plant enters its own contract.
 */
export const TARIFF_30TD: TariffCalendar = {
  name: '3.0TD',
  adders: { P1: 0.028, P2: 0.022, P3: 0.013, P4: 0.009, P5: 0.005, P6: 0.002 },
};

export const TARIFFS: Record<string, TariffCalendar> = { '2.0TD': TARIFF_20TD, '3.0TD': TARIFF_30TD };

/** The tariff period at instant `t`, 'P1'..'P6' (local clock hours; weekends and tariff holidays fall to the off period). */
export function tariffPeriod(calendar: TariffCalendar, t: number, timezone = 'Europe/Madrid'): string {
  return `P${periodOf(calendar.name, t, timezone)}`;
}
