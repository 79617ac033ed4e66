import { violations } from './cost.js';
import { runsRiskEur } from './ambient-risk.js';
import { totalCost } from './holding.js';
import { solveGreedy } from './greedy.js';
import { improveLocally } from './local-search.js';
import { allowedStarts, gapSlots, numberBatches, runSlots, solveMilp } from './milp.js';
import type { PlannedRun, PlannerInput, SolveResult } from './types.js';

/** Cheap checks that name the constraint a demand cannot meet, before any solver runs. */
export function diagnose(input: PlannerInput): string[] {
  const out: string[] = [];
  const hours = (slots: number) => Math.round(((slots * input.resolutionMs) / 3_600_000) * 100) / 100;
  const limits = `ambient limits${marginNote(input)}`;
  for (const p of input.processes) {
    const need = input.runsToPlace[p.name] ?? 0;
    if (!need) continue;
    const L = runSlots(input, p.name);
    const gap = gapSlots(input, p.name);
    const starts = allowedStarts(input, p.name);
    if (!starts.length) {
      out.push(`${p.name}: no window of ${p.minutes} min free of forbidden hours and ${limits} in the horizon (quota ${need})`);
      continue;
    }
    // At most one run per L+gap slots: count how many fit greedily in the allowed starts.
    let fit = 0;
    let next = -Infinity;
    for (const t of starts) if (t >= next) {
      fit++;
      next = t + L + gap;
    }
    if (fit < need) out.push(`${p.name}: quota of ${need} runs of ${p.minutes} min does not fit; at most ${fit} fit in the allowed ${hours(starts.length + L - 1)} h${marginNote(input) ? `; ${limits}` : ''}`);
    for (const day of input.dayQuotas ?? []) {
      const quota = day.runs[p.name] ?? 0;
      if (quota > 0 && !starts.some((t) => t >= day.fromSlot && t < day.toSlot)) out.push(`${p.name}: no allowed start on ${day.day} for its ${quota} run(s) there`);
    }
    if (p.kw > input.contractedKw) out.push(`${p.name}: needs ${p.kw} kW, more than the contracted ${input.contractedKw} kW`);
  }
  return out;
}

/** " (checked at the forecast + up to X °C, the chance constraint planner.ambientRisk)" when a margin applies, else "". */
function marginNote(input: PlannerInput): string {
  const max = Math.max(0, ...(input.ambientMargin?.marginC ?? []));
  return max > 0 ? ` (checked at the temperature forecast + up to ${max.toFixed(1)} °C, the chance constraint planner.ambientRisk)` : '';
}

export interface PlanOutcome extends SolveResult {
  /** What the horizon costs with this schedule: fixed and planned runs plus holding (`totalCost`), €. */
  costEur: number;
  kwh: number;
  fallbackReason?: string;
}

/** What the solvers compare plans by (€): the cost the plan reports plus the priced ambient risk (ambient-risk.ts; 0 without one). */
const decisionEur = (input: PlannerInput, runs: readonly PlannedRun[]): number => totalCost(input, runs).eur + runsRiskEur(input, runs);

/**
 * The cheapest of the cheapest-start and earliest-start greedy plans that place every run, each improved by local
 * search (local-search.ts); the first, with what it could not place, when neither does.
 */
export function feasibleGreedy(input: PlannerInput, options: { improve?: boolean } = {}): SolveResult {
  const plans = [solveGreedy(input), solveGreedy(input, { earliest: true })];
  const feasible = plans
    .filter((p) => !p.infeasible)
    .map((p) => {
      if (options.improve === false) return p;
      const started = performance.now();
      return { ...p, runs: improveLocally(input, p.runs), solveMs: p.solveMs + performance.now() - started };
    })
    .sort((a, b) => decisionEur(input, a.runs) - decisionEur(input, b.runs));
  return feasible[0] ?? plans[0]!;
}

/**
 * The MILP's start (a MIP start, see milp.ts solveLp): the cheaper of the plan in force (`input.previousRuns`) and the
 * greedy plan, among those that meet every constraint; undefined when neither does.
 */
export function startingPlan(input: PlannerInput, greedy: SolveResult): { runs: PlannedRun[]; source: 'previous plan' | 'greedy'; eur: number } | undefined {
  const candidates = [
    ...(input.previousRuns?.length ? [{ runs: input.previousRuns, source: 'previous plan' as const }] : []),
    ...(greedy.infeasible ? [] : [{ runs: greedy.runs, source: 'greedy' as const }]),
  ]
    .filter((c) => !violations(input, c.runs).length && input.processes.every((p) => c.runs.filter((r) => r.process === p.name).length === (input.runsToPlace[p.name] ?? 0)))
    .map((c) => ({ ...c, eur: totalCost(input, c.runs).eur, decision: decisionEur(input, c.runs) }))
    .sort((a, b) => a.decision - b.decision);
  return candidates[0];
}

/**
 * MILP within the time limit, started from the cheaper of the plan in force and the greedy plan; stopped by the limit,
 * HiGHS's best incumbent (`milp-time-limit`, with its gap) when it meets every constraint; the greedy plan when the
 * solver fails, finds nothing usable or cannot run; infeasibility named.
 */
export async function planSchedule(input: PlannerInput, options: { solver?: boolean } = {}): Promise<PlanOutcome> {
  const problems = diagnose(input);
  if (problems.length) return { method: 'milp', status: 'Infeasible', runs: [], solveMs: 0, infeasible: problems, costEur: 0, kwh: 0 };
  let result: SolveResult | undefined;
  let fallbackReason: string | undefined;
  let greedy: SolveResult | undefined;
  let start: ReturnType<typeof startingPlan>;
  if (options.solver !== false && input.timeLimitMs > 0) {
    try {
      // Under a contract the local search prices every move's excess exactly (~0.3 s of CPU on 48 h) while the
      // greedy plan there is already within a few % (npm run bench -- --planner): the start goes without it.
      greedy = feasibleGreedy(input, { improve: !input.site });
      start = startingPlan(input, greedy);
      result = await solveMilp(input, start ? { start: start.runs } : {});
      if (!result.runs.length && Object.values(input.runsToPlace).some((n) => n > 0)) {
        if (/infeasible/i.test(result.status)) {
          const relaxed = await solveMilp({ ...input, contractedKw: Number.MAX_SAFE_INTEGER / 1e6 });
          const why = relaxed.runs.length ? `the contracted power of ${input.contractedKw} kW` : `the batch order together with the forbidden hours and ambient limits${marginNote(input)}`;
          return { ...result, infeasible: [`no plan meets every constraint; the binding one is ${why}`], costEur: 0, kwh: 0 };
        }
        fallbackReason = `solver status "${result.status}" without a usable plan`;
        result = undefined;
      }
    } catch (error) {
      fallbackReason = `solver failed: ${(error as Error).message}`;
      result = undefined;
    }
  } else fallbackReason = 'solver disabled or given no time';
  // HiGHS stopped before it held any solution (or failed): the plan in force when it is the cheaper start, else greedy.
  if (!result && start?.source === 'previous plan') result = { method: 'previous-plan', status: 'Feasible', runs: numberBatches(input, start.runs), solveMs: 0 };
  const fallback = (): SolveResult => (greedy && !input.site ? greedy : feasibleGreedy(input));
  result ??= fallback();
  const broken = violations(input, result.runs);
  if (broken.length && result.method !== 'greedy') {
    fallbackReason = `solver plan broke constraints (${broken[0]})`;
    result = fallback();
  } else if (result.method === 'milp-time-limit' && greedy && !greedy.infeasible && decisionEur(input, greedy.runs) < decisionEur(input, result.runs)) {
    // The incumbent is priced by the MILP's bound of the excess term; priced exactly, the greedy plan may still win.
    const gap = result.mipGap !== undefined && Number.isFinite(result.mipGap) ? `, gap ${(result.mipGap * 100).toFixed(2)} %` : '';
    fallbackReason = `the solver stopped at its time limit${gap} with a plan dearer than the greedy one`;
    result = greedy;
  }
  const { eur, kwh } = totalCost(input, result.runs);
  return { ...result, costEur: eur, kwh, ...(fallbackReason ? { fallbackReason } : {}) };
}
