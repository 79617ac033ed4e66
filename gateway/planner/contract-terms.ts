/**
 * The planner prices what the bill prices (issue #22 item 2), when `energy.contract` is configured:
 *
 * - energy: each slot's €/kWh is the contract's, as gateway/bill/bill.ts computeBill prices a quarter-hour —
 *   indexed: (OMIE + margin) / 1000 + tolls and charges of the slot's energy period; fixed: the period's price.
 *   It reaches the solvers through the input's `adderEurKwh` and `marketWeight` (cost.ts unitPrice:
 *   marketWeight × OMIE / 1000 + adder), so runs, cooling and holding are all priced alike;
 * - contracted power per power period (Pc1..Pc6) applied to base load (forecast) + planned load, per quarter-hour
 *   (an hourly slot has four quarter-hours, each with its own base load);
 * - the excess-power term. Exact (bill): per month and power period Kp × tep × (sqrt(S0 + Σ e_j²) − sqrt(S0)),
 *   e_j = max(0, site kW − Pc) of quarter-hour j, S0 the Σ e² the month already holds. In the MILP it is the
 *   stated piecewise-linear upper bound of gateway/site-load/plan-bill.ts (excessBoundSegments: chord
 *   interpolation of h(e) = sqrt(S0 + e²) − sqrt(S0), convex, so no binaries): one continuous variable per segment
 *   and quarter-hour. S0 unknown (0) gives H(e) = e, still an upper bound for any S0. The plan therefore exceeds a
 *   period's contracted power only where the energy saving pays at least this bound; the plan's reported cost uses
 *   the exact formula (`siteExcess`).
 *
 * `planner.contractedKw` stays a hard ceiling of the planned load (the planner's own limit: breakers, a
 * transformer); the contract's powers are the priced limit of the whole site.
 */
import type { Contract } from '../contract/contract.js';
import { periodOf, powerPeriodOf } from '../contract/calendar.js';
import { excessBoundSegments, excessIncreaseEur, planBill, type PlanBill } from '../site-load/plan-bill.js';
import { QUARTER_HOUR_MS } from '../series/slots.js';
import { localParts } from '../time/tz.js';
import { coolingKw } from './cost.js';
import type { PlannedRun, PlannerInput, SiteQuarterHour } from './types.js';

export type { SiteQuarterHour, SiteTerms } from './types.js';

/** Default breakpoints of the bound (kW of excess in one quarter-hour). */
export const DEFAULT_BREAKPOINTS_KW = [5, 10, 20, 40, 80];

/**
 * The input priced by the contract: per slot adder and market weight (energy), the contract's energy periods as
 * the slots' period names, and the site terms (base load, Pc per quarter-hour, Kp × tep). `baseKw(ms)` is the
 * base load of the quarter-hour starting at ms (kW).
 */
export function withContract(input: PlannerInput, contract: Contract, baseKw: (ms: number) => number, options: { timezone: string; baseSource: string; s0Kw2?: Record<string, number>; breakpointsKw?: number[] }): PlannerInput {
  const tz = options.timezone;
  const indexed = 'indexed' in contract.energy;
  const energyPeriod = input.starts.map((t) => periodOf(contract.tariff, t, tz));
  const adderEurKwh = energyPeriod.map((p) => ('fixed' in contract.energy ? contract.energy.fixed[p - 1]! : contract.energy.indexed.marginEurMwh / 1000 + contract.tollsAndChargesEurKwh[p - 1]!));
  const quarterHours: SiteQuarterHour[] = [];
  const perSlot = Math.max(1, Math.round(input.resolutionMs / QUARTER_HOUR_MS));
  input.starts.forEach((s, slot) => {
    for (let q = 0; q < perSlot; q++) {
      const start = s + q * QUARTER_HOUR_MS;
      const period = powerPeriodOf(contract.tariff, start, tz);
      const lp = localParts(start, tz);
      quarterHours.push({
        start,
        slot,
        baseKw: baseKw(start),
        period,
        contractedKw: contract.contractedKw[period - 1]!,
        eurPerKw: contract.tariff === '2.0TD' ? 0 : contract.kp[period - 1]! * contract.tepEurKw,
        group: `${lp.year}-${String(lp.month).padStart(2, '0')}:P${period}`,
      });
    }
  });
  return {
    ...input,
    adderEurKwh,
    marketWeight: indexed ? 1 : 0,
    period: energyPeriod.map((p) => `P${p}`),
    site: { contract, quarterHours, s0Kw2: options.s0Kw2 ?? {}, breakpointsKw: options.breakpointsKw ?? DEFAULT_BREAKPOINTS_KW, baseSource: options.baseSource },
  };
}

/** Planned kW per slot of the schedule plus the input's fixed runs (cooling included), as the solvers count power. */
export function plannedKwPerSlot(input: PlannerInput, runs: readonly PlannedRun[]): number[] {
  const T = input.starts.length;
  const out = new Array<number>(T).fill(0);
  for (const r of [...input.fixedRuns, ...runs]) {
    const p = input.processes.find((x) => x.name === r.process)!;
    for (let t = Math.max(0, r.startSlot); t < Math.min(T, r.startSlot + r.slots); t++) out[t]! += p.kw + coolingKw(input, t);
  }
  return out;
}

export interface SiteExcess {
  /** Per quarter-hour: base, planned, site kW and the kW above the period's contracted power. */
  quarterHours: Array<SiteQuarterHour & { plannedKw: number; siteKw: number; aboveKw: number }>;
  /** The exact increase of the excess term (€, full precision) over what the month already holds (S0). */
  exactEur: number;
  /** The MILP's piecewise-linear bound of it (€). */
  boundEur: number;
  /** Quarter-hours above their period's contracted power (2.0TD: 0). */
  quarterHoursAbove: number;
}

/** The schedule's site load per quarter-hour and its excess term, exact and as the MILP bounds it. */
export function siteExcess(input: PlannerInput, runs: readonly PlannedRun[]): SiteExcess {
  const site = input.site;
  if (!site) return { quarterHours: [], exactEur: 0, boundEur: 0, quarterHoursAbove: 0 };
  const planned = plannedKwPerSlot(input, runs);
  const rows = site.quarterHours.map((q) => {
    const plannedKw = planned[q.slot]!;
    const siteKw = q.baseKw + plannedKw;
    return { ...q, plannedKw, siteKw, aboveKw: Math.max(0, siteKw - q.contractedKw) };
  });
  const groups = new Map<string, { eurPerKw: number; e: number[] }>();
  for (const r of rows) if (r.aboveKw > 0 && r.eurPerKw > 0) {
    const g = groups.get(r.group) ?? { eurPerKw: r.eurPerKw, e: [] };
    g.e.push(r.aboveKw);
    groups.set(r.group, g);
  }
  let exactEur = 0;
  let boundEur = 0;
  for (const [key, g] of groups) {
    const s0 = site.s0Kw2[key] ?? 0;
    exactEur += excessIncreaseEur(g.eurPerKw, 1, s0, g.e);
    const segments = excessBoundSegments(s0, site.breakpointsKw);
    for (const e of g.e) for (const s of segments) if (e > s.fromKw) boundEur += g.eurPerKw * (Math.min(e, s.toKw) - s.fromKw) * s.slopeEurPerKw;
  }
  return { quarterHours: rows, exactEur, boundEur, quarterHoursAbove: site.contract.tariff === '2.0TD' ? 0 : rows.filter((r) => r.aboveKw > 1e-9).length };
}

/**
 * The expected bill of a schedule over the horizon (labelled forecast by its users): base + planned load per
 * quarter-hour priced by the bill's own functions (planBill → computeBill, month by month, excess on, S0 not
 * included: the horizon's quarter-hours only), at the planning prices.
 */
export function expectedBill(input: PlannerInput, runs: readonly PlannedRun[], timezone: string): PlanBill | null {
  const site = input.site;
  if (!site) return null;
  const planned = plannedKwPerSlot(input, runs);
  const prices = new Map<number, number>();
  for (const q of site.quarterHours) prices.set(q.start, input.priceEurMwh[q.slot]!);
  return planBill(site.contract, site.quarterHours.map((q) => ({ start: q.start, plannedKw: planned[q.slot]!, baseKw: q.baseKw })), prices, timezone);
}

/** The kW the planned load may take in each slot before some quarter-hour of it passes its period's contracted power (may be negative). */
export function siteRoomKw(input: PlannerInput): number[] | undefined {
  if (!input.site) return undefined;
  const room = new Array<number>(input.starts.length).fill(Infinity);
  for (const q of input.site.quarterHours) room[q.slot] = Math.min(room[q.slot]!, q.contractedKw - q.baseKw);
  return room;
}

/**
 * € of the bound's first segment when `addKw` more planned kW run in slot t on top of `plannedKw` (the greedy
 * fallback's price of an excess it cannot avoid).
 */
export function addedExcessEur(input: PlannerInput, t: number, plannedKw: number, addKw: number): number {
  if (!input.site) return 0;
  let eur = 0;
  for (const q of input.site.quarterHours) {
    if (q.slot !== t || q.eurPerKw <= 0) continue;
    const before = Math.max(0, q.baseKw + plannedKw - q.contractedKw);
    const after = Math.max(0, q.baseKw + plannedKw + addKw - q.contractedKw);
    eur += q.eurPerKw * (after - before);
  }
  return eur;
}

/**
 * The excess term for the MILP (CPLEX LP text pieces): for each quarter-hour that can pass its contracted power,
 * Σ_k x_qk ≥ planned kW − (Pc − base − fixed kW), x_qk in [0, width_k], cost eurPerKw × slope_k per kW.
 * `startsCovering(t)` gives, per slot, the start variables whose run covers slot t with their kW there.
 * Quarter-hours the planned load cannot push over (base + fixed + every process at once ≤ Pc) get no variable.
 */
export function excessLp(input: PlannerInput, startsCovering: (t: number) => Array<{ name: string; kw: number; sign?: 1 | -1; process?: string }>, fixedKw: readonly number[]): { objective: string[]; rows: Array<{ terms: string[]; rhs: string }>; bounds: string[] } {
  // A covering column is a start (sign 1), or, in milp.ts's cumulative formulation, a running count of starts
  // entering (+) or leaving (−) the covered slot; `process` names its process (else read from `s_<process>_<slot>`).
  const lpTerm = (coef: number, v: { name: string; sign?: 1 | -1 }) => `${(v.sign ?? 1) < 0 ? '-' : '+'} ${coef.toFixed(4)} ${v.name}`;
  const processOf = (v: { name: string; process?: string }) => v.process ?? v.name.split('_')[1]!;
  const out = { objective: [] as string[], rows: [] as Array<{ terms: string[]; rhs: string }>, bounds: [] as string[] };
  const site = input.site;
  if (!site) return out;
  const segmentsOf = new Map<string, ReturnType<typeof excessBoundSegments>>();
  const cover = new Map<number, Array<{ name: string; kw: number }>>();
  site.quarterHours.forEach((q, i) => {
    if (q.eurPerKw <= 0) return;
    const vars = cover.get(q.slot) ?? startsCovering(q.slot);
    cover.set(q.slot, vars);
    if (!vars.length) return;
    const room = q.contractedKw - q.baseKw - fixedKw[q.slot]!;
    // The most the planned load can add here: each process runs at most once at a time (machine rows).
    const maxByProcess = new Map<string, number>();
    for (const v of vars) {
      const proc = processOf(v);
      maxByProcess.set(proc, Math.max(maxByProcess.get(proc) ?? 0, v.kw));
    }
    const most = [...maxByProcess.values()].reduce((a, b) => a + b, 0);
    if (most <= room + 1e-9) return;
    let segments = segmentsOf.get(q.group);
    if (!segments) {
      segments = mergeEqualSlopes(excessBoundSegments(site.s0Kw2[q.group] ?? 0, site.breakpointsKw));
      segmentsOf.set(q.group, segments);
    }
    // The hard phase (see milp.ts solveMilp): the contracted power as a limit, no excess variable.
    if (site.hard) {
      out.rows.push({ terms: vars.map((v) => lpTerm(v.kw, v)), rhs: `<= ${room.toFixed(4)}` });
      return;
    }
    const xs: string[] = [];
    segments.forEach((s, k) => {
      const x = `x_${i}_${k}`;
      xs.push(`- ${x}`);
      out.objective.push(`+ ${(q.eurPerKw * s.slopeEurPerKw).toFixed(6)} ${x}`);
      if (Number.isFinite(s.toKw)) out.bounds.push(` 0 <= ${x} <= ${(s.toKw - s.fromKw).toFixed(6)}`);
    });
    out.rows.push({ terms: [...vars.map((v) => lpTerm(v.kw, v)), ...xs], rhs: `<= ${room.toFixed(4)}` });
    // Valid cuts that tighten the LP relaxation (a half-started run no longer makes half the excess of a whole one
    // minus the room): a process that alone passes the room makes at least (kW − room) of excess while it runs.
    for (const [proc, kw] of maxByProcess) {
      if (kw <= room + 1e-9) continue;
      const mine = vars.filter((v) => processOf(v) === proc);
      out.rows.push({ terms: [...mine.map((v) => lpTerm(Math.max(0, v.kw - room), v)), ...xs], rhs: '<= 0' });
    }
  });
  return out;
}

/** Adjacent segments of equal slope as one (S0 = 0: H(e) = e, one variable instead of one per breakpoint). */
function mergeEqualSlopes(segments: ReturnType<typeof excessBoundSegments>): ReturnType<typeof excessBoundSegments> {
  const out: ReturnType<typeof excessBoundSegments> = [];
  for (const s of segments) {
    const last = out.at(-1);
    if (last && Math.abs(last.slopeEurPerKw - s.slopeEurPerKw) <= 1e-12) out[out.length - 1] = { ...last, toKw: s.toKw };
    else out.push({ ...s });
  }
  return out;
}
