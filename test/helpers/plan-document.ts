import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';

const H = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

export type PlannedLineRun = PlanDocumentPayload['runs'][number];

/** A run of `line` (its process of the same name) from `start` to `end`, UTC ms, as the planner publishes it. */
export function lineRun(line: string, start: number, end: number, kw: number): PlannedLineRun {
  return { process: line, line, batch: 1, start: iso(start), end: iso(end), start_local: '', kw, cost_eur: 1, waited_min: null, max_wait_min: null };
}

/** A plan document issued at `now` over the next 24 h holding `runs`, version `version` (id `p#<version>`), with `totals` over zero ones. */
export function planDocument(now: number, runs: PlannedLineRun[], version = 1, totals: Partial<PlanDocumentPayload['totals']> = {}): PlanDocumentPayload {
  return {
    v: 1,
    plan_id: `p#${version}`,
    version,
    created_at: iso(now),
    horizon: { start: iso(now), end: iso(now + 24 * H), resolution_min: 60 },
    method: 'milp',
    status: 'Optimal',
    solve_ms: 1,
    fallback_reason: null,
    infeasible: [],
    kept_previous: false,
    runs,
    hours: [],
    holding_breaches: [],
    site: null,
    totals: { kwh: 0, cost_eur: 0, holding_kwh: 0, holding_eur: 0, excess_eur: null, baseline_eur: null, saved_eur: null, saved_reason: null, ...totals },
  };
}
