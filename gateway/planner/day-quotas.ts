import { localDate, localDayRange } from '../time/tz.js';
import { processChain, solveMilp } from './milp.js';
import { planSchedule, type PlanOutcome } from './plan.js';
import { relaxing } from './ambient-margin.js';
import type { DayQuota, PlannerInput, ProcessSpec } from './types.js';

/** The processes whose runs start a batch: the first of the batch order, and any process outside the order. */
export function enteringProcesses(processes: readonly ProcessSpec[], order: readonly string[]): string[] {
  return processes.map((p) => p.name).filter((name) => name === order[0] || !order.includes(name));
}

/**
 * The horizon's work (slot starts, UTC ms) split into its local days. Today every process must start its
 * `batchesPerDay` minus `startedToday(process)` runs today; on every later day the horizon covers whole, the
 * batches entering the line (`enteringProcesses`) start `batchesPerDay` runs on that day, and the later steps of
 * those batches place their runs anywhere in the horizon (`runsToPlace`), across midnight if need be; a day the
 * horizon covers only in part gets no batches (it is planned when the horizon reaches it).
 */
export function dayQuotas(starts: readonly number[], resolutionMs: number, timezone: string, processes: readonly ProcessSpec[], order: readonly string[], startedToday: (process: string) => number): { days: DayQuota[]; runsToPlace: Record<string, number> } {
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
      if (i === 0 || entering.includes(p.name)) d.runs[p.name] = runs;
    }
  });
  return { days, runsToPlace };
}

/**
 * Plans with every day's quotas. When today's runs cannot all start before midnight (a start late in the day, a
 * stopped line, the gateway down, hot hours), plans as many of them as still can (the most runs today, found by
 * the solver, or with the greedy planner by dropping runs from the end of the batch order) and keeps the later
 * days' quotas: today's batches that cannot enter the line (the first process of the order) are a shortfall
 * named in `infeasible`; later steps of today's batches that start after midnight are work in progress, said in
 * `carried`. When the later days cannot meet their quotas either (heat leaving a day too little room), the
 * horizon's work is planned as a whole, without the day split. Returns the plan and the input it was made for.
 */
export async function planKeepingDays(input: PlannerInput): Promise<{ input: PlannerInput; outcome: PlanOutcome; carried?: string }> {
  // The chance constraint on the ambient limits (ambient-margin.ts) gives way last: when even with today's work cut or
  // carried the margin leaves work undone that a smaller margin can plan, the plan is made with half of it, then
  // none, and the plan document says why (ambient_margin.relaxed).
  const { outcome } = await relaxing(input, async (x) => {
    const r = await keepingDays(x);
    return { ...r, infeasible: r.outcome.infeasible };
  });
  const { infeasible: _, ...result } = outcome;
  return result;
}

async function keepingDays(input: PlannerInput): Promise<{ input: PlannerInput; outcome: PlanOutcome; carried?: string }> {
  const outcome = await planSchedule(input);
  if (!outcome.infeasible || !input.dayQuotas?.length) return { input, outcome };
  const relaxed = input.timeLimitMs > 0 ? await mostRunsToday(input) : await dropFromTheEnd(input);
  if (relaxed) {
    const plan = await planSchedule(relaxed);
    if (!plan.infeasible) {
      const today = input.dayQuotas[0]!;
      const kept = relaxed.dayQuotas![0]!.runs;
      const missing = (names: string[]) => names.filter((p) => today.runs[p]! > kept[p]!).map((p) => `${today.runs[p]! - kept[p]!} of ${today.runs[p]} ${p}`);
      const chain = processChain(input);
      const entering = enteringProcesses(input.processes, input.order);
      const shortfall = missing(entering);
      const carried = missing(chain.filter((p) => !entering.includes(p)));
      return {
        input: relaxed,
        outcome: shortfall.length ? { ...plan, infeasible: [`today (${today.day}): ${shortfall.join(', ')} run(s) cannot start before midnight; the later days are planned in full`] } : plan,
        ...(carried.length ? { carried: `today's batches go on after midnight: ${carried.join(', ')} run(s) of them start later` } : {}),
      };
    }
  }
  const { dayQuotas: _, ...whole } = input;
  const plan = await planSchedule(whole);
  return plan.infeasible ? { input, outcome } : { input: whole, outcome: plan };
}

/** `input` with today's quota cut to `runs` (exact again); the runs cut leave the horizon's work, for the next plans. */
function withToday(input: PlannerInput, runs: Record<string, number>): PlannerInput {
  const today = input.dayQuotas![0]!;
  const runsToPlace = Object.fromEntries(input.processes.map((p) => [p.name, (input.runsToPlace[p.name] ?? 0) - ((today.runs[p.name] ?? 0) - (runs[p.name] ?? 0))]));
  return { ...input, dayQuotas: [{ ...today, runs }, ...input.dayQuotas!.slice(1)], runsToPlace };
}

/**
 * Today's quota cut to the most runs that can still start today with the later days' batches kept, and the
 * horizon's work cut to the most that then fits in it (a later step that fits in neither is left to the next
 * horizons); undefined when the later days' batches cannot be kept.
 */
async function mostRunsToday(input: PlannerInput): Promise<PlannerInput | undefined> {
  const today = { ...input.dayQuotas![0]!, atMost: true };
  const result = await solveMilp({ ...input, dayQuotas: [today, ...input.dayQuotas!.slice(1)] }, { maximizeStartsIn: today });
  if (!result.runs.length && !/optimal/i.test(result.status)) return undefined;
  const count = (p: string, day?: DayQuota) => result.runs.filter((r) => r.process === p && (!day || (r.startSlot >= day.fromSlot && r.startSlot < day.toSlot))).length;
  const runs = Object.fromEntries(Object.keys(today.runs).map((p) => [p, count(p, today)]));
  return { ...input, dayQuotas: [{ ...today, runs, atMost: false }, ...input.dayQuotas!.slice(1)], runsToPlace: Object.fromEntries(input.processes.map((p) => [p.name, count(p.name)])) };
}

/** Without the solver: today's runs dropped from the end of the batch order until the greedy planner finds a plan. */
async function dropFromTheEnd(input: PlannerInput): Promise<PlannerInput | undefined> {
  const runs = { ...input.dayQuotas![0]!.runs };
  const chain = processChain(input).reverse();
  for (let last = chain.find((p) => runs[p]! > 0); last; last = chain.find((p) => runs[p]! > 0)) {
    runs[last]!--;
    const attempt = withToday(input, { ...runs });
    if (!(await planSchedule(attempt)).infeasible) return attempt;
  }
  return undefined;
}
