/**
 * Two pieces of `simulate` for issue #23: the plan the gateway really runs, and a weather forecast with a realistic
 * day-ahead error.
 *
 * The plan the gateway runs: the plan for day D is provisional at the decision hour (10:00 D-1, on the price
 * forecast); after the auction result (13:00 D-1) the gateway re-plans on the published prices, under the frozen
 * window and the move limit (plugins/planner, gateway/planner/frozen.ts, moves.ts). Before D starts nothing of D is
 * in the frozen window (it reaches D only from 22:00 D-1), so the binding rule is the move limit: the re-plan may
 * move at most `maxMovesPerDay` batches of the provisional plan, the solver choosing which. Inside D the weather
 * forecast improves hour by hour (the gateway anchors it on the last observed hour, gateway/weather/error-correction.ts):
 * `intradayReplay` replays those re-plans.
 */
import { seededRandom } from '../../gateway/inference/seeded-random.js';
import type { Config } from '../../gateway/config/schema.js';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { blockedSlots, violations } from '../../gateway/planner/cost.js';
import { totalCost } from '../../gateway/planner/holding.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import { planWithinMoves } from '../../gateway/planner/within-moves.js';
import type { AmbientMargin, PlannedRun, PlannerInput } from '../../gateway/planner/types.js';
import { HOUR_MS } from '../../gateway/time/tz.js';
import { anchorCorrection } from '../../gateway/weather/error-correction.js';
import { ambientMargin, planAmbient, withAmbientMargin } from '../../gateway/planner/ambient-margin.js';
import { forcedMove, forcedMoveSettings, type ForcedMoveSettings } from '../../gateway/planner/forced-move.js';

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
export async function liveReplan(given: PlannerInput, provisional: readonly PlannedRun[], maxMoves: number, budget = true): Promise<{ runs: PlannedRun[]; moves: number; budgeted?: boolean }> {
  // Where the ambient margin alone leaves no plan, the re-plan on the point forecast (ambient-margin.ts planAmbient).
  const { input: published, outcome: replan } = await planAmbient(given);
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
  const rand = seededRandom(daySeed(seed, date));
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  let x = normal();
  return observed.map((o, i) => {
    if (i) x = rho * x + Math.sqrt(1 - rho * rho) * normal();
    return o === null ? null : Math.round((o + biasC + spreadC * x) * 10) / 10;
  });
}

/** One re-plan of the intraday replay that moved batches: at which hour, the temperatures it saw, the plans before and after. */
export interface IntradayStep {
  /** Slot index (hour of the day) of the re-plan; it saw the observations of the hours before it. */
  hour: number;
  temps: Array<number | null>;
  before: PlannedRun[];
  after: PlannedRun[];
  moved: number;
  /** `forced`: the plan in force broke an ambient limit on the corrected forecast; `cost`: saved more than the threshold. */
  reason: 'forced' | 'cost';
}

export interface IntradayDay {
  planner: Config['planner'];
  timezone: string;
  /** The day's hourly slot starts, UTC ms. */
  starts: number[];
  /** Published prices, €/MWh per slot. */
  prices: number[];
  /** The day-ahead temperature forecast the plans so far used, °C per slot. */
  forecastC: ReadonlyArray<number | null>;
  /** The real temperatures, °C per slot; the replay reads hour i only from the re-plan at hour i + 1 on. */
  observedC: ReadonlyArray<number | null>;
  /** The plan in force when D starts (every run of the day). */
  plan: readonly PlannedRun[];
  /** Batch moves of D already made (the re-plan after the auction); they count against the day's limit. */
  movesUsed: number;
  /** Error decay per hour, planner.weatherErrorDecay. */
  rho: number;
  /**
   * A plan in force is moved without a saving (a forced move) only when it breaks an ambient limit on the corrected
   * forecast lowered by this many °C (`simulate --intraday-margin C`, for study); default 0, the gateway's rule.
   */
  forceMarginC?: number;
  /**
   * The forced-move rule (gateway/planner/forced-move.ts, the live planner's): absent, from `planner`
   * (planner.ambientRisk.forcedMoveRule, forcedMoveStakeEur or stakeEur, replanThresholdEur).
   */
  forcedMove?: ForcedMoveSettings;
  /**
   * The fixed shift's schedule of the day (every run), planned on the day-ahead forecast: under the `saving` rule
   * what a plan that meets a limit falls back to, priced on each re-plan's input.
   */
  shiftRuns?: readonly PlannedRun[];
  /**
   * The chance constraint on the ambient limits (gateway/planner/ambient-margin.ts) with ρ = `rho`: each re-plan at
   * hour h checks them at the corrected forecast + z × σ(hours after the anchor hour); observed hours get none.
   * Absent: at the corrected forecast.
   */
  risk?: { z: number; sigmaC: number; stakeEur?: number };
}

/** The runs with batch = their rank by start among their process's runs (the solvers' pairing). */
function numbered(runs: readonly PlannedRun[]): PlannedRun[] {
  const counts = new Map<string, number>();
  return [...runs]
    .sort((a, b) => a.startSlot - b.startSlot)
    .map((r) => {
      const k = counts.get(r.process) ?? 0;
      counts.set(r.process, k + 1);
      return { ...r, batch: k };
    });
}

/**
 * The re-plans inside day D, hour by hour, as the live gateway makes them (plugins/planner, every 30 min; the
 * weather changes hourly here). At hour h (slot h, h ≥ 1) the planner knows the observed temperatures of the hours
 * before h and, after them, the day-ahead forecast anchored on the last observed hour (`anchorCorrection`, the
 * same correction as the gateway's): no observation of hour h or later is read. Runs that started before h are
 * fixed; runs of the plan in force that start in the frozen window [h, h + planner.frozenMinutes) are kept as they
 * are (fixed runs), and no new run of a process starts before the window's end or its last kept run's end
 * (ProcessSpec.frozenUntil, as frozen.ts noNewStartBefore). The rest may move: the free re-plan when it moves at
 * most the moves the day has left (planner.maxMovesPerDay minus `movesUsed` and the replay's own), else the
 * cheapest plan within them (the MILP's move budget), taken when the plan in force breaks an ambient limit on the
 * corrected forecast and the forced-move rule says move (a forced move: gateway/planner/forced-move.ts, the live
 * planner's rule, `forcedMove`; see also `forceMarginC`) or when it saves more than planner.replanThresholdEur.
 * `stays` counts the re-plans where the rule kept a plan in force that breaks a limit (its expected loss below the
 * move's cost). As in
 * the live planner (gateway/planner/moves.ts), the limit refuses moves for the cost alone, never a forced one: a plan
 * in force that the corrected forecast says will break an ambient limit is re-planned freely even when the day's
 * moves are spent, and its moves are counted (so a day may end above maxMovesPerDay). A re-plan runs only when
 * the corrected forecast changed, since the last one, an hour's temperature above planner.coolingFromC (the cooling
 * term) or which steps an hour blocks; otherwise the plan in force stands (nothing it is priced on changed).
 */
export async function intradayReplay(day: IntradayDay): Promise<{ runs: PlannedRun[]; moves: number; steps: IntradayStep[]; replans: number; stays: number }> {
  const cfg = day.planner;
  const T = day.starts.length;
  const frozenSlots = Math.ceil((cfg.frozenMinutes * 60_000) / HOUR_MS);
  let plan = numbered(day.plan);
  let moves = day.movesUsed;
  let replans = 0;
  let stays = 0;
  const rule = day.forcedMove ?? forcedMoveSettings(cfg);
  const steps: IntradayStep[] = [];
  let basis: ReadonlyArray<number | null> = day.forecastC;
  const input = (temps: Array<number | null>, fixedRuns: PlannedRun[], runsToPlace: Record<string, number>, margin?: AmbientMargin) => {
    const built = buildPlannerInput(cfg, { starts: day.starts, resolutionMs: HOUR_MS, priceEurMwh: day.prices, priceSource: day.starts.map(() => 'published' as const), outdoorC: temps, runsToPlace, fixedRuns }, day.timezone);
    return margin ? withAmbientMargin(built, margin) : built;
  };
  for (let h = 1; h < T; h++) {
    const seen = day.observedC.map((o, i) => (i < h ? o : null));
    const { values: temps, anchor } = anchorCorrection(day.forecastC, seen, day.rho);
    const margin = day.risk ? ambientMargin(day.starts, { ...day.risk, rho: day.rho }, anchor ? day.starts[anchor.index] : undefined) : undefined;
    const fixed = plan.filter((r) => r.startSlot < h + frozenSlots);
    const toPlace = plan.filter((r) => r.startSlot >= h + frozenSlots);
    const left = cfg.maxMovesPerDay - moves;
    if (!toPlace.length) continue;
    const runsToPlace = Object.fromEntries(cfg.processes.map((p) => [p.name, toPlace.filter((r) => r.process === p.name).length]));
    const now = input(temps, fixed, runsToPlace, margin);
    const was = input([...basis], fixed, runsToPlace, margin);
    const changed = day.starts.some((_, t) => t >= h && temps[t] !== basis[t] && Math.max(temps[t] ?? -Infinity, basis[t] ?? -Infinity) > cfg.coolingFromC);
    const blockChanged = cfg.processes.some((p) => {
      const a = blockedSlots(now, p.name);
      const b = blockedSlots(was, p.name);
      return a.some((x, t) => t >= h && x !== b[t]);
    });
    if (!changed && !blockChanged) continue;
    basis = temps;
    const windowEnd = day.starts[h]! + frozenSlots * HOUR_MS;
    for (const p of now.processes) p.frozenUntil = Math.max(windowEnd, ...fixed.filter((r) => r.process === p.name).map((r) => day.starts[0]! + (r.startSlot + r.slots) * HOUR_MS));
    now.previousRuns = toPlace;
    replans++;
    // Forced: the plan in force breaks an ambient limit on the corrected forecast (lowered by forceMarginC, 0 by
    // default), and the forced-move rule (forced-move.ts, the live planner's) says move: under 'priced' only when
    // the expected loss from staying exceeds what the move to the free re-plan costs, or the limit is certain.
    const forceMargin = day.forceMarginC ?? 0;
    const broken = violations(forceMargin ? { ...input(temps.map((x) => (x === null ? null : x - forceMargin)), fixed, runsToPlace), processes: now.processes } : now, toPlace).length > 0;
    if (!broken && left <= 0) continue;
    const keepEur = totalCost(now, toPlace).eur;
    const free = await planSchedule(now);
    if (free.infeasible) continue;
    let forced = broken;
    if (broken && rule.rule !== 'limit') {
      const shiftEur = day.shiftRuns ? totalCost({ ...now, fixedRuns: [] }, day.shiftRuns).eur : undefined;
      forced = forcedMove(now, toPlace, free.runs, { ...rule, ...(shiftEur === undefined ? {} : { shiftEur }) }).forced;
      if (!forced) stays++;
      if (!forced && left <= 0) continue;
    }
    let candidate: PlannedRun[] | undefined = free.runs;
    if (!forced && batchesMoved(plan, [...fixed, ...free.runs]) > left) {
      const within = await planWithinMoves(now, toPlace, left);
      candidate = within?.outcome.runs;
    }
    if (!candidate || violations(now, candidate).length) continue;
    const next = numbered([...fixed, ...candidate]);
    const moved = batchesMoved(plan, next);
    if (!moved || (!forced && moved > left)) continue;
    if (!forced && !(totalCost(now, candidate).eur < keepEur - cfg.replanThresholdEur)) continue;
    steps.push({ hour: h, temps, before: plan, after: next, moved, reason: forced ? 'forced' : 'cost' });
    plan = next;
    moves += moved;
  }
  return { runs: plan, moves: moves - day.movesUsed, steps, replans, stays };
}
