import type { PlannerInput } from './types.js';

/**
 * A run the plan places (not started, not kept) starts no earlier than the plan is made (tester5 fault 3): when
 * `now` (UTC ms) falls inside the horizon's first slot, that slot has partly elapsed, and a run placed there would
 * be told "run until <slot end + duration>" at `now`, i.e. run short while the plan and the bill record it in full
 * (under-tempered chocolate is a quality reject). So every new run starts at the first slot boundary at or after
 * `now` and keeps its full duration on the plan's grid. Expressed as each process's `frozenUntil` (no new run may
 * start nor run before it, cost.ts blockedSlots), which every solver (milp, greedy, local search), the fixed-shift
 * baseline and the constraint check read; fixed runs (started, kept) are facts and not affected. Returns a new input.
 */
export function noStartBefore(input: PlannerInput, now: number): PlannerInput {
  return { ...input, processes: input.processes.map((p) => ({ ...p, frozenUntil: Math.max(p.frozenUntil ?? now, now) })) };
}
