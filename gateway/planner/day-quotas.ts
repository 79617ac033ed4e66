import { HOUR_MS, localDate } from '../time/tz.js';
import { planSchedule, type PlanOutcome } from './plan.js';
import type { DayQuota, PlannerInput, ProcessSpec } from './types.js';

/**
 * The local days of a horizon (slot starts, UTC ms) with the runs each process must start in each: the first day
 * (today) its `batchesPerDay` minus `startedToday(process)`, every later day the horizon covers for at least 23 h
 * its `batchesPerDay`, a day it covers only in part none (that day is planned when the horizon reaches it).
 */
export function dayQuotas(starts: readonly number[], resolutionMs: number, timezone: string, processes: readonly ProcessSpec[], startedToday: (process: string) => number): DayQuota[] {
  const out: DayQuota[] = [];
  starts.forEach((t, slot) => {
    const day = localDate(t, timezone);
    if (out.at(-1)?.day === day) out.at(-1)!.toSlot = slot + 1;
    else out.push({ day, fromSlot: slot, toSlot: slot + 1, runs: {} });
  });
  out.forEach((d, i) => {
    const whole = (d.toSlot - d.fromSlot) * resolutionMs >= 23 * HOUR_MS;
    for (const p of processes) d.runs[p.name] = i === 0 ? Math.max(0, p.batchesPerDay - startedToday(p.name)) : whole ? p.batchesPerDay : 0;
  });
  return out;
}

/** `runsToPlace` as the sum of the day quotas. */
export function totalRuns(days: readonly DayQuota[], processes: readonly ProcessSpec[]): Record<string, number> {
  return Object.fromEntries(processes.map((p) => [p.name, days.reduce((s, d) => s + (d.runs[p.name] ?? 0), 0)]));
}

/**
 * Plans with every day's quota. When that is infeasible only because today's runs cannot all start before
 * midnight (a start late in the day with no work in progress, the line stopped, the gateway down, hot hours),
 * drops today's runs from the end of the batch order until the plan is feasible; the later days keep their quotas.
 * Runs of the first process of the order (a batch entering the line) that cannot start today are a shortfall named
 * in `infeasible`; later steps of today's batches that start after midnight are work in progress, said in `carried`.
 * Returns the plan and the input it was made for (the baseline must compare the same work).
 */
export async function planKeepingDays(input: PlannerInput): Promise<{ input: PlannerInput; outcome: PlanOutcome; carried?: string }> {
  const outcome = await planSchedule(input);
  const today = input.dayQuotas?.[0];
  if (!outcome.infeasible || !today || !Object.values(today.runs).some((n) => n > 0)) return { input, outcome };
  const withToday = (runs: Record<string, number>): PlannerInput => {
    const days = [{ ...today, runs }, ...input.dayQuotas!.slice(1)];
    return { ...input, dayQuotas: days, runsToPlace: totalRuns(days, input.processes) };
  };
  const none = Object.fromEntries(Object.keys(today.runs).map((p) => [p, 0]));
  let relaxed = withToday(none);
  let plan = await planSchedule(relaxed);
  if (plan.infeasible) return { input, outcome };
  const chain = [...input.order, ...input.processes.map((p) => p.name).filter((n) => !input.order.includes(n))];
  const runs = { ...today.runs };
  const lastWithRuns = () => [...chain].reverse().find((p) => runs[p]! > 0);
  for (let last = lastWithRuns(); last; last = lastWithRuns()) {
    runs[last]!--;
    const attempt = withToday({ ...runs });
    const attempted = await planSchedule(attempt);
    if (!attempted.infeasible) {
      relaxed = attempt;
      plan = attempted;
      break;
    }
  }
  const kept = relaxed.dayQuotas![0]!.runs;
  const missing = (names: string[]) => names.filter((p) => today.runs[p]! > kept[p]!).map((p) => `${today.runs[p]! - kept[p]!} of ${today.runs[p]} ${p}`);
  const entering = chain.filter((p) => p === input.order[0] || !input.order.includes(p));
  const shortfall = missing(entering);
  const carried = missing(chain.filter((p) => !entering.includes(p)));
  return {
    input: relaxed,
    outcome: shortfall.length ? { ...plan, infeasible: [`today (${today.day}): ${shortfall.join(', ')} run(s) cannot start before midnight; the later days are planned in full`] } : plan,
    ...(carried.length ? { carried: `today's batches go on after midnight: ${carried.join(', ')} run(s) start tomorrow` } : {}),
  };
}
