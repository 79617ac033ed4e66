/**
 * Contracted-power advice: from up to 12 months of a supply's quarter-hours, the contracted powers Pc1 … Pc6
 * (kW, non-decreasing, on a step grid) that minimise the power term plus the excess-power term of those months,
 * with the cost of the current contract beside it.
 *
 * The cost of a set Pc (source: CNMC Circular 3/2020 art. 9, the formulas of ../../../shared/design/energy.md,
 * computed exactly as the bill computes them):
 *   power  = Σ_p Pc,p × price_p (€/kW·year) × days / 365        days = local days the readings cover
 *   excess = Σ_months Σ_p Kp × tep × sqrt( Σ_{j in p, month, Pd_j > Pc,p} (Pd_j − Pc,p)² )   Pd_j = 4 × kWh_j
 * Months are local (Europe/Madrid) calendar months; the excess is not pro-rated (whole months, as the bill CLI).
 *
 * Method: the cost is a sum of one convex function per period (a linear term plus, per month, the Euclidean norm
 * of the positive parts of Pd − x), and the only coupling is Pc1 ≤ Pc2 ≤ … ≤ Pc6. The minimiser of a separable
 * convex function under a chain order is found exactly by pool-adjacent-violators (Best, Chakravarti & Ubhaya,
 * "Minimizing separable convex functions subject to simple chain constraints", SIAM J. Optim. 10, 2000): minimise
 * each period alone; while a period's optimum is below the previous one's, pool them and minimise their sum.
 * Each one-dimensional minimisation is a discrete ternary search on the step grid (integer kW by default); a
 * convex function restricted to a grid is discretely convex, so the search is exact on the grid. Each evaluation
 * is O(months × log n) with per-month sorted demands and prefix sums.
 *
 * Scope: 3.0TD and 6.1TD supplies with quarter-hour meters (the formula above). 2.0TD and supplies of 15-50 kW
 * billed on a maxímetro (Contract.excessMetering, derived or configured) are refused (their excess is billed otherwise). The regulation's other rules on a change
 * of contracted power (at most one change a year, the distributor's fees, minimum powers of the tariff) are not
 * modelled: the advice is the € of the readings' months under each contract, to be checked against them.
 */
import { localDate, localParts } from '../time/tz.js';
import { InputError } from '../config/cli-input.js';
import { powerPeriodOf, type AccessTariff } from './calendar.js';
import { excessMeteringOf, type ExcessMetering } from './contract.js';

/** What the advice needs of a contract (the contract of gateway/contract satisfies it). Arrays are P1..P6. */
export interface PowerContract {
  tariff: AccessTariff;
  /** kW per power period, non-decreasing. */
  contractedKw: readonly number[];
  /** €/kW·year per power period. */
  powerPriceEurKwYear: readonly number[];
  /** €/kW, the excess-power price tep. */
  tepEurKw: number;
  /** Kp per power period. */
  kp: readonly number[];
  /** How the excess is billed (Contract.excessMetering); absent: derived from tariff and powers. A maxímetro is refused. */
  excessMetering?: ExcessMetering | null;
}

/** One quarter-hour of a site meter: its UTC start (ms) and the kWh imported in [start, start + 15 min). */
export interface QuarterHourKwh {
  start: number;
  kwh: number;
}

export interface PowerCost {
  powerEur: number;
  excessEur: number;
  totalEur: number;
  /** Per power period: power € and excess € (index 0 = P1). */
  perPeriod: Array<{ powerEur: number; excessEur: number }>;
}

export interface PowerAdvice {
  /**
   * Advised contracted power per period, kW, non-decreasing. A period without a quarter-hour in the readings keeps
   * its current contracted power (never 0 kW), moved only as far as the order requires (see warnings).
   */
  advisedKw: number[];
  current: PowerCost;
  advised: PowerCost;
  /** current − advised, € over the readings' months (≥ 0 up to the grid step). */
  savingEur: number;
  days: number;
  months: string[];
  quarterHours: number;
  /** Highest quarter-hour demand per period, kW. */
  peakKw: number[];
  /** Quarter-hours of the readings in each power period (index 0 = P1). */
  periodQuarterHours: number[];
  /**
   * Why the advice may not hold, one sentence each (empty when the readings cover a full year and every period):
   * readings of less than a year (`FULL_YEAR_DAYS`), periods with no quarter-hours, periods with fewer than
   * `FEW_PERIOD_QUARTER_HOURS`.
   */
  warnings: string[];
}

export interface AdviseOptions {
  /** Grid step of the advised powers, kW (1 by default). */
  stepKw?: number;
  /** Lowest power the advice may give any period, kW (0 by default). */
  minKw?: number;
  timezone?: string;
}

/** Bad input for the advice: the message is one sentence for the user. */
export class AdviceInputError extends InputError {}

const QUARTER_HOUR_MS = 900_000;
/** 12 months at most: a leap year's 366 days. */
const MAX_DAYS = 366;
/** A full year of readings: fewer days than this and the advice misses a season (and weighs a fraction of the power term). */
export const FULL_YEAR_DAYS = 365;
/** A period with fewer quarter-hours than 10 whole days' worth is advised on little evidence. */
export const FEW_PERIOD_QUARTER_HOURS = 960;

/** Demands of one period in one month, sorted high to low, with prefix sums of x and x² for O(log n) excess. */
class MonthDemands {
  readonly sorted: Float64Array;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;
  constructor(values: number[]) {
    this.sorted = Float64Array.from(values).sort().reverse();
    this.s1 = new Float64Array(this.sorted.length + 1);
    this.s2 = new Float64Array(this.sorted.length + 1);
    for (let i = 0; i < this.sorted.length; i++) {
      this.s1[i + 1] = this.s1[i]! + this.sorted[i]!;
      this.s2[i + 1] = this.s2[i]! + this.sorted[i]! ** 2;
    }
  }
  /** Σ over demands above x of (d − x)², kW². */
  squaredExcess(x: number): number {
    // k = number of demands strictly above x (sorted descending).
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! > x) lo = mid + 1;
      else hi = mid;
    }
    const k = lo;
    if (k === 0) return 0;
    // Σ (d − x)² = Σd² − 2xΣd + kx²; clamp the rounding noise of the subtraction at 0.
    return Math.max(0, this.s2[k]! - 2 * x * this.s1[k]! + k * x * x);
  }
}

interface Prepared {
  /** byPeriod[p] = the months' demands of power period p + 1. */
  byPeriod: MonthDemands[][];
  days: number;
  months: string[];
  peakKw: number[];
  periods: number;
}

function checkContract(contract: PowerContract): number {
  if (contract.tariff !== '3.0TD' && contract.tariff !== '6.1TD') {
    throw new AdviceInputError(`the contracted-power advice covers 3.0TD and 6.1TD supplies with quarter-hour meters, not ${contract.tariff} (its excess power is billed otherwise)`);
  }
  if (excessMeteringOf({ tariff: contract.tariff, contractedKw: [...contract.contractedKw], excessMetering: contract.excessMetering }) === 'maximetro') {
    throw new AdviceInputError(`the contracted-power advice covers supplies whose excess is billed quarter-hour by quarter-hour, not this ${contract.tariff} supply on a maxímetro (every contracted power ≤ 50 kW, or excessMetering: maximetro), whose excess is 2 × (Pmax − Pc) × tep per period`);
  }
  const n = 6;
  for (const [name, values] of [['contractedKw', contract.contractedKw], ['powerPriceEurKwYear', contract.powerPriceEurKwYear], ['kp', contract.kp]] as const) {
    if (values.length !== n || values.some((v) => !Number.isFinite(v) || v < 0)) throw new AdviceInputError(`contract ${name} must hold ${n} non-negative numbers (P1..P6), got ${JSON.stringify(values)}`);
  }
  if (!(contract.tepEurKw >= 0)) throw new AdviceInputError(`contract tepEurKw must be a non-negative number, got ${contract.tepEurKw}`);
  return n;
}

/** Checks the quarter-hours (sorted, aligned, non-negative, at most 12 months) and groups them by period and month. */
function prepare(contract: PowerContract, quarterHours: readonly QuarterHourKwh[], timezone: string): Prepared {
  const periods = checkContract(contract);
  if (!quarterHours.length) throw new AdviceInputError('the readings hold no quarter-hour, so there is nothing to advise on');
  const groups: Array<Map<string, number[]>> = Array.from({ length: periods }, () => new Map());
  const dates = new Set<string>();
  const peakKw = new Array<number>(periods).fill(0);
  let previous = -Infinity;
  for (const [i, q] of quarterHours.entries()) {
    if (!Number.isFinite(q.start) || q.start % QUARTER_HOUR_MS !== 0) throw new AdviceInputError(`quarter-hour ${i + 1} does not start on a quarter-hour (${new Date(q.start).toISOString()})`);
    if (q.start <= previous) throw new AdviceInputError(`quarter-hour ${i + 1} (${new Date(q.start).toISOString()}) is not after the one before it: the readings must be sorted without duplicates`);
    if (!Number.isFinite(q.kwh) || q.kwh < 0) throw new AdviceInputError(`quarter-hour ${i + 1} (${new Date(q.start).toISOString()}) has kWh ${q.kwh}; it must be a non-negative number`);
    previous = q.start;
    const p = powerPeriodOf(contract.tariff, q.start, timezone) - 1;
    const lp = localParts(q.start, timezone);
    const month = `${lp.year}-${String(lp.month).padStart(2, '0')}`;
    const kw = 4 * q.kwh;
    const list = groups[p]!.get(month) ?? [];
    list.push(kw);
    groups[p]!.set(month, list);
    peakKw[p] = Math.max(peakKw[p]!, kw);
    dates.add(localDate(q.start, timezone));
  }
  if (dates.size > MAX_DAYS) throw new AdviceInputError(`the readings cover ${dates.size} days; the advice uses at most 12 months (${MAX_DAYS} days), so pass the last year only`);
  const months = [...new Set(groups.flatMap((g) => [...g.keys()]))].sort();
  return { byPeriod: groups.map((g) => [...g.values()].map((v) => new MonthDemands(v))), days: dates.size, months, peakKw, periods };
}

function periodCost(prep: Prepared, contract: PowerContract, p: number, x: number): { powerEur: number; excessEur: number } {
  const powerEur = x * contract.powerPriceEurKwYear[p]! * (prep.days / 365);
  let excessEur = 0;
  for (const month of prep.byPeriod[p]!) excessEur += contract.kp[p]! * contract.tepEurKw * Math.sqrt(month.squaredExcess(x));
  return { powerEur, excessEur };
}

function costOf(prep: Prepared, contract: PowerContract, kw: readonly number[]): PowerCost {
  const perPeriod = kw.map((x, p) => periodCost(prep, contract, p, x));
  const powerEur = perPeriod.reduce((s, c) => s + c.powerEur, 0);
  const excessEur = perPeriod.reduce((s, c) => s + c.excessEur, 0);
  return { powerEur, excessEur, totalEur: powerEur + excessEur, perPeriod };
}

/** The finest grid step of the advice, kW (1 W: contracts are written in kW to 3 decimals). */
export const MIN_STEP_KW = 0.001;
/** The coarsest grid step of the advice, kW. */
export const MAX_STEP_KW = 100;
/** At most this many grid points between the lowest and the highest power searched. */
export const MAX_GRID_POINTS = 100_000_000;

/**
 * The grid index k in [lo, hi] minimising the discretely convex f(k) (ties: the lowest k). lo and hi must be safe
 * integers (a third of a gap over 2 is then at least 1: every round narrows the range).
 */
function argminConvex(f: (k: number) => number, lo: number, hi: number): number {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) throw new RangeError(`argminConvex needs integer grid indices, got [${lo}, ${hi}]`);
  while (hi - lo > 2) {
    const a = lo + Math.floor((hi - lo) / 3);
    const b = hi - Math.floor((hi - lo) / 3);
    if (f(a) <= f(b)) hi = b;
    else lo = a;
  }
  let best = lo;
  for (let k = lo + 1; k <= hi; k++) if (f(k) < f(best) - 1e-12) best = k;
  return best;
}

/**
 * The power + excess cost of `quarterHours` under `contract.contractedKw` and under the advised powers.
 * Errors: AdviceInputError (one sentence) for an unsupported tariff, a malformed contract, or readings that are
 * empty, unsorted, duplicated, off the quarter-hour grid, negative, or longer than 12 months.
 */
export function advisePower(contract: PowerContract, quarterHours: readonly QuarterHourKwh[], options: AdviseOptions = {}): PowerAdvice {
  const timezone = options.timezone ?? 'Europe/Madrid';
  const step = options.stepKw ?? 1;
  if (!(step >= MIN_STEP_KW && step <= MAX_STEP_KW)) throw new AdviceInputError(`the step of the advised powers must be between ${MIN_STEP_KW} kW (1 W, the resolution a contract is written in) and ${MAX_STEP_KW} kW, got ${step}`);
  const prep = prepare(contract, quarterHours, timezone);
  const minK = Math.ceil((options.minKw ?? 0) / step);
  const maxK = Math.max(minK, Math.ceil(Math.max(...prep.peakKw) / step));
  // The search runs over integer grid indices: beyond MAX_GRID_POINTS (or where floats stop being whole numbers) it
  // would be slow or make no progress at all, and it runs on the gateway's one thread.
  if (!Number.isSafeInteger(maxK) || maxK - minK > MAX_GRID_POINTS) throw new AdviceInputError(`a step of ${step} kW up to the peak of ${round3(Math.max(...prep.peakKw))} kW is more than ${MAX_GRID_POINTS} grid points: use a coarser step`);
  const blockCost = (ps: number[], k: number) => ps.reduce((s, p) => {
    const c = periodCost(prep, contract, p, k * step);
    return s + c.powerEur + c.excessEur;
  }, 0);
  // Pool adjacent violators over the chain P1 ≤ … ≤ P6.
  const blocks: Array<{ periods: number[]; k: number }> = [];
  for (let p = 0; p < prep.periods; p++) {
    let block = { periods: [p], k: argminConvex((k) => blockCost([p], k), minK, maxK) };
    while (blocks.length && blocks.at(-1)!.k > block.k) {
      const merged = [...blocks.pop()!.periods, ...block.periods];
      block = { periods: merged, k: argminConvex((k) => blockCost(merged, k), minK, maxK) };
    }
    blocks.push(block);
  }
  const pooled = blocks.flatMap((b) => b.periods.map(() => round3(b.k * step)));
  const periodQuarterHours = prep.byPeriod.map((months) => months.reduce((n, m) => n + m.sorted.length, 0));
  // A period without a quarter-hour has no evidence: its power term alone would advise the lowest power the order
  // allows (0 kW for P1, which cannot be contracted). It keeps its current contracted power, moved only as far as
  // the order P1 ≤ … ≤ P6 with the advised periods around it requires.
  const advisedKw: number[] = [];
  for (let p = 0; p < prep.periods; p++) {
    if (periodQuarterHours[p]! > 0) {
      advisedKw.push(pooled[p]!);
      continue;
    }
    const lo = p > 0 ? advisedKw[p - 1]! : 0;
    const later = pooled.slice(p + 1).filter((_, i) => periodQuarterHours[p + 1 + i]! > 0);
    const hi = later.length ? Math.min(...later) : Infinity;
    advisedKw.push(round3(Math.min(Math.max(contract.contractedKw[p]!, lo), hi)));
  }
  const current = costOf(prep, contract, contract.contractedKw);
  const advised = costOf(prep, contract, advisedKw);
  return { advisedKw, current, advised, savingEur: current.totalEur - advised.totalEur, days: prep.days, months: prep.months, quarterHours: quarterHours.length, peakKw: prep.peakKw.map(round3), periodQuarterHours, warnings: adviceWarnings(prep.days, prep.months, periodQuarterHours) };
}

/** The warnings of PowerAdvice.warnings (see there). */
function adviceWarnings(days: number, months: string[], periodQuarterHours: number[]): string[] {
  const out: string[] = [];
  if (days < FULL_YEAR_DAYS) {
    out.push(`the readings cover ${days} day${days === 1 ? '' : 's'} (${months.length} month${months.length === 1 ? '' : 's'}), less than a full year: the advice weighs ${days}/365 of a year's power term against these months' excess only and misses the seasons not in the readings; do not change the contract on it without a year of readings`);
  }
  const none = periodQuarterHours.flatMap((n, p) => (n === 0 ? [`P${p + 1}`] : []));
  const few = periodQuarterHours.flatMap((n, p) => (n > 0 && n < FEW_PERIOD_QUARTER_HOURS ? [`P${p + 1} (${n})`] : []));
  if (none.length) out.push(`${none.join(', ')} ${none.length === 1 ? 'has' : 'have'} no quarter-hours in the readings: ${none.length === 1 ? 'it keeps its' : 'they keep their'} current contracted power (moved only as far as the order P1 ≤ … ≤ P6 requires), as without readings there is no evidence to change it and 0 kW cannot be contracted`);
  if (few.length) out.push(`${few.join(', ')} ${few.length === 1 ? 'has' : 'have'} fewer than ${FEW_PERIOD_QUARTER_HOURS} quarter-hours (10 days' worth) in the readings: little evidence for ${few.length === 1 ? 'its' : 'their'} advice`);
  return out;
}

/** The power + excess cost of the quarter-hours under any set of contracted powers (for comparisons and tests). */
export function powerCost(contract: PowerContract, quarterHours: readonly QuarterHourKwh[], kw: readonly number[], timezone = 'Europe/Madrid'): PowerCost {
  const prep = prepare({ ...contract, contractedKw: kw }, quarterHours, timezone);
  return costOf(prep, contract, kw);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const eur = (x: number) => x.toFixed(2);

/**
 * The advice as text: one line per period, then the last line
 * `advice: P1=… P2=… P3=… P4=… P5=… P6=… current_eur=… advised_eur=…` (kW; € of power + excess over the
 * readings' months under the current and the advised contract).
 */
export function formatAdvice(advice: PowerAdvice, contract: PowerContract): string {
  const lines = [`readings: ${advice.quarterHours} quarter-hours, ${advice.days} days, months ${advice.months[0]} to ${advice.months.at(-1)}`];
  advice.advisedKw.forEach((kw, p) => {
    const c = advice.current.perPeriod[p]!;
    const a = advice.advised.perPeriod[p]!;
    lines.push(`P${p + 1}: peak_kw=${advice.peakKw[p]} current_kw=${contract.contractedKw[p]} power_eur=${eur(c.powerEur)} excess_eur=${eur(c.excessEur)} | advised_kw=${kw} power_eur=${eur(a.powerEur)} excess_eur=${eur(a.excessEur)}`);
  });
  lines.push(`current: power_eur=${eur(advice.current.powerEur)} excess_eur=${eur(advice.current.excessEur)} total_eur=${eur(advice.current.totalEur)}`);
  lines.push(`advised: power_eur=${eur(advice.advised.powerEur)} excess_eur=${eur(advice.advised.excessEur)} total_eur=${eur(advice.advised.totalEur)} saving_eur=${eur(advice.savingEur)}`);
  lines.push(`advice: ${advice.advisedKw.map((kw, p) => `P${p + 1}=${kw}`).join(' ')} current_eur=${eur(advice.current.totalEur)} advised_eur=${eur(advice.advised.totalEur)}`);
  return lines.join('\n');
}
