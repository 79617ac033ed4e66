import { localDate, localDayRange } from '../time/tz.js';
import { planSchedule, type PlanOutcome } from './plan.js';
import type { DayQuota, PlannerInput, ProcessSpec } from './types.js';

/** The processes whose runs start a batch: the first of the batch order, and any process outside the order. */
export function enteringProcesses(processes: readonly ProcessSpec[], order: readonly string[]): string[] {
  return processes.map((p) => p.name).filter((name) => name === order[0] || !order.includes(name));
}

/**
 * The horizon's work (slot starts, UTC ms): per process the runs to place (today its `batchesPerDay` minus
 * `startedToday(process)`, plus `batchesPerDay` for every later local day the horizon covers whole), and per local
 * day the batches that must enter the line on that day (the entering processes only; a day the horizon covers in
 * part: none, it is planned when the horizon reaches it). The later steps of a batch follow it through the batch
 * order wherever they are cheapest, across midnight if need be, as work in progress does.
 */
export function horizonQuotas(starts: readonly number[], resolutionMs: number, timezone: string, processes: readonly ProcessSpec[], order: readonly string[], startedToday: (process: string) => number): { days: DayQuota[]; runsToPlace: Record<string, number> } {
  const days: DayQuota[] = [];
  starts.forEach((t, slot) => {
    const day = localDate(t, timezone);
    if (days.at(-1)?.day === day) days.at(-1)!.toSlot = slot + 1;
    else days.push({ day, fromSlot: slot, toSlot: slot + 1, runs: {} });
  });
  const entering = enteringProcesses(processes, order);
  const runsToPlace = Object.fromEntries(processes.map((p) => [p.name, 0]));
  days.forEach((d, i) => {
    const { start, end } = localDayRange(d.day, timezone);
    const whole = starts[d.fromSlot]! <= start && starts[d.toSlot - 1]! + resolutionMs >= end;
    for (const p of processes) {
      const runs = i === 0 ? Math.max(0, p.batchesPerDay - startedToday(p.name)) : whole ? p.batchesPerDay : 0;
      runsToPlace[p.name]! += runs;
      if (entering.includes(p.name)) d.runs[p.name] = runs;
    }
  });
  return { days, runsToPlace };
}

/**
 * Plans with every day's batches entering on that day. When that is infeasible because today's batches cannot all
 * enter before midnight (a start late in the day, the line stopped, the gateway down), plans as many of today's
 * as can enter, names the others in `infeasible`, and keeps the later days' batches. When the days' batches cannot
 * be kept apart at all (e.g. heat leaves a later day too little room), plans the horizon's work as a whole, as
 * before day quotas existed. Returns the plan and the input it was made for (the baseline compares the same work).
 */
export async function planKeepingDays(input: PlannerInput): Promise<{ input: PlannerInput; outcome: PlanOutcome }> {
  const outcome = await planSchedule(input);
  if (!outcome.infeasible || !input.dayQuotas?.length) return { input, outcome };
  const shortfall = await todaysShortfall(input);
  if (shortfall) return shortfall;
  const { dayQuotas: _, ...whole } = input;
  const plan = await planSchedule(whole);
  return plan.infeasible ? { input, outcome } : { input: whole, outcome: plan };
}

/**
 * The plan with as many of today's batches as can still enter today, the others named, when the later days can be
 * planned without them (otherwise it is not today that lacks room: undefined).
 */
async function todaysShortfall(input: PlannerInput): Promise<{ input: PlannerInput; outcome: PlanOutcome } | undefined> {
  let withoutToday = input;
  for (let process = enteringToday(withoutToday); process; process = enteringToday(withoutToday)) withoutToday = dropBatch(withoutToday, process);
  if (withoutToday === input || (await planSchedule(withoutToday)).infeasible) return undefined;
  const today = input.dayQuotas![0]!;
  let relaxed = input;
  for (let process = enteringToday(relaxed); process; process = enteringToday(relaxed)) {
    relaxed = dropBatch(relaxed, process);
    const plan = await planSchedule(relaxed);
    if (plan.infeasible) continue;
    const kept = relaxed.dayQuotas![0]!.runs;
    const missing = Object.entries(today.runs)
      .filter(([name, n]) => n > kept[name]!)
      .map(([name, n]) => `${n - kept[name]!} of ${n} ${name}`);
    return { input: relaxed, outcome: { ...plan, infeasible: [`today (${today.day}): ${missing.join(', ')} run(s) cannot start before midnight; the later days are planned in full`] } };
  }
  return undefined;
}

/** An entering process with a batch still to enter today, or undefined. */
function enteringToday(input: PlannerInput): string | undefined {
  const today = input.dayQuotas![0]!;
  return Object.keys(today.runs).find((name) => today.runs[name]! > 0);
}

/** One batch of `process` less today; a batch that does not enter takes its later steps out of the horizon's work too. */
function dropBatch(input: PlannerInput, process: string): PlannerInput {
  const followers = process === input.order[0] ? input.order.slice(1) : [];
  const runsToPlace = { ...input.runsToPlace };
  for (const name of [process, ...followers]) runsToPlace[name] = Math.max(0, (runsToPlace[name] ?? 0) - 1);
  const [today, ...later] = input.dayQuotas!;
  return { ...input, runsToPlace, dayQuotas: [{ ...today!, runs: { ...today!.runs, [process]: today!.runs[process]! - 1 } }, ...later] };
}
