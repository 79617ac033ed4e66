/**
 * Batch moves (issue #23): a re-plan that changes when a batch not yet started runs (any of its steps) moves that
 * batch. Each move is kept with its reason; the moves a re-plan may make for a lower cost alone are limited per
 * local day (`planner.maxMovesPerDay`); moves the plant forces (a line stop, an operator's change, the quarter-hour
 * guard, a plan in force that no longer meets its constraints) are kept and counted but never refused.
 *
 * Times are UTC ms; days are local dates (YYYY-MM-DD) in the site's time zone.
 */
import { formatUtcIso, localDate } from '../time/tz.js';
import type { TimedRun } from './frozen.js';

export interface BatchMove {
  /** When the re-plan that made the move ran (UTC ISO). */
  at: string;
  /** Local date of `at`: the day whose limit the move counts against. */
  day: string;
  batch: number;
  /** The steps whose start changed: from / to (UTC ISO; `to` null when the step left the horizon's plan). */
  steps: Array<{ process: string; from: string; to: string | null }>;
  reason: string;
  /** Forced by the plant (not refused by the limit), or made for the cost alone. */
  forced: boolean;
  plan_id: string;
}

/**
 * The batches whose not-yet-started steps of `before` start elsewhere (or nowhere) in `after`. Steps that started
 * by `now` are facts, not moves; a step only in `after` is new work, not a move.
 */
export function diffBatches(before: readonly TimedRun[], after: readonly TimedRun[], now: number): Map<number, BatchMove['steps']> {
  const out = new Map<number, BatchMove['steps']>();
  for (const r of before) {
    if (r.start <= now) continue;
    const next = after.find((x) => x.process === r.process && x.batch === r.batch);
    if (next && next.start === r.start) continue;
    out.set(r.batch, [...(out.get(r.batch) ?? []), { process: r.process, from: formatUtcIso(r.start), to: next ? formatUtcIso(next.start) : null }]);
  }
  return out;
}

/** The moves as records, all with one reason. */
export function movesOf(diff: Map<number, BatchMove['steps']>, meta: { now: number; timezone: string; reason: string; forced: boolean; planId: string }): BatchMove[] {
  return [...diff.entries()].map(([batch, steps]) => ({ at: formatUtcIso(meta.now), day: localDate(meta.now, meta.timezone), batch, steps, reason: meta.reason, forced: meta.forced, plan_id: meta.planId }));
}

/** How many batch moves of `day` (forced ones included) and how many of them were for the cost alone. */
export function movesOn(log: readonly BatchMove[], day: string): { all: number; elective: number } {
  const mine = log.filter((m) => m.day === day);
  return { all: mine.length, elective: mine.filter((m) => !m.forced).length };
}

/** Whether `count` more moves for the cost alone fit in the day's limit. */
export const withinLimit = (log: readonly BatchMove[], day: string, count: number, maxPerDay: number): boolean => movesOn(log, day).all + count <= maxPerDay;

/** The log without the moves older than `keepDays` local days before `day` (string comparison of ISO dates). */
export function pruneMoves(log: readonly BatchMove[], oldestDay: string): BatchMove[] {
  return log.filter((m) => m.day >= oldestDay);
}
