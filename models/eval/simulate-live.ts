/**
 * Two pieces of `simulate` for issue #23: the plan the gateway really runs, and a weather forecast with a realistic
 * day-ahead error.
 *
 * The plan the gateway runs: the plan for day D is provisional at the decision hour (10:00 D-1, on the price
 * forecast); after the auction result (13:00 D-1) the gateway re-plans on the published prices, under the frozen
 * window and the move limit (plugins/planner, gateway/planner/frozen.ts, moves.ts). Before D starts nothing of D is
 * in the frozen window (it reaches D only from 22:00 D-1), so the binding rule is the move limit: the re-plan may
 * move at most `maxMovesPerDay` batches of the provisional plan, the solver choosing which. The later re-plans inside D have no new
 * information in this replay (the prices are published, the weather forecast is not updated) and move nothing.
 */
import { totalCost } from '../../gateway/planner/holding.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import { planWithinMoves } from '../../gateway/planner/within-moves.js';
import type { PlannedRun, PlannerInput } from '../../gateway/planner/types.js';

/** The k-th run of each process (by start) is batch k of the day, as the solvers pair them. */
function byBatch(runs: readonly PlannedRun[]): Map<string, number> {
  const out = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const r of [...runs].sort((a, b) => a.startSlot - b.startSlot)) {
    const k = counts.get(r.process) ?? 0;
    counts.set(r.process, k + 1);
    out.set(`${r.process}#${k}`, r.startSlot);
  }
  return out;
}

/** How many batches (k-th run of each process) start a step elsewhere in `after` than in `before`. */
export function batchesMoved(before: readonly PlannedRun[], after: readonly PlannedRun[]): number {
  const a = byBatch(before);
  const b = byBatch(after);
  const moved = new Set<string>();
  for (const [key, start] of a) if (b.get(key) !== start) moved.add(key.split('#')[1]!);
  for (const key of b.keys()) if (!a.has(key)) moved.add(key.split('#')[1]!);
  return moved.size;
}

/**
 * The re-plan after the auction: the plan on `published` (the published prices, the weather forecast) when it
 * moves at most `maxMoves` batches of `provisional`; else the cheapest plan that moves at most `maxMoves` of them,
 * the MILP choosing which (the move budget, gateway/planner/move-budget.ts), as the live planner does. Where the
 * solver gives no such plan (the greedy planner) the old rule holds: the provisional plan kept whole (the
 * re-plan's saving given up), and with `budget` false (`simulate --move-rule all-or-nothing`, for comparison). A
 * re-plan with no feasible schedule keeps the provisional plan.
 */
export async function liveReplan(published: PlannerInput, provisional: readonly PlannedRun[], maxMoves: number, budget = true): Promise<{ runs: PlannedRun[]; moves: number; budgeted?: boolean }> {
  const replan = await planSchedule(published);
  if (replan.infeasible) return { runs: [...provisional], moves: 0 };
  const moves = batchesMoved(provisional, replan.runs);
  if (moves <= maxMoves) return { runs: replan.runs, moves };
  // No move allowed: the provisional plan, whatever the rule.
  if (!budget || maxMoves <= 0) return { runs: [...provisional], moves: 0 };
  // Batch k of the provisional plan: the k-th run of each process (the pairing batchesMoved counts by).
  const counts = new Map<string, number>();
  const previous = [...provisional].sort((a, b) => a.startSlot - b.startSlot).map((r) => {
    const k = counts.get(r.process) ?? 0;
    counts.set(r.process, k + 1);
    return { ...r, batch: k };
  });
  const within = await planWithinMoves(published, previous, maxMoves);
  if (within && totalCost(published, within.outcome.runs).eur <= totalCost(published, [...provisional]).eur) {
    const n = batchesMoved(provisional, within.outcome.runs);
    if (n <= maxMoves) return { runs: within.outcome.runs, moves: n, budgeted: true };
  }
  return { runs: [...provisional], moves: 0 };
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed per (run seed, local date), so a day's error does not depend on the period simulated. */
function daySeed(seed: number, date: string): number {
  let h = seed * 2654435761;
  for (const c of date) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/**
 * The observed temperatures of a day with a day-ahead forecast's error: error = bias + spread × x, x a unit-variance
 * AR(1) over the hours (coefficient 0.8: a forecast that is off is off for hours), bias −0.1 °C and spread 1.2 °C
 * (the error a public archive of Madrid day-ahead forecasts showed, issue #23). Seeded by `seed` and the date, so a
 * run is reproducible. Missing observations stay missing.
 */
export function noisyTemperatures(observed: ReadonlyArray<number | null>, date: string, seed: number, biasC = -0.1, spreadC = 1.2, rho = 0.8): Array<number | null> {
  const rand = mulberry32(daySeed(seed, date));
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  let x = normal();
  return observed.map((o, i) => {
    if (i) x = rho * x + Math.sqrt(1 - rho * rho) * normal();
    return o === null ? null : Math.round((o + biasC + spreadC * x) * 10) / 10;
  });
}
