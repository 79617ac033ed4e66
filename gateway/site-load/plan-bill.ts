/**
 * What the bill would say about a plan (issue #22 item 2, the part that does not touch the planner's solvers):
 * the site's quarter-hours are the plan's load + the base load, priced by the bill's own functions
 * (gateway/bill/bill.ts computeBill, one call per local calendar month, excess included), and a stated
 * piecewise-linear bound of the excess-power term for a linear solver.
 *
 * The planner uses both (gateway/planner/contract-terms.ts): planBill for the plan document's expected bills, the
 * bound for the MILP's excess term.
 */
import { billAmounts, computeBill, monthRange, monthsOf, type BillAmounts, type BillPart, type BillQuarterHour } from '../bill/bill.js';
import { powerPeriodOf } from '../contract/calendar.js';
import type { Contract, ExcessMetering } from '../contract/contract.js';
import { QUARTER_HOUR_MS } from '../series/slots.js';
import { PLANT_TZ } from '../time/tz.js';

/** One quarter-hour of a plan: its UTC start, the planned runs' kW and the base load's kW (averages). */
export interface PlanQuarterHour {
  start: number;
  plannedKw: number;
  baseKw: number;
}

export interface PlanBillQuarterHour extends PlanQuarterHour {
  /** Site average kW = planned + base. */
  siteKw: number;
  period: number;
  contractedKw: number;
  /** max(0, site − contracted), kW */
  aboveKw: number;
}

export interface PlanBill {
  months: Array<{ month: string; part: BillPart; amounts: BillAmounts }>;
  quarterHours: PlanBillQuarterHour[];
  /** Quarter-hours whose site average passes their period's contracted power. */
  excessQuarterHours: number;
}

/** The planned kW per quarter-hour of [from, to) from runs (UTC ms, kW; a run covering part of a quarter-hour counts pro rata). */
export function plannedLoad(runs: ReadonlyArray<{ start: number; end: number; kw: number }>, from: number, to: number): Array<{ start: number; kw: number }> {
  const out: Array<{ start: number; kw: number }> = [];
  for (let t = from; t < to; t += QUARTER_HOUR_MS) {
    let kw = 0;
    for (const r of runs) {
      const overlap = Math.min(t + QUARTER_HOUR_MS, r.end) - Math.max(t, r.start);
      if (overlap > 0) kw += (r.kw * overlap) / QUARTER_HOUR_MS;
    }
    out.push({ start: t, kw });
  }
  return out;
}

/**
 * The bill of the plan's quarter-hours (sorted, contiguous, on the quarter-hour grid), month by month exactly as the
 * bill prices measured quarter-hours: kWh = (planned + base) / 4. `pricesEurMwh` as computeBill (quarter-hour start
 * → OMIE €/MWh; indexed contracts). Months are cut to the plan's range (power pro rata by days, excess on the
 * quarter-hours of the range only). `excessRule`: by default the quarter-hour formula, the one the planner's bounds
 * and S0 model, even for a contract billed on a maxímetro (Contract.excessMetering): the plan document says so
 * (gateway/planner/contract-view.ts `excess_rule`); 'contract' prices the excess as the bill does (the maxímetro
 * where the contract has one: `simulate`'s bills of whole months).
 */
export function planBill(contract: Contract, quarterHours: readonly PlanQuarterHour[], pricesEurMwh: ReadonlyMap<number, number>, timezone = PLANT_TZ, excessRule: ExcessMetering | 'contract' = 'quarter-hour'): PlanBill {
  if (!quarterHours.length) return { months: [], quarterHours: [], excessQuarterHours: 0 };
  const start = quarterHours[0]!.start;
  const end = quarterHours.at(-1)!.start + QUARTER_HOUR_MS;
  const rows: PlanBillQuarterHour[] = quarterHours.map((q) => {
    const siteKw = q.plannedKw + q.baseKw;
    const period = powerPeriodOf(contract.tariff, q.start, timezone);
    const contractedKw = contract.contractedKw[period - 1]!;
    return { ...q, siteKw, period, contractedKw, aboveKw: Math.max(0, siteKw - contractedKw) };
  });
  const bill: BillQuarterHour[] = rows.map((q) => ({ start: q.start, kwh: q.siteKw / 4, quality: 'measured' }));
  const months = monthsOf(start, end, timezone).map((month) => {
    const r = monthRange(month, timezone);
    const part = computeBill(contract, Math.max(start, r.start), Math.min(end, r.end), bill, pricesEurMwh, { excess: true, ...(excessRule === 'contract' ? {} : { excessRule }), timezone });
    return { month, part, amounts: billAmounts(part) };
  });
  return { months, quarterHours: rows, excessQuarterHours: contract.tariff === '2.0TD' ? 0 : rows.filter((q) => q.aboveKw > 0).length };
}

/**
 * The excess term's increase, exact: a period p of a month already holds S0 = Σ (Pd − Pc)² (kW², the quarter-hours
 * measured so far); the plan adds excesses e_j ≥ 0 (kW). Increase = Kp × tep × (sqrt(S0 + Σ e_j²) − sqrt(S0)).
 */
export function excessIncreaseEur(kp: number, tepEurKw: number, s0Kw2: number, excessKw: readonly number[]): number {
  return kp * tepEurKw * (Math.sqrt(s0Kw2 + excessKw.reduce((s, e) => s + e * e, 0)) - Math.sqrt(s0Kw2));
}

/**
 * A piecewise-linear upper bound of excessIncreaseEur, separable by quarter-hour, for a linear (MILP) objective.
 *
 * Statement. With h(e) = sqrt(S0 + e²) − sqrt(S0) (convex in e ≥ 0, h(0) = 0) and g(x) = sqrt(S0 + x) − sqrt(S0)
 * (concave in x ≥ 0, g(0) = 0, hence subadditive):
 *   sqrt(S0 + Σ e_j²) − sqrt(S0) = g(Σ e_j²) ≤ Σ_j g(e_j²) = Σ_j h(e_j) ≤ Σ_j H(e_j),
 * where H is the chord interpolation of h through the breakpoints 0 = b_0 < b_1 < … < b_K (above h because h is
 * convex; linear beyond b_K with the slope 1 of h's asymptote, which is ≥ every chord's slope and, since h' ≤ 1,
 * stays above h). H has non-decreasing slopes, so in a minimisation it needs no binaries: e_j = Σ_k x_jk,
 * 0 ≤ x_jk ≤ b_k − b_{k−1}, cost Σ_k slope_k × x_jk. The bound is exact when at most one quarter-hour of the
 * period is above its contracted power and its excess sits on a breakpoint; with S0 = 0, H(e) = e and the bound
 * is Σ_j e_j (the l1 norm over the l2 norm: at most sqrt(n) times the exact value for n equal excesses).
 * Lower bound, for reporting the gap: max(sqrt(S0), max_j e_j, …) ≤ sqrt(S0 + Σ e²), i.e. increase ≥
 * Kp·tep·(sqrt(S0 + max_j e_j²) − sqrt(S0)).
 */
export function excessBoundSegments(s0Kw2: number, breakpointsKw: readonly number[]): Array<{ fromKw: number; toKw: number; slopeEurPerKw: number }> {
  const h = (e: number) => Math.sqrt(s0Kw2 + e * e) - Math.sqrt(s0Kw2);
  const points = [0, ...[...breakpointsKw].filter((b) => b > 0).sort((a, b) => a - b)];
  const out: Array<{ fromKw: number; toKw: number; slopeEurPerKw: number }> = [];
  for (let k = 1; k < points.length; k++) out.push({ fromKw: points[k - 1]!, toKw: points[k]!, slopeEurPerKw: (h(points[k]!) - h(points[k - 1]!)) / (points[k]! - points[k - 1]!) });
  out.push({ fromKw: points.at(-1)!, toKw: Infinity, slopeEurPerKw: 1 });
  return out;
}

/** Σ_j Kp × tep × H(e_j), the bound above (€). */
export function excessUpperBoundEur(kp: number, tepEurKw: number, s0Kw2: number, excessKw: readonly number[], breakpointsKw: readonly number[]): number {
  const segments = excessBoundSegments(s0Kw2, breakpointsKw);
  let total = 0;
  for (const e of excessKw) {
    for (const s of segments) if (e > s.fromKw) total += (Math.min(e, s.toKw) - s.fromKw) * s.slopeEurPerKw;
  }
  return kp * tepEurKw * total;
}

/** The lower bound Kp × tep × (sqrt(S0 + max e²) − sqrt(S0)) (€). */
export function excessLowerBoundEur(kp: number, tepEurKw: number, s0Kw2: number, excessKw: readonly number[]): number {
  const m = excessKw.reduce((a, e) => Math.max(a, e), 0);
  return kp * tepEurKw * (Math.sqrt(s0Kw2 + m * m) - Math.sqrt(s0Kw2));
}
