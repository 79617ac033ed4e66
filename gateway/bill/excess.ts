/**
 * Excess power (término de excesos de potencia) of a 3.0TD or 6.1TD supply, per calendar month (CNMC Circular
 * 3/2020 art. 9, ../shared/design/energy.md), by how the supply's excess is measured (Contract.excessMetering,
 * gateway/contract/contract.ts; billExcessBreakdown picks the rule):
 *
 * Maxímetro (supplies of 15-50 kW: a 3.0TD with every Pc ≤ 50 kW, or as the contract says), maximetroBreakdown:
 *
 *   FEP = Σ_p 2 × (Pmax,p − Pc,p) × tep × days / 30      (a period whose Pmax,p ≤ Pc,p adds 0)     [€]
 *
 * Pmax,p the highest quarter-hour average demand (4 × kWh) of the month's quarter-hours of period p; days the
 * billing days (local days of the range, a DST day counts one; a month to date its elapsed share), over a 30-day
 * month: the rule's own factor (energy.md; Som Energia's "excesos de potencia" article: "× número de días de la
 * factura / 30", months of thirty days), so a whole January is × 31/30 and a February × 28/30.
 *
 * Quarter-hour meters (supplies above 50 kW, and 6.1TD), excessPowerBreakdown:
 *
 *   FEP = Σ_p Kp × tep × sqrt( Σ_{j in p, Pd_j > Pc,p} (Pd_j − Pc,p)² )      [€]
 *
 * Pd_j is the quarter-hour's average power, 4 × its kWh (never an hourly mean: four quarter-hours of 480 kW
 * and one of 600 kW differ); Pc,p the contracted power (kW) of the quarter-hour's power period; tep €/kW and Kp
 * from the contract. The caller passes one month's quarter-hours (the formula is not additive over days: it
 * takes the square root of the month's sum). Quarter-hours without a measurement (kWh null) add nothing: the bill
 * reports them as missing. Estimated quarter-hours (quality `interpolated`: energy measured, timing not) add nothing
 * either, nor set a maxímetro's Pmax: `estimatedAbove` counts those above Pc. 2.0TD supplies have no quarter-hour
 * excess term (ICP or maxímetro): 0 €.
 * Shared with the site-load power guard (issue #22), so the guard and the bill price an excess alike.
 */
import { powerPeriodOf } from '../contract/calendar.js';
import { excessMeteringOf, type Contract, type ExcessMetering } from '../contract/contract.js';

/** What the formula needs of a quarter-hour: its UTC start, and its average kW (or kWh, × 4). */
export interface DemandQuarterHour {
  start: number;
  kwh: number | null;
  avgKw?: number | null;
  /**
   * gateway/meters/quarter-hours.ts: `interpolated` is an estimate (the energy is measured, its timing is not: a
   * gap bridged, a counter value not timed precisely, the demo's accelerated clock): never priced as an excess, nor
   * a maxímetro's Pmax; counted in `estimatedAbove`. Absent or `measured`: measured (a planner's forecast, too).
   */
  quality?: 'measured' | 'interpolated' | 'missing';
}

export interface ExcessPeriod {
  /** power period 1..6 */
  period: number;
  contractedKw: number;
  kp: number;
  /** quarter-hours of this period whose demand was above the contracted power */
  quarterHoursAbove: number;
  /** Σ (Pd − Pc)², kW² */
  sumSquaresKw2: number;
  /** highest quarter-hour demand of the period, kW (null with no measured quarter-hour): Pmax,p of the maxímetro */
  maxKw: number | null;
  /** UTC start of the (first) quarter-hour with that demand, ms (null with no measured quarter-hour) */
  maxAt: number | null;
  /**
   * quarter-hours of this period whose ESTIMATED demand (quality `interpolated`) was above the contracted power: not
   * priced (an excess the plant may not have had is never billed), reported so that a real one is looked into
   */
  estimatedAbove: number;
  /** highest estimated (interpolated) quarter-hour demand of the period, kW, or null: not Pmax, not priced */
  estimatedMaxKw: number | null;
  /** quarter-hour: Kp × tep × sqrt(Σ (Pd − Pc)²); maxímetro: 2 × max(0, Pmax − Pc) × tep × days / 30; full precision */
  eur: number;
}

export interface ExcessBreakdown {
  /** false for 2.0TD (no excess term) */
  applicable: boolean;
  /** the rule the figures follow (null for 2.0TD) */
  metering: ExcessMetering | null;
  /** maxímetro: the billing days of the `days / 30` factor (null for the quarter-hour formula, not pro-rated) */
  days: number | null;
  eur: number;
  periods: ExcessPeriod[];
}

/** The quarter-hour's average power, kW: avgKw when given, else 4 × kWh; null when not measured. */
export function demandKw(q: DemandQuarterHour): number | null {
  if (q.avgKw !== undefined && q.avgKw !== null) return q.avgKw;
  return q.kwh === null ? null : 4 * q.kwh;
}

/** Per period: the quarter-hours above Pc, Σ (Pd − Pc)², Pmax and when (€ still 0). */
function demandByPeriod(contract: Contract, quarterHours: readonly DemandQuarterHour[], timezone?: string): ExcessPeriod[] {
  const n = contract.contractedKw.length;
  const periods: ExcessPeriod[] = Array.from({ length: n }, (_, i) => ({
    period: i + 1,
    contractedKw: contract.contractedKw[i]!,
    kp: contract.kp[i]!,
    quarterHoursAbove: 0,
    sumSquaresKw2: 0,
    maxKw: null,
    maxAt: null,
    estimatedAbove: 0,
    estimatedMaxKw: null,
    eur: 0,
  }));
  for (const q of quarterHours) {
    const kw = demandKw(q);
    if (kw === null || q.quality === 'missing') continue;
    const p = periods[powerPeriodOf(contract.tariff, q.start, timezone) - 1]!;
    if (q.quality === 'interpolated') {
      p.estimatedMaxKw = Math.max(p.estimatedMaxKw ?? kw, kw);
      if (kw > p.contractedKw) p.estimatedAbove++;
      continue;
    }
    if (p.maxKw === null || kw > p.maxKw || (kw === p.maxKw && q.start < p.maxAt!)) {
      p.maxKw = kw;
      p.maxAt = q.start;
    }
    if (kw > p.contractedKw) {
      p.quarterHoursAbove++;
      p.sumSquaresKw2 += (kw - p.contractedKw) ** 2;
    }
  }
  return periods;
}

/**
 * The monthly excess-power term of the QUARTER-HOUR formula and its per-period breakdown (see the file comment),
 * whatever the contract's excessMetering: the planner's S0 and the site-load bounds use it as such. 0 € for 2.0TD.
 */
export function excessPowerBreakdown(contract: Contract, quarterHours: readonly DemandQuarterHour[], timezone?: string): ExcessBreakdown {
  const periods = demandByPeriod(contract, quarterHours, timezone);
  const applicable = contract.tariff !== '2.0TD';
  for (const p of periods) p.eur = applicable ? p.kp * contract.tepEurKw * Math.sqrt(p.sumSquaresKw2) : 0;
  return { applicable, metering: applicable ? 'quarter-hour' : null, days: null, eur: periods.reduce((s, p) => s + p.eur, 0), periods };
}

/**
 * The monthly excess-power term of the MAXÍMETRO rule (see the file comment): per period 2 × (Pmax,p − Pc,p) × tep
 * × days / 30 when Pmax,p > Pc,p, else 0. `days` are the billing days (gateway/bill/bill.ts powerDays of the range).
 * 0 € for 2.0TD.
 */
export function maximetroBreakdown(contract: Contract, quarterHours: readonly DemandQuarterHour[], days: number, timezone?: string): ExcessBreakdown {
  if (!(days >= 0)) throw new Error(`the maxímetro excess needs the billing days (≥ 0), got ${days}`);
  const periods = demandByPeriod(contract, quarterHours, timezone);
  const applicable = contract.tariff !== '2.0TD';
  for (const p of periods) p.eur = applicable && p.maxKw !== null && p.maxKw > p.contractedKw ? (2 * (p.maxKw - p.contractedKw) * contract.tepEurKw * days) / 30 : 0;
  return { applicable, metering: applicable ? 'maximetro' : null, days: applicable ? days : null, eur: periods.reduce((s, p) => s + p.eur, 0), periods };
}

/**
 * The excess term as the bill charges it: the maxímetro rule or the quarter-hour formula by the contract's
 * excessMetering (excessMeteringOf), or by `rule` when given (the planner's bill keeps the quarter-hour formula).
 */
export function billExcessBreakdown(contract: Contract, quarterHours: readonly DemandQuarterHour[], days: number, timezone?: string, rule?: ExcessMetering): ExcessBreakdown {
  return (rule ?? excessMeteringOf(contract)) === 'maximetro' ? maximetroBreakdown(contract, quarterHours, days, timezone) : excessPowerBreakdown(contract, quarterHours, timezone);
}

/** The monthly excess-power term of the quarter-hour formula, € (full precision; round at output). */
export function excessPowerEur(contract: Contract, quarterHours: readonly DemandQuarterHour[], timezone?: string): number {
  return excessPowerBreakdown(contract, quarterHours, timezone).eur;
}
