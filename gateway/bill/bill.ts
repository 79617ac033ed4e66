/**
 * The electricity bill of a supply point (or the energy share of a line submeter), from quarter-hour meter
 * readings, quarter-hour day-ahead prices and the contract. Pure: no store, no clock; the gateway plugin
 * (plugins/bill) and the `bill` CLI call the same functions.
 *
 * Terms (../shared/design/energy.md; README "The bill"):
 * - energy  = Σ_q kWh_q × (OMIE_q + margin) / 1000 + Σ_q kWh_q × tollsAndCharges[period(q)]   (indexed)
 *           = Σ_q kWh_q × fixed[period(q)]                                                   (fixed)
 * - power   = Σ_p Pc,p × price_p × days / 365; `days` counts the local days of the range, a partial day (today
 *             so far) as its elapsed fraction, so the power term accrues through the day
 * - excess  = the monthly excess term of gateway/bill/excess.ts on the range's quarter-hours (a month, or a month to
 *             date), by the contract's excessMetering: quarter-hour FEP = Σ_p Kp × tep × sqrt(Σ (Pd − Pc)²), or
 *             maxímetro Σ_p 2 × (Pmax,p − Pc,p) × tep × days / 30 with `days` the power term's days
 * - tax     = electricityTaxPct % × (energy + power + excess)
 * - VAT     = vatPct % × (energy + power + excess + tax)
 * All in full precision; billAmounts rounds each term to the cent (gateway/bill/money.ts), total = Σ rounded terms.
 */
import { periodOf, powerPeriodOf } from '../contract/calendar.js';
import type { Contract, ExcessMetering } from '../contract/contract.js';
import type { QuarterHourQuality } from '../meters/quarter-hours.js';
import { QUARTER_HOUR_MS } from '../series/slots.js';
import { addDays, localDate, localDayRange, PLANT_TZ } from '../time/tz.js';
import { billExcessBreakdown, type DemandQuarterHour, type ExcessBreakdown } from './excess.js';
import { cents, round3 } from './money.js';

export interface BillQuarterHour extends DemandQuarterHour {
  /** absent: measured when kWh is given, missing when null */
  quality?: QuarterHourQuality;
}

export interface EnergyPeriod {
  period: number;
  kwh: number;
  /** kWh × (OMIE + margin) / 1000 (indexed) or kWh × fixed price, € */
  energyPriceEur: number;
  /** kWh × tolls and charges (indexed contracts; 0 for fixed, whose price holds them), € */
  tollsEur: number;
  eur: number;
}

export interface PowerPeriod {
  period: number;
  contractedKw: number;
  eurKwYear: number;
  days: number;
  eur: number;
}

export interface Coverage {
  /** quarter-hours in the range (92/96/100 a local day) */
  expected: number;
  measured: number;
  interpolated: number;
  /** flagged missing by the meter, or absent */
  missing: number;
  /** quarter-hours with energy but without a price (indexed contracts) */
  unpriced: number;
}

/** One bill over [start, end) UTC ms: every term in full precision (€), by period. */
export interface BillPart {
  start: number;
  end: number;
  /** days of the range for the power term (fractional for a partial day) */
  days: number;
  kwh: number;
  energy: EnergyPeriod[];
  power: PowerPeriod[];
  /** null when not computed (a day: the excess term is monthly) */
  excess: ExcessBreakdown | null;
  energyEur: number;
  powerEur: number;
  excessEur: number;
  taxEur: number;
  vatEur: number;
  coverage: Coverage;
  /** energy only: a line submeter (power and excess belong to the supply point) */
  energyOnly: boolean;
}

export interface BillOptions {
  /** compute the monthly excess term over the range (a calendar month or a month to date) */
  excess?: boolean;
  /** a line submeter: energy term only (with tax and VAT on it) */
  energyOnly?: boolean;
  /** price the excess by this rule instead of the contract's excessMetering (the planner's quarter-hour view) */
  excessRule?: ExcessMetering;
  timezone?: string;
}

/** Days of [start, end) for the power term: whole local days count 1, a partial one its elapsed share (23/24/25 h days). */
export function powerDays(start: number, end: number, timezone = PLANT_TZ): number {
  let days = 0;
  for (let date = localDate(start, timezone); ; date = addDays(date, 1)) {
    const d = localDayRange(date, timezone);
    if (d.start >= end) break;
    const overlap = Math.min(end, d.end) - Math.max(start, d.start);
    if (overlap > 0) days += overlap / (d.end - d.start);
  }
  return days;
}

/**
 * The bill of [start, end) from `quarterHours` (those starting outside the range are ignored) and `pricesEurMwh`
 * (quarter-hour start → €/MWh, gateway/bill/prices.ts). A quarter-hour without energy is counted missing, one
 * with energy but no price (indexed) unpriced: neither is guessed.
 */
export function computeBill(contract: Contract, start: number, end: number, quarterHours: readonly BillQuarterHour[], pricesEurMwh: ReadonlyMap<number, number>, options: BillOptions = {}): BillPart {
  const tz = options.timezone ?? PLANT_TZ;
  const energy: EnergyPeriod[] = contract.tollsAndChargesEurKwh.map((_, i) => ({ period: i + 1, kwh: 0, energyPriceEur: 0, tollsEur: 0, eur: 0 }));
  const coverage: Coverage = { expected: Math.round((end - start) / QUARTER_HOUR_MS), measured: 0, interpolated: 0, missing: 0, unpriced: 0 };
  const inRange: BillQuarterHour[] = [];
  const seen = new Set<number>();
  let kwh = 0;
  for (const q of quarterHours) {
    if (q.start < start || q.start >= end || seen.has(q.start)) continue;
    seen.add(q.start);
    inRange.push(q);
    if (q.kwh === null || q.quality === 'missing') continue;
    if (q.quality === 'interpolated') coverage.interpolated++;
    else coverage.measured++;
    const p = periodOf(contract.tariff, q.start, tz);
    const e = energy[p - 1]!;
    let priceEur: number;
    let tolls = 0;
    if ('fixed' in contract.energy) priceEur = q.kwh * contract.energy.fixed[p - 1]!;
    else {
      const omie = pricesEurMwh.get(q.start);
      if (omie === undefined) {
        coverage.unpriced++;
        e.kwh += q.kwh;
        kwh += q.kwh;
        continue;
      }
      priceEur = (q.kwh * (omie + contract.energy.indexed.marginEurMwh)) / 1000;
      tolls = q.kwh * contract.tollsAndChargesEurKwh[p - 1]!;
    }
    e.kwh += q.kwh;
    e.energyPriceEur += priceEur;
    e.tollsEur += tolls;
    e.eur += priceEur + tolls;
    kwh += q.kwh;
  }
  coverage.missing = coverage.expected - coverage.measured - coverage.interpolated;
  const days = powerDays(start, end, tz);
  const power: PowerPeriod[] = options.energyOnly
    ? []
    : contract.contractedKw.map((kw, i) => ({ period: i + 1, contractedKw: kw, eurKwYear: contract.powerPriceEurKwYear[i]!, days, eur: (kw * contract.powerPriceEurKwYear[i]! * days) / 365 }));
  const excess = options.excess && !options.energyOnly ? billExcessBreakdown(contract, inRange.filter((q) => q.quality !== 'missing'), days, tz, options.excessRule) : null;
  const energyEur = energy.reduce((s, e) => s + e.eur, 0);
  const powerEur = power.reduce((s, p) => s + p.eur, 0);
  const excessEur = excess?.eur ?? 0;
  const { taxEur, vatEur } = taxesOn(energyEur + powerEur + excessEur, contract);
  return { start, end, days, kwh, energy, power, excess, energyEur, powerEur, excessEur, taxEur, vatEur, coverage, energyOnly: !!options.energyOnly };
}

/** The bill's terms to the cent (each rounded once from full precision) and their sum. */
export interface BillAmounts {
  energy_kwh: number;
  energy_eur: number;
  power_eur: number;
  excess_eur: number;
  tax_eur: number;
  vat_eur: number;
  total_eur: number;
}

export function billAmounts(part: Pick<BillPart, 'kwh' | 'energyEur' | 'powerEur' | 'excessEur' | 'taxEur' | 'vatEur'>): BillAmounts {
  const energy = cents(part.energyEur);
  const power = cents(part.powerEur);
  const excess = cents(part.excessEur);
  const tax = cents(part.taxEur);
  const vat = cents(part.vatEur);
  return { energy_kwh: round3(part.kwh), energy_eur: energy, power_eur: power, excess_eur: excess, tax_eur: tax, vat_eur: vat, total_eur: cents(energy + power + excess + tax + vat) };
}

/** Sum of bills' rounded amounts (a total line that adds up its month lines). */
export function sumAmounts(list: readonly BillAmounts[]): BillAmounts {
  const out: BillAmounts = { energy_kwh: 0, energy_eur: 0, power_eur: 0, excess_eur: 0, tax_eur: 0, vat_eur: 0, total_eur: 0 };
  for (const a of list) for (const k of Object.keys(out) as Array<keyof BillAmounts>) out[k] += a[k];
  for (const k of Object.keys(out) as Array<keyof BillAmounts>) out[k] = k === 'energy_kwh' ? round3(out[k]) : cents(out[k]);
  return out;
}

/** [start, end) UTC ms of local calendar month `month` (YYYY-MM). */
export function monthRange(month: string, timezone = PLANT_TZ): { start: number; end: number } {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new Error(`expected a month as YYYY-MM, got ${JSON.stringify(month)}`);
  const first = `${month}-01`;
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return { start: localDayRange(first, timezone).start, end: localDayRange(next, timezone).start };
}

/** The local months (YYYY-MM) that [start, end) touches, in order. */
export function monthsOf(start: number, end: number, timezone = PLANT_TZ): string[] {
  const out: string[] = [];
  for (let date = localDate(start, timezone).slice(0, 7); ; ) {
    const r = monthRange(date, timezone);
    if (r.start >= end) break;
    out.push(date);
    const [y, m] = date.split('-').map(Number) as [number, number];
    date = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  }
  return out;
}

/**
 * A month-to-date bill projected to the month's end, labelled a forecast: the energy term scaled by the month's
 * quarter-hours over those elapsed (the same consumption pattern for the rest of the month), the power term for
 * the whole month, the excess so far (a floor: later spikes would add to it; a maxímetro's Pmax so far over the
 * whole month's days / 30), tax and VAT on these.
 */
export function projectMonth(contract: Contract, toDate: BillPart, monthEnd: number, timezone = PLANT_TZ): Pick<BillPart, 'kwh' | 'energyEur' | 'powerEur' | 'excessEur' | 'taxEur' | 'vatEur'> {
  const elapsed = toDate.coverage.measured + toDate.coverage.interpolated;
  const monthQuarterHours = Math.round((monthEnd - toDate.start) / QUARTER_HOUR_MS);
  const factor = elapsed > 0 ? monthQuarterHours / elapsed : 0;
  const days = powerDays(toDate.start, monthEnd, timezone);
  const energyEur = toDate.energyEur * factor;
  const powerEur = toDate.energyOnly ? 0 : contract.contractedKw.reduce((s, kw, i) => s + (kw * contract.powerPriceEurKwYear[i]! * days) / 365, 0);
  // the maxímetro's days / 30 runs with the billing days: the month's, as the power term's
  const excessEur = toDate.excess?.metering === 'maximetro' && toDate.days > 0 ? (toDate.excessEur * days) / toDate.days : toDate.excessEur;
  const { taxEur, vatEur } = taxesOn(energyEur + powerEur + excessEur, contract);
  return { kwh: toDate.kwh * factor, energyEur, powerEur, excessEur, taxEur, vatEur };
}

/**
 * The taxes on `baseEur` (energy + power + excess, €, full precision) under `contract`: the electricity tax
 * electricityTaxPct % of the base, and VAT vatPct % of the base plus that tax. The one formula of the bill's taxes
 * (a day, a month's projection, a closed month's excess).
 */
export function taxesOn(baseEur: number, contract: Pick<Contract, 'electricityTaxPct' | 'vatPct'>): { taxEur: number; vatEur: number } {
  const taxEur = (baseEur * contract.electricityTaxPct) / 100;
  const vatEur = ((baseEur + taxEur) * contract.vatPct) / 100;
  return { taxEur, vatEur };
}

export { powerPeriodOf };
