/**
 * Risk-aware planning (issue #23, build 1): a CVaR term for the MILP (Rockafellar-Uryasev). With a cost linear in
 * the price the expected cost over price scenarios equals the cost at the mean price, so the expectation alone
 * changes no decision; the CVaR at `alpha` (the mean cost of the worst 1 − alpha of the scenarios) does: it prefers
 * the hours whose price is not only low but surely low. Added to the objective with `weight`:
 *   min cost(point) + weight × (η + Σ_s u_s / ((1 − alpha) S)),  u_s ≥ cost_s(x) − η,  u_s ≥ 0,  η free,
 * cost_s the placed runs' energy cost under scenario s (holding and the fixed runs are the same in every
 * scenario's decision and left out). Scenarios: band.ts `bandScenarios`. Adds S + 1 continuous columns and S rows.
 */
import { slotCost } from './cost.js';
import type { PlannerInput } from './types.js';

export function cvarLp(input: PlannerInput, vars: ReadonlyMap<string, { process: string; start: number }>): { objective: string[]; rows: string[][]; bounds: string[] } {
  const { scenarios, weight, alpha } = input.risk!;
  const S = scenarios.length;
  const L = new Map(input.processes.map((p) => [p.name, Math.ceil((p.minutes * 60_000) / input.resolutionMs)]));
  const objective = [`+ ${weight.toFixed(6)} eta`, ...scenarios.map((_, s) => `+ ${(weight / ((1 - alpha) * S)).toFixed(6)} u_${s}`)];
  const rows = scenarios.map((prices, s) => {
    const terms: string[] = [];
    for (const [v, { process, start }] of vars) {
      let eur = 0;
      for (let t = start; t < start + L.get(process)!; t++) eur += slotCost(input, process, t, prices).eur;
      terms.push(`${eur >= 0 ? '+' : '-'} ${Math.abs(eur).toFixed(6)} ${v}`);
    }
    return [...terms, '- eta', `- u_${s}`];
  });
  return { objective, rows, bounds: [' eta free'] };
}
