/**
 * The ambient limits' risk priced in euros (issue #23): where the chance constraint's fixed quantile
 * (ambient-margin.ts, z) keeps every run out of the warm cheap hours alike, this weighs each run's chance of meeting a
 * limit against what it would lose: the solvers (milp.ts, greedy.ts) add stake × P(run meets a limit) to the run's
 * cost when they choose, and the plan reports its cost without it. P under the Gaussian forecast error of
 * ambient-margin.ts (σ(lead) per slot, `AmbientMargin.spreadC`). The stake is the plant's figure
 * (`planner.ambientRisk.stakeEur`): in `simulate` a day whose schedule meets a limit is charged the fixed shift.
 */
import type { PlannerInput } from './types.js';

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * The outdoor temperature (°C) at which `process` meets its first ambient limit: the halt, or the outdoor
 * temperature that brings the plant floor (base + factor × (outdoor − base)) over its maxPlantTempC.
 */
export function limitOutdoorFor(input: PlannerInput, process: string): number {
  const p = input.processes.find((x) => x.name === process)!;
  const { baseC, factor } = input.plantTemp;
  const floor = p.maxPlantTempC !== undefined && factor > 0 ? baseC + (p.maxPlantTempC - baseC) / factor : Infinity;
  return Math.min(input.haltAtOutdoorC, floor);
}

/**
 * The priced risk of a run of `process` over slots [start, start + L) (€, a decision term the solvers add to its
 * cost; never part of a reported cost): stake × the chance that the real temperature passes the process's first
 * limit in some slot of the run, taken as the largest chance over its slots (the hourly errors are strongly
 * correlated, ρ 0.8), each 1 − Φ((limit − forecast) / σ(lead)) under the Gaussian error of ambientMargin. 0 without
 * a priced risk, on observed slots and where the temperature is unknown.
 */
export function startRiskEur(input: PlannerInput, process: string, start: number, L: number): number {
  const m = input.ambientMargin;
  if (!m?.stakeEur || !m.spreadC) return 0;
  return m.stakeEur * limitChance(input, process, start, L);
}

/**
 * The chance (0-1) that a run of `process` over slots [start, start + L) meets its first ambient limit: the largest
 * over its slots of 1 − Φ((limit − forecast) / σ(lead)), σ(lead) from `input.ambientMargin.spreadC`. Slots with no
 * spread (observed, none configured) or no temperature count 0 here: whether such a slot is over the limit is a fact
 * the caller reads on the point temperature (forced-move.ts runRisks). Shared by the solvers' priced risk
 * (startRiskEur) and the forced-move rule, so both weigh the same P.
 */
export function limitChance(input: PlannerInput, process: string, start: number, L: number): number {
  const spread = input.ambientMargin?.spreadC;
  if (!spread) return 0;
  const limit = limitOutdoorFor(input, process);
  let worst = 0;
  for (let t = Math.max(0, start); t < Math.min(input.starts.length, start + L); t++) {
    const o = input.outdoorC[t];
    const s = spread[t] ?? 0;
    if (o === null || o === undefined || !(s > 0)) continue;
    worst = Math.max(worst, 1 - normalCdf((limit - o) / s));
  }
  return worst;
}

/** The priced risk of a schedule (€): startRiskEur summed over its runs; 0 without a priced risk. */
export function runsRiskEur(input: PlannerInput, runs: ReadonlyArray<{ process: string; startSlot: number; slots: number }>): number {
  if (!input.ambientMargin?.stakeEur) return 0;
  return runs.reduce((eur, r) => eur + startRiskEur(input, r.process, r.startSlot, r.slots), 0);
}
