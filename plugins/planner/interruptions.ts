import { blockedSlots, slotCost } from '../../gateway/planner/cost.js';
import { SlotLoad } from '../../gateway/planner/slot-fit.js';
import { siteRoomKw } from '../../gateway/planner/contract-terms.js';
import type { PlannedRun, PlannerInput } from '../../gateway/planner/types.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { formatLocalIso, formatUtcIso } from '../../gateway/time/tz.js';

/**
 * A line stop that interrupts a running run (README "Line stops"). The rule: the mass stays in the machine, so the
 * batch's step runs again on the same line as soon as the stop ends, with the same batch id, before anything else
 * of that line: for the remaining duration, or in full for a process marked `uninterrupted` (planner.processes[];
 * domain.md: "Conching must run uninterrupted", so a conche cut short is conched again from the start). The
 * continuation is a fixed run of the plan (the solvers plan around it, as around a started run); it is not a new
 * batch: the day's quota counts the run once (by its first start), the batch order pairs the step's continuation
 * with the next step of the batch.
 */
export interface Cut {
  /** When the stop took effect (UTC ms): the interrupted piece ends here. */
  at: number;
  /** When the interrupted piece started (UTC ms): the run's start, or the previous continuation's. */
  from: number;
  /** When the step runs again (UTC ms, on the plan's slot grid once placed). */
  resume: number;
  /** How long it runs then (ms, before rounding up to slots): the remainder, or the whole step when `full`. */
  ms: number;
  full: boolean;
  reason: string;
}

/** A started run as the planner keeps it (plugins/planner/index.ts), with its interruption if a line stop cut it. */
export interface StartedRun {
  process: string;
  batch: number;
  start: number;
  /** The end of the step: of the continuation when cut. */
  end: number;
  cut?: Cut;
}

/** Where a started run runs now or next: [from, end) of its continuation when cut, else the run itself. */
export const physicalStart = (r: StartedRun): number => r.cut?.resume ?? r.start;

/**
 * Cuts the runs of `started` of `line` running at `at` (a stop that takes effect then, until `until`), in place; the
 * continuation is placed later by {@link placeContinuations}. Returns the runs cut.
 */
export function interruptRuns(started: StartedRun[], line: string, at: number, until: number, processes: ReadonlyArray<{ name: string; line: string; minutes: number; uninterrupted: boolean }>): StartedRun[] {
  const cut: StartedRun[] = [];
  for (const r of started) {
    const p = processes.find((x) => x.name === r.process);
    if (!p || p.line !== line) continue;
    const from = physicalStart(r);
    if (from > at || r.end <= at) continue;
    const full = p.uninterrupted;
    const ms = full ? p.minutes * 60_000 : r.end - at;
    r.cut = { at, from, resume: until, ms, full, reason: `line ${line} stopped by an operator at ${formatUtcIso(at)} until ${formatUtcIso(until)}` };
    r.end = until + ms;
    cut.push(r);
  }
  return cut;
}

/**
 * Places each cut run's continuation that has not started by `now` at the first slot (of `resolutionMs`) at or after
 * `now` and the end of its line's stop (`stoppedUntil`, null when the line is not stopped): later when a stop was
 * extended, earlier when the line was resumed before its `until`. In place. The earliest start only: once the
 * horizon's input is built, {@link fitContinuations} moves it to the first start that meets the hard limits.
 */
export function placeContinuations(started: StartedRun[], now: number, resolutionMs: number, stoppedUntil: (process: string) => number | null): void {
  for (const r of started) {
    if (!r.cut || r.cut.resume <= now) continue;
    const resume = Math.ceil(Math.max(now, stoppedUntil(r.process) ?? now) / resolutionMs) * resolutionMs;
    r.cut.resume = resume;
    r.end = resume + Math.ceil(r.cut.ms / resolutionMs) * resolutionMs;
  }
}

/**
 * The earliest start (slot index of `input`, at or after `fromSlot`) where a continuation of `process` lasting
 * `slots` meets every hard limit a placed run meets: the production windows and forbidden hours, the ambient limits
 * (outdoor at or above `haltAtOutdoorC`, the floor above the process's `maxPlantTempC`, from the outdoor forecast),
 * the line's stop (`blockedUntil`), its line free of the other fixed runs `others` (with their `minGapMinutes`), and
 * the contracted power (`contractedKw`) with `others` (their kW and cooling, at the ambient limits' temperature as the
 * solvers' power cap: cost.ts coolingCapKw); with a supply contract, a start that keeps every quarter-hour within its
 * period's contracted power over the base load is taken first, else the earliest that passes it (an excess is
 * priced, not forbidden: gateway/planner/contract-terms.ts). The check is the greedy planner's own
 * (gateway/planner/slot-fit.ts SlotLoad.fits), without the frozen window. Null when no start in the horizon meets them.
 */
export function continuationStart(input: PlannerInput, process: string, fromSlot: number, slots: number, others: readonly PlannedRun[]): number | null {
  if (!input.processes.some((x) => x.name === process)) return null;
  // The greedy planner's check (gateway/planner/slot-fit.ts): blocked slot, its line busy, the contracted power, the site's room.
  const blocked = blockedSlots(input, process, { ignoreFrozen: true });
  const load = new SlotLoad(input, others);
  const room = siteRoomKw(input);
  for (const roomKw of room ? [room, undefined] : [undefined]) {
    for (let s = Math.max(0, fromSlot); s + slots <= input.starts.length; s++) if (load.fits(process, s, slots, blocked, roomKw)) return s;
  }
  return null;
}

/**
 * Moves each continuation of `started` placed at `now` (not begun) in `input` (its fixed runs, which hold it) to
 * {@link continuationStart}: the earliest start that meets the forbidden hours, the ambient limits and the
 * contracted power; it stays fixed for the re-plan. In place, in `started` and `input.fixedRuns`. Returns one
 * sentence per continuation that no start in the horizon fits (left at its earliest start: the plan says so as
 * infeasible and PLAN_INFEASIBLE is raised).
 */
export function fitContinuations(started: StartedRun[], input: PlannerInput, now: number, timezone: string): string[] {
  const first = input.starts[0]!;
  const res = input.resolutionMs;
  const problems: string[] = [];
  for (const r of started) {
    if (!r.cut || r.cut.resume <= now) continue;
    const fromSlot = Math.round((r.cut.resume - first) / res);
    const slots = Math.round((r.end - r.cut.resume) / res);
    const own = input.fixedRuns.find((f) => f.process === r.process && f.batch === r.batch && f.startSlot === fromSlot);
    if (!own) continue;
    const s = continuationStart(input, r.process, fromSlot, slots, input.fixedRuns.filter((f) => f !== own));
    if (s === null) {
      problems.push(`${r.process} #${r.batch} cannot run again after the line stop: no start from ${formatLocalIso(r.cut.resume, timezone)} to the end of the horizon keeps the forbidden hours, the ambient limits and the contracted power for its ${Math.round((slots * res) / 60_000)} min, so it stays at ${formatLocalIso(r.cut.resume, timezone)}`);
      continue;
    }
    if (s === fromSlot) continue;
    r.cut.resume = first + s * res;
    r.end = r.cut.resume + slots * res;
    own.startSlot = s;
  }
  return problems;
}

type DocRun = PlanDocumentPayload['runs'][number];

/**
 * The plan document's runs with the interruptions shown: each cut run in the horizon gets its interrupted piece
 * (`interrupted: true`, ending at the stop; priced, like every run, for its part in the horizon) and its
 * continuation is marked `resumes` (a run cut as it was to start shows no piece). Time order kept.
 */
export function withInterruptions(runs: DocRun[], started: readonly StartedRun[], input: PlannerInput, meta: { timezone: string; lineOf: (process: string) => string; kwOf: (process: string) => number }): DocRun[] {
  const first = input.starts[0]!;
  const out = [...runs];
  for (const r of started) {
    if (!r.cut || r.end <= first) continue;
    const c = r.cut;
    const i = out.findIndex((x) => x.process === r.process && x.batch === r.batch && Date.parse(x.start) === c.resume);
    if (i >= 0) out[i] = { ...out[i]!, resumes: c.full ? 'full' : 'remainder' };
    // A run cut at the moment it was to start has no piece to show (it is run again whole all the same).
    if (c.at <= c.from) continue;
    let eur = 0;
    input.starts.forEach((s, t) => {
      const overlap = Math.min(s + input.resolutionMs, c.at) - Math.max(s, c.from);
      if (overlap > 0) eur += (slotCost(input, r.process, t).eur * overlap) / input.resolutionMs;
    });
    out.push({ process: r.process, line: meta.lineOf(r.process), batch: r.batch, start: formatUtcIso(c.from), end: formatUtcIso(c.at), start_local: formatLocalIso(c.from, meta.timezone), kw: meta.kwOf(r.process), cost_eur: Math.round(eur * 100) / 100, waited_min: null, max_wait_min: null, interrupted: true, interrupted_reason: c.reason });
  }
  return out.sort((a, b) => a.start.localeCompare(b.start));
}
