/**
 * Steps that left the plan (a fresh tester's demo: a conching run vanished from 8 successive plans and came back 3 h
 * later, and nothing said why). A step of a batch that a plan placed, not started, and that a re-plan does not hold
 * any more is listed in the plan document (`left_plan`) with the rule that took it out and the hours involved, in
 * every plan until it is back in a plan, starts, or is two days old: never silently.
 *
 * Times are UTC ms; the sentences give local times (Europe/Madrid, or the site's zone).
 */
import type { BatchMove } from '../../gateway/planner/moves.js';
import type { TimedRun } from '../../gateway/planner/frozen.js';
import { DAY_MS, formatLocalIso, formatUtcIso } from '../../gateway/time/tz.js';

/** One step out of the plan, as the plan document carries it. */
export interface LeftStep {
  process: string;
  line: string;
  batch: number;
  /** Where the plan in force had it (UTC ISO). */
  was_start: string;
  /** When the re-plan that took it out ran (UTC ISO), and that plan's id. */
  left_at: string;
  plan_id: string;
  /** Why, in words: the move's reason and where the batch's previous step now is against the horizon. */
  reason: string;
}

const local = (ms: number, tz: string) => formatLocalIso(ms, tz).slice(0, 16).replace('T', ' ');

/**
 * Why `process` #`batch` is not in the plan `runs` (the new plan's runs, fixed ones included, absolute times) whose
 * horizon ends at `horizonEnd`: where its previous step (`order`) ends, against the horizon; `moveReason` is the
 * reason of the move that took it out (moves.ts).
 */
export function whyLeft(process: string, batch: number, moveReason: string, runs: readonly TimedRun[], horizonEnd: number, order: readonly string[], minutesOf: (process: string) => number, tz: string): string {
  const i = order.indexOf(process);
  const prevProcess = i > 0 ? order[i - 1]! : undefined;
  const prev = prevProcess ? runs.find((r) => r.process === prevProcess && r.batch === batch) : undefined;
  const hours = Math.round((minutesOf(process) / 60) * 100) / 100;
  let where: string;
  if (prevProcess && !prev) where = `its ${prevProcess} is not in this plan either`;
  else if (prev && prev.end + minutesOf(process) * 60_000 > horizonEnd) where = `its ${prevProcess} ends ${local(prev.end, tz)}, so ${process} (${hours} h) cannot end within this plan's horizon (to ${local(horizonEnd, tz)}); a later plan places it once the horizon reaches it`;
  else where = `the ${process} runs this plan's horizon (to ${local(horizonEnd, tz)}) holds, planner.processes[].batchesPerDay per local day, go to other batches; a later plan places it`;
  return `${moveReason}: ${where}`;
}

/**
 * The list after one re-plan: `previous` without the steps now in `runs` (back in the plan), started (`startedKeys`,
 * "process #batch") or left more than two days before `now`, plus the steps this re-plan's moves (`made`) took out.
 */
export function updateLeftPlan(
  previous: readonly LeftStep[],
  made: readonly BatchMove[],
  ctx: { now: number; runs: readonly TimedRun[]; startedKeys: ReadonlySet<string>; horizonEnd: number; order: readonly string[]; minutesOf: (process: string) => number; lineOf: (process: string) => string; timezone: string },
): LeftStep[] {
  const key = (process: string, batch: number) => `${process} #${batch}`;
  const inPlan = new Set(ctx.runs.map((r) => key(r.process, r.batch)));
  const out = new Map<string, LeftStep>();
  for (const s of previous) {
    const k = key(s.process, s.batch);
    if (inPlan.has(k) || ctx.startedKeys.has(k) || Date.parse(s.left_at) < ctx.now - 2 * DAY_MS) continue;
    out.set(k, s);
  }
  for (const m of made) {
    for (const step of m.steps) {
      const k = key(step.process, m.batch);
      if (step.to !== null || inPlan.has(k)) continue;
      out.set(k, {
        process: step.process,
        line: ctx.lineOf(step.process),
        batch: m.batch,
        was_start: step.from,
        left_at: formatUtcIso(ctx.now),
        plan_id: m.plan_id,
        reason: `planned ${local(Date.parse(step.from), ctx.timezone)}, out of the plan made ${local(ctx.now, ctx.timezone)}: ${whyLeft(step.process, m.batch, m.reason, ctx.runs, ctx.horizonEnd, ctx.order, ctx.minutesOf, ctx.timezone)}`,
      });
    }
  }
  return [...out.values()].sort((a, b) => a.was_start.localeCompare(b.was_start) || a.process.localeCompare(b.process));
}

