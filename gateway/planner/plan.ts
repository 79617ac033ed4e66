import { violations } from './cost.js';
import { totalCost } from './holding.js';
import { solveGreedy } from './greedy.js';
import { allowedStarts, gapSlots, runSlots, solveMilp } from './milp.js';
import type { PlannerInput, SolveResult } from './types.js';

/** Cheap checks that name the constraint a demand cannot meet, before any solver runs. */
export function diagnose(input: PlannerInput): string[] {
  const out: string[] = [];
  const hours = (slots: number) => Math.round(((slots * input.resolutionMs) / 3_600_000) * 100) / 100;
  for (const p of input.processes) {
    const need = input.runsToPlace[p.name] ?? 0;
    if (!need) continue;
    const L = runSlots(input, p.name);
    const gap = gapSlots(input, p.name);
    const starts = allowedStarts(input, p.name);
    if (!starts.length) {
      out.push(`${p.name}: no window of ${p.minutes} min free of forbidden hours and ambient limits in the horizon (quota ${need})`);
      continue;
    }
    // At most one run per L+gap slots: count how many fit greedily in the allowed starts.
    let fit = 0;
    let next = -Infinity;
    for (const t of starts) if (t >= next) {
      fit++;
      next = t + L + gap;
    }
    if (fit < need) out.push(`${p.name}: quota of ${need} runs of ${p.minutes} min does not fit; at most ${fit} fit in the allowed ${hours(starts.length + L - 1)} h`);
    for (const day of input.dayQuotas ?? []) {
      const quota = day.runs[p.name] ?? 0;
      if (quota > 0 && !starts.some((t) => t >= day.fromSlot && t < day.toSlot)) out.push(`${p.name}: no allowed start on ${day.day} for its ${quota} run(s) there`);
    }
    if (p.kw > input.contractedKw) out.push(`${p.name}: needs ${p.kw} kW, more than the contracted ${input.contractedKw} kW`);
  }
  return out;
}

export interface PlanOutcome extends SolveResult {
  /** What the horizon costs with this schedule: fixed and planned runs plus holding (`totalCost`), €. */
  costEur: number;
  kwh: number;
  fallbackReason?: string;
}

/** The cheaper of the cheapest-start and earliest-start greedy plans that place every run; the first, with what it could not place, when neither does. */
function feasibleGreedy(input: PlannerInput): SolveResult {
  const plans = [solveGreedy(input), solveGreedy(input, { earliest: true })];
  const feasible = plans.filter((p) => !p.infeasible).sort((a, b) => totalCost(input, a.runs).eur - totalCost(input, b.runs).eur);
  return feasible[0] ?? plans[0]!;
}

/** MILP within the time limit; the greedy plan when the solver fails or runs out of time; infeasibility named. */
export async function planSchedule(input: PlannerInput, options: { solver?: boolean } = {}): Promise<PlanOutcome> {
  const problems = diagnose(input);
  if (problems.length) return { method: 'milp', status: 'Infeasible', runs: [], solveMs: 0, infeasible: problems, costEur: 0, kwh: 0 };
  let result: SolveResult | undefined;
  let fallbackReason: string | undefined;
  if (options.solver !== false && input.timeLimitMs > 0) {
    try {
      result = await solveMilp(input);
      if (!result.runs.length && Object.values(input.runsToPlace).some((n) => n > 0)) {
        if (/infeasible/i.test(result.status)) {
          const relaxed = await solveMilp({ ...input, contractedKw: Number.MAX_SAFE_INTEGER / 1e6 });
          const why = relaxed.runs.length ? `the contracted power of ${input.contractedKw} kW` : 'the batch order together with the forbidden hours and ambient limits';
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
  result ??= feasibleGreedy(input);
  const broken = violations(input, result.runs);
  if (broken.length && result.method === 'milp') {
    fallbackReason = `solver plan broke constraints (${broken[0]})`;
    result = feasibleGreedy(input);
  }
  const { eur, kwh } = totalCost(input, result.runs);
  return { ...result, costEur: eur, kwh, ...(fallbackReason ? { fallbackReason } : {}) };
}
