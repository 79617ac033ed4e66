/**
 * Measured savings of the plan against the fixed-shift baseline, per closed local day (IPMVP, EVO 10000-1):
 *
 *   saved € = Σ_runs [ Σ_i kWh_i × unit(baselineStart + i·15 min) − Σ_i kWh_i × unit(start + i·15 min) ]
 *
 * where kWh_i is the measured energy of the run's i-th quarter-hour and unit(t) the energy price of quarter-hour
 * t under the contract (indexed: (OMIE_t + margin) / 1000 + tolls and charges of t's period; fixed: the period's
 * price), both at the prices of that day. The run's energy is measured:
 * - `submeter` (IPMVP Option B): the line's own meter, the quarter-hours of the run;
 * - `apportioned` (from the site meter and the plan, labelled so): in each quarter-hour, the run's planned kW
 *   share of the site meter's kWh, capped at its planned energy: min(kW/4, siteKWh × kW / Σ kW of the runs then).
 * Only the energy term is compared: power, excess and taxes are not attributed to runs (a limit, README).
 * A run whose quarter-hours are missing, or a day with a gap in the site meter, makes the day `not measured`
 * (never a zero saving); a price missing at the real or baseline times makes it `not priced`.
 */
import { periodOf } from '../contract/calendar.js';
import type { Contract } from '../contract/contract.js';
import { QUARTER_HOUR_MS } from '../series/slots.js';
import { formatUtcIso, localDayRange, PLANT_TZ } from '../time/tz.js';
import type { BillQuarterHour } from './bill.js';
import { cents, centsSplit } from './money.js';
import type { LeftOutRun, RunSource, TimedPlanRun } from './ran-runs.js';

export type { TimedPlanRun };


/**
 * A run that ran: [start, end) UTC ms on the quarter-hour grid (as it ran, gateway/bill/ran-runs.ts), its kW, where
 * its times come from, and where the fixed shift would have started it.
 */
export interface ExecutedRun extends TimedPlanRun {
  baselineStart: number;
  source?: RunSource;
}

export interface RunSaving {
  process: string;
  line: string;
  batch: number;
  start: string;
  /** the end as it ran (on the quarter-hour grid); absent on days closed before runs were recorded as they ran */
  end?: string;
  /** where start and end come from (gateway/bill/ran-runs.ts); absent on days closed before: the plan's */
  source?: RunSource;
  baseline_start: string;
  method: 'submeter' | 'apportioned';
  kwh: number;
  actual_eur: number;
  baseline_eur: number;
  saved_eur: number;
}

/** A closed day as stored: the figures and everything they were priced with, never recomputed. */
export interface ClosedDay {
  v: 1;
  date: string;
  status: 'measured' | 'not measured' | 'not priced';
  reason: string | null;
  /** 'IPMVP Option B (submeters)', 'apportioned from the site meter and the plan', or both */
  method: string;
  closed_at: string;
  runs: RunSaving[];
  /** the day's planned runs not credited, and why (a line in dry run, a start the line never got; gateway/bill/ran-runs.ts) */
  left_out?: LeftOutRun[];
  kwh: number | null;
  actual_eur: number | null;
  baseline_eur: number | null;
  saved_eur: number | null;
  /** what the figures were priced with, kept with them */
  priced_with: { contract: Contract; prices_eur_mwh: Array<[string, number]> };
}

export interface DaySavingsInput {
  date: string;
  contract: Contract;
  pricesEurMwh: ReadonlyMap<number, number>;
  runs: readonly ExecutedRun[];
  /** the day's planned runs that did not run as far as the gateway can tell, with the reason */
  leftOut?: readonly LeftOutRun[];
  siteQuarterHours: readonly BillQuarterHour[];
  /** submeter quarter-hours per line */
  lineQuarterHours: Readonly<Record<string, readonly BillQuarterHour[]>>;
  closedAt: number;
  timezone?: string;
}

const measured = (q: BillQuarterHour | undefined): q is BillQuarterHour & { kwh: number } => !!q && q.kwh !== null && q.quality !== 'missing';

/** The energy price of quarter-hour `t` under the contract, €/kWh; undefined without a market price (indexed). */
export function unitEnergyEurKwh(contract: Contract, t: number, pricesEurMwh: ReadonlyMap<number, number>, timezone = PLANT_TZ): number | undefined {
  const p = periodOf(contract.tariff, t, timezone);
  if ('fixed' in contract.energy) return contract.energy.fixed[p - 1]!;
  const omie = pricesEurMwh.get(t);
  if (omie === undefined) return undefined;
  return (omie + contract.energy.indexed.marginEurMwh) / 1000 + contract.tollsAndChargesEurKwh[p - 1]!;
}

/** The day's measured savings (see the file comment), ready to be stored once. */
export function closeDay(input: DaySavingsInput): ClosedDay {
  const tz = input.timezone ?? PLANT_TZ;
  const { start: dayStart, end: dayEnd } = localDayRange(input.date, tz);
  const site = new Map(input.siteQuarterHours.map((q) => [q.start, q]));
  const lines = new Map(Object.entries(input.lineQuarterHours).map(([line, qh]) => [line, new Map(qh.map((q) => [q.start, q]))]));
  const used = new Map<number, number>();
  const leftOut = [...(input.leftOut ?? [])];
  const base = { v: 1 as const, date: input.date, closed_at: formatUtcIso(input.closedAt), runs: [] as RunSaving[], ...(leftOut.length ? { left_out: leftOut } : {}) };
  const leftOutText = leftOut.map((r) => `${r.process} #${r.batch} (planned ${r.start}): ${r.reason}`).join('; ');
  const priced = () => ({ contract: input.contract, prices_eur_mwh: [...used].sort((a, b) => a[0] - b[0]).map(([t, v]) => [formatUtcIso(t), v] as [string, number]) });
  const fail = (status: 'not measured' | 'not priced', reason: string, method: string): ClosedDay => ({ ...base, status, reason, method, kwh: null, actual_eur: null, baseline_eur: null, saved_eur: null, priced_with: priced() });

  for (let t = dayStart; t < dayEnd; t += QUARTER_HOUR_MS) {
    if (!measured(site.get(t))) return fail('not measured', `the site meter has no measurement for ${formatUtcIso(t)}`, 'none');
  }
  // Planned runs and none of them ran: nothing to measure (never a saving of 0 € that reads as "ran, saved nothing").
  if (!input.runs.length && leftOut.length) return fail('not measured', `no planned run of the day ran as far as the gateway can tell, so nothing was measured: ${leftOutText}`, 'none');
  const methods = new Set<string>();
  const runs: RunSaving[] = [];
  let kwhSum = 0;
  let actualSum = 0;
  let baselineSum = 0;
  for (const run of input.runs) {
    const sub = lines.get(run.line);
    const method = sub ? 'submeter' : 'apportioned';
    methods.add(sub ? 'IPMVP Option B (line submeters)' : 'apportioned from the site meter and the plan');
    let kwh = 0;
    let actual = 0;
    let baseline = 0;
    for (let i = 0, t = run.start; t < run.end; i++, t += QUARTER_HOUR_MS) {
      let e: number;
      if (sub) {
        const q = sub.get(t);
        if (!measured(q)) return fail('not measured', `the ${run.line} submeter has no measurement for ${formatUtcIso(t)} (run ${run.process} #${run.batch})`, [...methods].join(' and '));
        e = q.kwh;
      } else {
        const q = site.get(t);
        if (!measured(q)) return fail('not measured', `the site meter has no measurement for ${formatUtcIso(t)} (run ${run.process} #${run.batch})`, [...methods].join(' and '));
        const activeKw = input.runs.filter((r) => r.start <= t && t < r.end && !lines.has(r.line)).reduce((s, r) => s + r.kw, 0);
        e = Math.min(run.kw / 4, (q.kwh * run.kw) / activeKw);
      }
      const tb = run.baselineStart + i * QUARTER_HOUR_MS;
      const ua = unitEnergyEurKwh(input.contract, t, input.pricesEurMwh, tz);
      const ub = unitEnergyEurKwh(input.contract, tb, input.pricesEurMwh, tz);
      if (ua === undefined || ub === undefined) return fail('not priced', `no market price for ${formatUtcIso(ua === undefined ? t : tb)}`, [...methods].join(' and '));
      if (!('fixed' in input.contract.energy)) {
        used.set(t, input.pricesEurMwh.get(t)!);
        used.set(tb, input.pricesEurMwh.get(tb)!);
      }
      kwh += e;
      actual += e * ua;
      baseline += e * ub;
    }
    kwhSum += kwh;
    actualSum += actual;
    baselineSum += baseline;
    runs.push({ process: run.process, line: run.line, batch: run.batch, start: formatUtcIso(run.start), end: formatUtcIso(run.end), ...(run.source ? { source: run.source } : {}), baseline_start: formatUtcIso(run.baselineStart), method, kwh: Math.round(kwh * 1000) / 1000, actual_eur: actual, baseline_eur: baseline, saved_eur: 0 });
  }
  // To the cent, so that the printed day adds up: the day's actual and baseline rounded once, its saving their
  // difference, and the runs' amounts split to add up to the day's (largest remainder), each run's saving the
  // difference of its two amounts.
  const actualEur = cents(actualSum);
  const baselineEur = cents(baselineSum);
  const actualRuns = centsSplit(runs.map((r) => r.actual_eur), actualEur);
  const baselineRuns = centsSplit(runs.map((r) => r.baseline_eur), baselineEur);
  runs.forEach((r, i) => {
    r.actual_eur = actualRuns[i]!;
    r.baseline_eur = baselineRuns[i]!;
    r.saved_eur = cents(r.baseline_eur - r.actual_eur);
  });
  return {
    ...base,
    status: 'measured',
    reason: leftOut.length ? `${leftOut.length} planned run${leftOut.length > 1 ? 's' : ''} left out (not run as far as the gateway can tell): ${leftOutText}` : input.runs.length ? null : 'no run started this day',
    method: [...methods].join(' and ') || 'none (no run)',
    runs,
    kwh: Math.round(kwhSum * 1000) / 1000,
    actual_eur: actualEur,
    baseline_eur: baselineEur,
    saved_eur: cents(baselineEur - actualEur),
    priced_with: priced(),
  };
}

/**
 * Where the fixed-shift baseline would have started the day's runs: from the shift's start (local HH:MM), each
 * line one run after another, in the order the runs really started, and each run after the run that fed it has
 * ended in the baseline too. The run that fed it is the run of the process before it in `order` (planner.order)
 * with the same batch id (`runs[].batch` is one id for the whole batch through every step, gateway/planner/
 * batch-ids.ts); a batch whose previous step ran before the day has no feeder today and starts with the shift.
 * Runs without a batch id (batch ≤ 0, records from before plant-unique ids) fall back to the latest earlier-started
 * run of the previous process. This is the planner's fixed-shift comparison (the same work placed earliest in the
 * shift) for the runs that really happened; runs the shift cannot hold end after it (the baseline overruns, it is
 * not cut).
 */
export function fixedShiftStarts<R extends Omit<ExecutedRun, 'baselineStart'>>(runs: readonly R[], shiftStartUtc: number, order: readonly string[] = []): Array<R & { baselineStart: number }> {
  const lineFree = new Map<string, number>();
  const placed: Array<R & { baselineStart: number }> = [];
  for (const r of [...runs].sort((a, b) => a.start - b.start)) {
    const step = order.indexOf(r.process);
    const previous = step > 0 ? placed.filter((p) => p.process === order[step - 1] && p.start < r.start) : [];
    const feeder = r.batch > 0 ? previous.find((p) => p.batch === r.batch) : previous.at(-1);
    const s = Math.max(shiftStartUtc, lineFree.get(r.line) ?? shiftStartUtc, feeder ? feeder.baselineStart + (feeder.end - feeder.start) : shiftStartUtc);
    const aligned = Math.ceil(s / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
    lineFree.set(r.line, aligned + (r.end - r.start));
    placed.push({ ...r, baselineStart: aligned });
  }
  return placed;
}

/** The part of the store the savings ledger needs (SeriesStore getValue/setValue). */
export interface LedgerStore {
  getValue<T>(name: string): Promise<T | undefined>;
  setValue(name: string, value: unknown): Promise<void>;
}

export const closedDayKey = (date: string): string => `savings.day.${date}`;

/**
 * Stores a closed day once: if the day is already stored, the stored figure is returned and `day` is dropped —
 * a corrected price or a changed contract never rewrites a closed day. Returns [the stored day, whether it was new].
 */
export async function storeClosedDay(store: LedgerStore, day: ClosedDay): Promise<[ClosedDay, boolean]> {
  const had = await store.getValue<ClosedDay>(closedDayKey(day.date));
  if (had) return [had, false];
  await store.setValue(closedDayKey(day.date), day);
  return [day, true];
}
