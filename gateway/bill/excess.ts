/**
 * Excess power (término de excesos de potencia) of a 3.0TD or 6.1TD supply with a quarter-hour meter, per
 * calendar month (CNMC Circular 3/2020 art. 9, ../shared/design/energy.md):
 *
 *   FEP = Σ_p Kp × tep × sqrt( Σ_{j in p, Pd_j > Pc,p} (Pd_j − Pc,p)² )      [€]
 *
 * Pd_j is the quarter-hour's average power, 4 × its kWh (never an hourly mean: four quarter-hours of 480 kW
 * and one of 600 kW differ); Pc,p the contracted power (kW) of the quarter-hour's power period; tep €/kW and Kp
 * from the contract. The caller passes one month's quarter-hours (the formula is not additive over days: it
 * takes the square root of the month's sum). Quarter-hours without a measurement (kWh null) add nothing: the bill
 * reports them as missing. 2.0TD supplies have no quarter-hour excess term (ICP or maxímetro): 0 €.
 * Shared with the site-load power guard (issue #22), so the guard and the bill price an excess alike.
 */
import { powerPeriodOf } from '../contract/calendar.js';
import type { Contract } from '../contract/contract.js';

/** What the formula needs of a quarter-hour: its UTC start, and its average kW (or kWh, × 4). */
export interface DemandQuarterHour {
  start: number;
  kwh: number | null;
  avgKw?: number | null;
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
  /** highest quarter-hour demand of the period, kW (null with no measured quarter-hour) */
  maxKw: number | null;
  /** Kp × tep × sqrt(Σ (Pd − Pc)²), full precision */
  eur: number;
}

export interface ExcessBreakdown {
  /** false for 2.0TD (no quarter-hour excess term) */
  applicable: boolean;
  eur: number;
  periods: ExcessPeriod[];
}

/** The quarter-hour's average power, kW: avgKw when given, else 4 × kWh; null when not measured. */
export function demandKw(q: DemandQuarterHour): number | null {
  if (q.avgKw !== undefined && q.avgKw !== null) return q.avgKw;
  return q.kwh === null ? null : 4 * q.kwh;
}

/** The monthly excess-power term and its per-period breakdown (see the file comment). */
export function excessPowerBreakdown(contract: Contract, quarterHours: readonly DemandQuarterHour[], timezone?: string): ExcessBreakdown {
  const n = contract.contractedKw.length;
  const periods: ExcessPeriod[] = Array.from({ length: n }, (_, i) => ({
    period: i + 1,
    contractedKw: contract.contractedKw[i]!,
    kp: contract.kp[i]!,
    quarterHoursAbove: 0,
    sumSquaresKw2: 0,
    maxKw: null,
    eur: 0,
  }));
  for (const q of quarterHours) {
    const kw = demandKw(q);
    if (kw === null) continue;
    const p = periods[powerPeriodOf(contract.tariff, q.start, timezone) - 1]!;
    p.maxKw = p.maxKw === null ? kw : Math.max(p.maxKw, kw);
    if (kw > p.contractedKw) {
      p.quarterHoursAbove++;
      p.sumSquaresKw2 += (kw - p.contractedKw) ** 2;
    }
  }
  const applicable = contract.tariff !== '2.0TD';
  for (const p of periods) p.eur = applicable ? p.kp * contract.tepEurKw * Math.sqrt(p.sumSquaresKw2) : 0;
  return { applicable, eur: periods.reduce((s, p) => s + p.eur, 0), periods };
}

/** The monthly excess-power term, € (full precision; round at output). */
export function excessPowerEur(contract: Contract, quarterHours: readonly DemandQuarterHour[], timezone?: string): number {
  return excessPowerBreakdown(contract, quarterHours, timezone).eur;
}
