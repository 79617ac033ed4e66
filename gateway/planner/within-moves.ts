/** The re-plan within a move budget (move-budget.ts): the MILP with the budget, checked; issue #23. */
import { budgetMoves, moveBudgetOf } from './move-budget.js';
import { planSchedule, type PlanOutcome } from './plan.js';
import type { PlannedRun, PlannerInput } from './types.js';

/**
 * The cheapest plan of `input` that moves at most `maxMoves` of the batches of `previous` (the plan in force's runs
 * still to place, in `input`'s slots, with batch ids), by the MILP with the budget; undefined when the solver gives
 * no such plan (no solver time: the greedy planner, infeasible, or a fallback), so the caller keeps its
 * all-or-nothing rule. `moved` lists the batch ids moved (by position, as the solvers pair batches).
 */
export async function planWithinMoves(input: PlannerInput, previous: readonly PlannedRun[], maxMoves: number): Promise<{ outcome: PlanOutcome; moved: number[] } | undefined> {
  if (input.timeLimitMs <= 0) return undefined;
  const budget = moveBudgetOf(previous, maxMoves);
  const outcome = await planSchedule({ ...input, moveBudget: budget });
  if (outcome.infeasible || outcome.method !== 'milp' || outcome.fallbackReason) return undefined;
  const moved = budgetMoves(budget, outcome.runs);
  return moved.length <= maxMoves ? { outcome, moved } : undefined;
}
