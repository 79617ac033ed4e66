import { enteringProcesses } from './day-quotas.js';
import type { PlannedRun, PlannerInput } from './types.js';

/**
 * Batch identity. A batch gets its id when it enters the line (a run of the first process of the batch order, or
 * of a process outside the order) and keeps it through every later step; ids count up for the life of the plant
 * (the planner persists the next free id in the store with the runs that started, so re-plans and restarts keep
 * every number). Planned runs take ids in the order the solvers pair batches (see holding.ts): the i-th entering
 * run not yet started gets `nextId + i`, so a re-plan gives the same batch the same id until it starts, and the
 * k-th run of a later process takes the id of the batch the batch order hands it (the waiting ones first).
 *
 * @param runs the planned runs (not the fixed ones, which carry their ids from when they started)
 * @param waitingIds per process, the ids of the batches waiting for it at the horizon's start, oldest first
 * @param nextId the first id never given to a started run
 * @returns the runs with `batch` set to the plant-unique id; a later step whose batch is not known (its history
 *   lost) gets a new id after the entering ones
 */
export function assignBatchIds(input: PlannerInput, runs: readonly PlannedRun[], waitingIds: Record<string, readonly number[]>, nextId: number): PlannedRun[] {
  const out = new Map<PlannedRun, number>();
  const byStart = (a: PlannedRun, b: PlannedRun) => a.startSlot - b.startSlot || input.processes.findIndex((p) => p.name === a.process) - input.processes.findIndex((p) => p.name === b.process);
  const entering = enteringProcesses(input.processes, input.order);
  let id = nextId;
  for (const r of runs.filter((x) => entering.includes(x.process)).sort(byStart)) out.set(r, id++);
  const idOf = (r: PlannedRun) => out.get(r) ?? r.batch;
  for (let i = 1; i < input.order.length; i++) {
    const a = input.order[i - 1]!;
    const b = input.order[i]!;
    const fixedA = input.fixedRuns.filter((r) => r.process === a);
    const fixedB = input.fixedRuns.filter((r) => r.process === b);
    const aList = [...fixedA, ...runs.filter((r) => r.process === a)].sort(byStart);
    const bList = [...fixedB.sort(byStart), ...runs.filter((r) => r.process === b).sort(byStart)];
    const credit = input.orderCredit[b] ?? 0;
    bList.forEach((run, k) => {
      if (k < fixedB.length) return;
      const known = k < credit ? waitingIds[b]?.[k - fixedB.length] : (() => { const pred = aList[k - credit]; return pred ? idOf(pred) : undefined; })();
      out.set(run, known ?? id++);
    });
  }
  return runs.map((r) => ({ ...r, batch: out.get(r) ?? r.batch }));
}

