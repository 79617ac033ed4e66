import { HOUR_MS } from '../time/tz.js';
import { siteExcess } from './contract-terms.js';
import { scheduleCostExact, unitPrice } from './cost.js';
import type { PlannedRun, PlannerInput } from './types.js';

/**
 * Holding: the mass of a batch waits in a warm, stirred tank between two steps of the batch order. Each process
 * names how long a batch may wait for it (`maxWaitMinutes`, after the previous step ended) and what the tank
 * draws meanwhile (`holdKw`). Batches pair up in the order the solvers use: the k-th run of a process (its fixed,
 * already started runs first) takes the batch of the (k − credit)-th run of the previous process; the first
 * `credit` ones are batches already waiting when the horizon starts (`orderCredit`, since `waitingSince`).
 */

/** The holding limit of `process` as configured (`maxWaitMinutes`, minutes), undefined without one or for the first step. */
export function holdLimitMinutes(input: { processes: ReadonlyArray<{ name: string; maxWaitMinutes?: number }>; order: readonly string[] }, process: string): number | undefined {
  const p = input.processes.find((x) => x.name === process);
  if (!p || p.maxWaitMinutes === undefined || input.order.indexOf(process) < 1) return undefined;
  return p.maxWaitMinutes;
}

/**
 * The holding limit of `process` in whole slots, rounded down, undefined without one. Runs start and end on slot
 * boundaries, so every wait is a whole number of slots: the longest wait within the limit is exactly
 * floor(limit ÷ slot), never a longer hold than the recipe allows (rounding up would be). A limit below one slot
 * (20 min on hourly slots) is 0 slots: the next step starts in the slot the previous one ends, no wait at all. The
 * figure reported is the configured one (`holdLimitMinutes`), not this one.
 */
export function holdLimitSlots(input: PlannerInput, process: string): number | undefined {
  const minutes = holdLimitMinutes(input, process);
  return minutes === undefined ? undefined : Math.floor((minutes * 60_000) / input.resolutionMs);
}

/**
 * `check-config`'s warnings for holding limits the plan's slot grid keeps shorter than configured: a
 * `maxWaitMinutes` that is not a whole number of the plan's slots (60 min on hourly prices, 15 min on quarter-hour
 * prices) is kept as the whole slots below it (holdLimitSlots), e.g. "tempering: maxWaitMinutes 20 is below one
 * slot of the plan on hourly prices (60 min): a batch may not wait for tempering at all there (0 min); on
 * quarter-hour prices 15 min". Empty when every limit is whole hours (or 0, or on the first step).
 */
export function holdLimitWarnings(planner: { processes: ReadonlyArray<{ name: string; maxWaitMinutes?: number }>; order: readonly string[] }): string[] {
  const out: string[] = [];
  for (const p of planner.processes) {
    const m = holdLimitMinutes(planner, p.name);
    if (m === undefined || m % 60 === 0) continue;
    const kept = (slotMin: number) => Math.floor(m / slotMin) * slotMin;
    const where = m < 60 ? `is below one slot of the plan on hourly prices (60 min): a batch may not wait for ${p.name} at all there (0 min)` : `is not a whole number of hours: on hourly prices the plan keeps it as ${kept(60)} min`;
    out.push(`${p.name}: planner.processes[].maxWaitMinutes ${m} ${where}; on quarter-hour prices ${kept(15)} min${kept(15) === 0 ? ' (no wait at all)' : ''}. Waits are whole slots and a limit is never rounded up (README "Holding limits")`);
  }
  return out;
}

/** € per batch held in slot t while it waits for `process` (holdKw × slot hours × €/kWh of that slot). */
export function holdEurPerSlot(input: PlannerInput, process: string): number[] {
  const kw = input.processes.find((x) => x.name === process)?.holdKw ?? 0;
  const hours = input.resolutionMs / HOUR_MS;
  return input.starts.map((_, t) => kw * hours * unitPrice(input, t));
}

/**
 * The holding cost from slot t to the horizon's end of one batch waiting for `process` (€), t = 0…T (T: 0): a run
 * of the step before ending at e adds `[e]`, a run of `process` starting at u takes back `[u]`, which is how the
 * MILP's objective and the local search price the holding linearly (milp.ts, local-search.ts).
 */
export function holdSuffixEur(input: PlannerInput, process: string): number[] {
  const c = holdEurPerSlot(input, process);
  const T = input.starts.length;
  const suffix = new Array<number>(T + 1).fill(0);
  for (let t = T - 1; t >= 0; t--) suffix[t] = suffix[t + 1]! + c[t]!;
  return suffix;
}

/** One batch's wait for `process`: slots [fromSlot, toSlot); `open` when it still waits at the horizon's end. */
export interface Held {
  process: string;
  /** The batch that waits (its id once the plan is numbered). */
  batch: number;
  fromSlot: number;
  toSlot: number;
  open: boolean;
  limitSlots?: number;
  /** The waiting run is one of the input's fixed runs (started, or kept by the frozen window), not a planned one. */
  fixed?: boolean;
}

/**
 * Every wait between consecutive steps in the schedule `runs` (planned) plus the input's fixed runs, whatever placed
 * them: a fixed run (started, or kept from the plan in force) waits from the end of its batch's previous step, found
 * by batch id among the runs (or `fixedWaitSince` when that step ended before the horizon), else by the batch order's
 * pairing; a fixed run whose previous step is not known has no wait here.
 */
export function heldIntervals(input: PlannerInput, runs: readonly PlannedRun[]): Held[] {
  const T = input.starts.length;
  const all = [...input.fixedRuns, ...runs];
  const out: Held[] = [];
  for (let i = 1; i < input.order.length; i++) {
    const a = input.order[i - 1]!;
    const b = input.order[i]!;
    const limitSlots = holdLimitSlots(input, b);
    const aList = all.filter((r) => r.process === a).sort((x, y) => x.startSlot - y.startSlot);
    const bList = all.filter((r) => r.process === b).sort((x, y) => x.startSlot - y.startSlot);
    const credit = input.orderCredit[b] ?? 0;
    const fixedB = input.fixedRuns.filter((r) => r.process === b).length;
    const since = (k: number) => input.waitingSince?.[b]?.[k - fixedB] ?? 0;
    const push = (h: Omit<Held, 'process' | 'limitSlots'>) => out.push({ process: b, ...h, ...(limitSlots === undefined ? {} : { limitSlots }) });
    bList.forEach((run, k) => {
      if (input.fixedRuns.includes(run)) {
        // Its batch id is real (it came from the plan that placed it): the previous step is the run of `a` with that id.
        // Its own batch first: the run of `a` with that id, else when that step ended before the horizon
        // (fixedWaitSince, also when it ended exactly at the horizon's start), and only then the order's pairing.
        const before = run.batch ? input.fixedWaitSince?.[b]?.[run.batch] : undefined;
        const pred = (run.batch ? aList.find((r) => r.batch === run.batch) : undefined) ?? (before === undefined && k >= credit ? aList[k - credit] : undefined);
        const fromSlot = pred ? pred.startSlot + pred.slots : before;
        if (fromSlot !== undefined && fromSlot <= run.startSlot) push({ batch: run.batch, fromSlot, toSlot: run.startSlot, open: false, fixed: true });
        return;
      }
      const pred = k < credit ? undefined : aList[k - credit];
      if (k >= credit && !pred) return;
      push({ batch: run.batch, fromSlot: pred ? pred.startSlot + pred.slots : since(k), toSlot: run.startSlot, open: false });
    });
    for (let k = Math.max(bList.length, fixedB); k < credit; k++) push({ batch: 0, fromSlot: since(k), toSlot: T, open: true });
    aList.forEach((run, j) => {
      if (j + credit >= bList.length && run.startSlot + run.slots < T) push({ batch: run.batch, fromSlot: run.startSlot + run.slots, toSlot: T, open: true });
    });
  }
  return out;
}

/** Energy (kWh) and cost (€) of the holding in the horizon. */
export function holdingCost(input: PlannerInput, held: readonly Held[]): { eur: number; kwh: number } {
  const T = input.starts.length;
  const hours = input.resolutionMs / HOUR_MS;
  let eur = 0;
  let kwh = 0;
  for (const h of held) {
    const kw = input.processes.find((x) => x.name === h.process)?.holdKw ?? 0;
    if (!kw) continue;
    for (let t = Math.max(0, h.fromSlot); t < Math.min(T, h.toSlot); t++) {
      kwh += kw * hours;
      eur += kw * hours * unitPrice(input, t);
    }
  }
  return { eur, kwh };
}

/**
 * The waits longer than their limit that the plan makes: those of planned runs and of fixed runs starting inside the
 * horizon (kept from the plan in force: keeping them makes the wait). A fixed run that started before the horizon
 * (its wait ended at slot ≤ 0) is history, not this plan's. A wait still open at the horizon's end is not one: its next
 * step is work of a later day the horizon does not hold yet (the next plans place it; the solver already keeps such a
 * batch's previous step as late as it can, since the limit is counted inside the horizon).
 */
export function holdingBreaches(held: readonly Held[]): Held[] {
  return held.filter((h) => !h.open && h.limitSlots !== undefined && h.toSlot - h.fromSlot > h.limitSlots && !(h.fixed && h.toSlot <= 0));
}

/** A duration in words: in hours when exact to the quarter-hour ("4 h", "7.5 h", "0.25 h"), else in minutes ("20 min"). */
const durationText = (minutes: number): string => (minutes % 15 === 0 ? `${minutes / 60} h` : `${minutes} min`);

/**
 * A breach's figures: who waits (batch id, or a batch already waiting), the wait ("5 h": whole slots) and the limit as
 * configured (`maxWaitMinutes`: "4 h", "20 min"; not the whole slots the plan keeps it as).
 */
function breachFigures(input: PlannerInput, h: Held): { who: string; waited: string; limit: string } {
  const waitedMin = Math.round(((h.toSlot - h.fromSlot) * input.resolutionMs) / 60_000);
  return { who: h.batch ? `batch ${h.batch}` : 'a batch already waiting', waited: durationText(waitedMin), limit: durationText(holdLimitMinutes(input, h.process) ?? 0) };
}

/** The alert subject of a batch's wait for `process`: "batch 7 before tempering" (`who`: "batch 7", or a batch id). */
export const breachSubject = (who: string | number, process: string): string => `${typeof who === 'number' ? `batch ${who}` : who} before ${process}`;

/** A breach in words, e.g. "batch 42 waits 7.5 h for tempering (limit 4 h)". */
export function describeBreach(input: PlannerInput, h: Held): string {
  const f = breachFigures(input, h);
  return `${f.who} waits ${f.waited} for ${h.process} (limit ${f.limit})`;
}

/**
 * A breach as an alert: its subject (which batch waits for which step, e.g. "batch 7 before tempering", the key an
 * alert is raised once for and resolved by: gateway/core/alerts.ts alertSubject) and the message
 * "<subject>: waits 6 h (limit 4 h)".
 */
export function breachAlert(input: PlannerInput, h: Held): { subject: string; message: string } {
  const f = breachFigures(input, h);
  const subject = breachSubject(f.who, h.process);
  return { subject, message: `${subject}: waits ${f.waited} (limit ${f.limit})` };
}

/**
 * What a schedule costs in the horizon, every part priced the same way: the runs (the fixed, already started ones
 * and the planned ones, cooling included) plus the holding between steps, plus, with a contract, the excess-power
 * term of base + planned load (exact). € to the cent, kWh to 0.1.
 */
export function totalCost(input: PlannerInput, runs: readonly PlannedRun[]): { eur: number; kwh: number; holdEur: number; holdKwh: number; excessEur: number } {
  const run = scheduleCostExact(input, [...input.fixedRuns.map((r) => ({ ...r, startSlot: Math.max(0, r.startSlot), slots: Math.min(r.startSlot + r.slots, input.starts.length) - Math.max(0, r.startSlot) })), ...runs]);
  const hold = holdingCost(input, heldIntervals(input, runs));
  // With a contract (contract-terms.ts): the excess-power term the site's load adds, exact (the bill's formula).
  const excess = input.site ? siteExcess(input, runs).exactEur : 0;
  return { eur: Math.round((run.eur + hold.eur + excess) * 100) / 100, kwh: Math.round((run.kwh + hold.kwh) * 10) / 10, holdEur: Math.round(hold.eur * 100) / 100, holdKwh: Math.round(hold.kwh * 10) / 10, excessEur: Math.round(excess * 100) / 100 };
}
