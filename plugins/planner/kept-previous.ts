import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';

type DocRun = PlanDocumentPayload['runs'][number];
const key = (r: DocRun): string => [r.process, r.batch, Date.parse(r.start), Date.parse(r.end), r.interrupted ? 'interrupted' : '', r.resumes ?? ''].join('|');

/**
 * Whether the plan `next`, made at `now` (UTC ms), runs what the plan in force `previous` runs from `now` on, the
 * meaning of the plan document's `kept_previous`: every run of `previous` not ended by `now` is in `next` unchanged
 * (process, batch id, start, end; not cut, not a continuation it was not), and `next` has no other run that has not
 * ended and starts before `previous`'s horizon ends. Work past that horizon is new (no earlier plan could hold it)
 * and does not count. A line stop that cut a run (an interrupted piece, a continuation) makes the runs differ.
 */
export function keepsRuns(previous: Pick<PlanDocumentPayload, 'runs' | 'horizon'>, next: Pick<PlanDocumentPayload, 'runs'>, now: number): boolean {
  const horizonEnd = Date.parse(previous.horizon.end);
  const before = new Set(previous.runs.filter((r) => Date.parse(r.end) > now).map(key));
  const after = next.runs.filter((r) => Date.parse(r.end) > now && Date.parse(r.start) < horizonEnd).map(key);
  return after.length === before.size && after.every((k) => before.has(k));
}
