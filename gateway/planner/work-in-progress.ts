import type { DayQuota } from './types.js';

/**
 * The day quotas and the batches already in the line (tester5 fault 4). A quota (`batchesPerDay`) limits the NEW
 * batches a day starts, not the completion of the batches already started: a batch whose mixing ran is finished
 * (every remaining step of the batch order placed) whatever the later steps' quotas say, and a batch starts only
 * when every later step may run it, so a quota of 0 (or 1) for tempering stops new batches instead of leaving them
 * in the holding tanks for days.
 */

/**
 * The processes with the batch order's processes' quota cut to the smallest quota of the order (a new batch needs
 * every step); processes outside the order as they are. Returns new objects.
 */
export function newBatchQuotas<P extends { name: string; batchesPerDay: number }>(processes: readonly P[], order: readonly string[]): P[] {
  const inOrder = processes.filter((p) => order.includes(p.name));
  if (!inOrder.length) return [...processes];
  const min = Math.min(...inOrder.map((p) => p.batchesPerDay));
  return processes.map((p) => (order.includes(p.name) ? { ...p, batchesPerDay: Math.min(p.batchesPerDay, min) } : { ...p }));
}

/**
 * Per later step of the batch order, the ids of the batches in the line that still need it: a run of an earlier
 * step in `history` (started, or kept by the frozen window), none of this step. Ascending ids.
 */
export function batchesInTheLine(order: readonly string[], history: ReadonlyArray<{ process: string; batch: number }>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  order.forEach((b, i) => {
    if (i === 0) return;
    const before = new Set(history.filter((r) => order.indexOf(r.process) >= 0 && order.indexOf(r.process) < i).map((r) => r.batch));
    for (const r of history) if (r.process === b) before.delete(r.batch);
    out[b] = [...before].sort((x, y) => x - y);
  });
  return out;
}

/**
 * Raises a later step's runs to place (`runsToPlace`, changed in place) to the number of batches in the line that
 * still need it (`inLine`, batchesInTheLine) when the quotas were lowered below the work in progress: the step's
 * quota for new batches (newBatchQuotas of `processes`, the quotas as configured or changed by the operator) is 0 or
 * below the largest quota of the batch order, and leaves fewer runs than those batches (a tempering quota of 0 for
 * a holiday). A step raised loses today's exact count in `days` (its runs go where the solver finds them best, today
 * included). With equal quotas nothing changes: the day accounting of dayQuotas already finishes every batch
 * (today's later-step runs take yesterday's batches, the last batches of a horizon go on in the next ones). Returns
 * one sentence per step raised, e.g. "tempering: 2 run(s) placed beyond its quota for batch(es) 4, 5 already in the
 * line (a quota limits new batches)"; empty when nothing was raised.
 */
export function keepWorkInProgress(order: readonly string[], inLine: Readonly<Record<string, readonly number[]>>, runsToPlace: Record<string, number>, days: DayQuota[], processes: ReadonlyArray<{ name: string; batchesPerDay: number }>): string[] {
  const capped = newBatchQuotas(processes, order);
  const quotaOf = (p: string) => capped.find((x) => x.name === p)?.batchesPerDay ?? 0;
  const largest = Math.max(0, ...processes.filter((p) => order.includes(p.name)).map((p) => p.batchesPerDay));
  const notes: string[] = [];
  order.forEach((b, i) => {
    const quota = quotaOf(b);
    if (i === 0 || (quota > 0 && quota >= largest)) return;
    const ids = inLine[b] ?? [];
    const need = ids.length;
    const have = runsToPlace[b] ?? 0;
    if (need <= have) return;
    runsToPlace[b] = need;
    if (days[0]) delete days[0].runs[b];
    notes.push(`${b}: ${need - have} run(s) placed beyond its quota for batch(es) ${ids.join(', ')} already in the line (a quota limits new batches)`);
  });
  return notes;
}
