/**
 * The frozen window (issue #23, "a plan that stays put"): the runs of the plan in force that start within
 * `planner.frozenMinutes` of now are what the floor is preparing; a re-plan keeps them where they are (they enter
 * the solver as fixed runs, like the started ones) and starts nothing new inside the window. Only a line stop or
 * resume (an override), an operator's change of quota or contracted power, or the quarter-hour guard moving a run
 * (plugins/power-guard) releases it; the reason is kept with the moves it causes (moves.ts).
 *
 * Times are UTC ms.
 */

/** A run of a plan in absolute time: process, batch id, start and end (UTC ms). */
export interface TimedRun {
  process: string;
  batch: number;
  start: number;
  end: number;
}

/**
 * The runs of the plan in force that the re-plan at `now` keeps as they are: not started (start > now) and
 * starting before `now + frozenMs`, except those of the `released` processes. With `frozenMs` = Infinity: every
 * run not started (the plan in force kept whole, new work placed after it).
 */
export function frozenRuns(plan: readonly TimedRun[], now: number, frozenMs: number, released: ReadonlySet<string> = new Set()): TimedRun[] {
  return plan.filter((r) => r.start > now && r.start < now + frozenMs && !released.has(r.process)).sort((a, b) => a.start - b.start);
}

/**
 * Per process, the instant before which the re-plan may start no new run: the window's end, or the end of the
 * last kept run of that process when later (new work of a process comes after its kept runs, so the solvers'
 * batch order, fixed runs first, holds).
 */
export function noNewStartBefore(processes: readonly string[], kept: readonly TimedRun[], windowEnd: number): Record<string, number> {
  return Object.fromEntries(processes.map((p) => [p, Math.max(windowEnd, ...kept.filter((r) => r.process === p).map((r) => r.end))]));
}
