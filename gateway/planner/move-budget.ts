/**
 * A move budget inside the MILP (issue #23): when a re-plan would move more batches of the plan in force than the
 * day's limit (`planner.maxMovesPerDay`, moves.ts) still allows, the solver chooses WHICH batches to move, at most
 * `maxMoves`, and keeps the others where they are, so the re-plan is the cheapest plan within the limit instead of
 * "all of it or none of it".
 *
 * Identity: the solvers pair batches by position (the k-th run of each process to place is batch k after the fixed
 * runs, batch-ids.ts, holding.ts), so a step of a batch stays put when the run of its process at the same position
 * starts at the same slot. A binary `mk_i` per batch of the plan in force with a step not started:
 *   mk_i ≤ s_{p,slot}                                       (the step's start variable at its previous slot)
 *   Σ_{u<slot} s_{p,u} ≤ index + M (1 − mk_i)               (exactly `index` runs of p start before it: the same
 *   Σ_{u<slot} s_{p,u} ≥ index × mk_i                        position, so the same batch; M = runs of p to place)
 * for each of its steps, and Σ_i mk_i ≥ B − maxMoves over the B batches. A batch one of whose steps cannot start
 * at its previous slot any more (a stop, heat, the frozen window) cannot be kept: its column is left out (0).
 * Adds B binary columns and at most 3 rows per step plus one; off when `PlannerInput.moveBudget` is absent.
 *
 * The greedy planner has no budget: where it plans (no solver time, the solver failing) `planWithinMoves`
 * (within-moves.ts) gives nothing and the caller keeps its all-or-nothing rule.
 */
import type { BudgetBatch, MoveBudget, PlannedRun, PlannerInput } from './types.js';

export type { BudgetBatch, MoveBudget };

/**
 * The budget for keeping `previous` (the plan in force's runs still to place, in the input's slots, with their
 * batch ids; fixed runs left out) with at most `maxMoves` batch moves. A step's position is its rank by start among
 * the runs of its process in `previous`.
 */
export function moveBudgetOf(previous: readonly PlannedRun[], maxMoves: number): MoveBudget {
  const byBatch = new Map<number, BudgetBatch['steps']>();
  const processes = [...new Set(previous.map((r) => r.process))];
  for (const p of processes) {
    previous
      .filter((r) => r.process === p)
      .sort((a, b) => a.startSlot - b.startSlot)
      .forEach((r, index) => byBatch.set(r.batch, [...(byBatch.get(r.batch) ?? []), { process: p, startSlot: r.startSlot, index }]));
  }
  return { batches: [...byBatch.entries()].sort((a, b) => a[0] - b[0]).map(([batch, steps]) => ({ batch, steps })), maxMoves };
}

/** The batches of `budget` that `runs` (runs to place, fixed ones left out) move: some step is not at its slot and position. */
export function budgetMoves(budget: MoveBudget, runs: readonly PlannedRun[]): number[] {
  const slotsOf = new Map<string, number[]>();
  for (const r of runs) slotsOf.set(r.process, [...(slotsOf.get(r.process) ?? []), r.startSlot]);
  for (const s of slotsOf.values()) s.sort((a, b) => a - b);
  return budget.batches.filter((b) => b.steps.some((s) => slotsOf.get(s.process)?.[s.index] !== s.startSlot)).map((b) => b.batch);
}

/**
 * The LP pieces of the budget for milp.ts buildLp: binary columns, rows (terms, sense and rhs). `has(process,
 * slot)` says whether that start variable exists; `name` names it; `before(process, slot)` lists the start
 * variables of `process` before `slot`.
 */
export function moveBudgetLp(
  input: PlannerInput,
  has: (process: string, slot: number) => boolean,
  name: (process: string, slot: number) => string,
  before: (process: string, slot: number) => string[],
): { binaries: string[]; rows: Array<{ terms: string[]; rhs: string }> } {
  const { batches, maxMoves } = input.moveBudget!;
  const binaries: string[] = [];
  const rows: Array<{ terms: string[]; rhs: string }> = [];
  batches.forEach((b, i) => {
    const keepable = b.steps.every((s) => has(s.process, s.startSlot) && (s.index === 0 || before(s.process, s.startSlot).length >= s.index));
    if (!keepable) return;
    const k = `mk_${i}`;
    binaries.push(k);
    for (const s of b.steps) {
      rows.push({ terms: [`+ ${k}`, `- ${name(s.process, s.startSlot)}`], rhs: '<= 0' });
      const earlier = before(s.process, s.startSlot).map((v) => `+ ${v}`);
      if (!earlier.length) continue;
      const M = Math.max(input.runsToPlace[s.process] ?? 0, earlier.length);
      rows.push({ terms: [...earlier, `+ ${M} ${k}`], rhs: `<= ${s.index + M}` });
      if (s.index > 0) rows.push({ terms: [...earlier, `- ${s.index} ${k}`], rhs: '>= 0' });
    }
  });
  const mustKeep = batches.length - maxMoves;
  // More to keep than can be kept: infeasible by construction (the caller keeps its all-or-nothing rule).
  if (mustKeep > 0) rows.push({ terms: binaries.length ? binaries.map((k) => `+ ${k}`) : ['+ 0 mk_none'], rhs: `>= ${mustKeep}` });
  return { binaries, rows };
}
