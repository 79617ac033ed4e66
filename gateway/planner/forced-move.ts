/**
 * The forced-move rule (issue #23): when a re-plan finds that the plan in force breaks a limit on the temperature
 * forecast it now has (corrected on the last observed hour, gateway/weather/error-correction.ts), does the plant
 * move those batches whatever the day's move limit says (a forced move, gateway/planner/moves.ts), or keep them?
 * One rule for the live planner (plugins/planner) and `simulate`'s intraday replay (models/eval/simulate-live.ts),
 * so the two cannot drift. `planner.ambientRisk.forcedMoveRule`:
 *
 * - `limit`: move whenever the plan in force breaks any constraint on the point forecast (plus the chance
 *   constraint's margin, if any): the rule before the price.
 * - `priced`: a crossing of an ambient limit (the 35 °C halt, a process's maxPlantTempC on the plant-floor model)
 *   is a forecast, not a fact. The plan in force is moved by force only when its expected loss from staying exceeds
 *   what the move costs:
 *
 *     stake × Σ_runs P_keep(run) − stake × Σ_runs P_move(run)  >  cost(move) − cost(keep) + replanThresholdEur
 *
 *   P(run) = the largest over the run's slots of 1 − Φ((limit − forecast) / σ(lead)) (ambient-risk.ts, the same P
 *   the solvers price), `stake` = planner.ambientRisk.forcedMoveStakeEur (0: planner.ambientRisk.stakeEur), the
 *   costs the plans' reported € (totalCost) on the same input, and planner.replanThresholdEur the price the plant
 *   puts on changing its plan (the same threshold an elective move must beat). Otherwise the batches stay and the
 *   plan says so (`describeStay`).
 * - `saving`: as `priced`, with the loss a plan that meets a limit makes in `simulate` (and a plant that falls back to
 *   its fixed shift): its saving against the fixed shift, with the chance that one of its runs meets the limit
 *   (the largest run's P, the hourly errors being strongly correlated): move when
 *     (shift − cost(keep))⁺ × maxP_keep − (shift − cost(move))⁺ × maxP_move  >  cost(move) − cost(keep) + threshold,
 *   i.e. when the move lowers the expected cost. `shift` = the fixed shift's cost for the same work on the same
 *   input (`ForcedMoveSettings.shiftEur`; absent: the `priced` stake). Safety first: where the limit is certainly met (an observed slot, or a slot
 *   whose σ(lead) is 0, over the limit) the plan moves whatever it costs, and any other broken constraint (power,
 *   batch order, quota, a forbidden or stopped slot) forces the move as under `limit`. Without σ per slot (no
 *   `ambientMargin.spreadC`: neither a stake nor a margin configured) every crossing counts as certain: `limit`.
 *
 * Slots are the input's; € to the cent; temperatures °C.
 */
import { blockedSlots, violations } from './cost.js';
import { totalCost } from './holding.js';
import { limitChance } from './ambient-risk.js';
import type { PlannedRun, PlannerInput } from './types.js';

export type ForcedMoveRule = 'limit' | 'priced' | 'saving';

export interface ForcedMoveSettings {
  rule: ForcedMoveRule;
  /** € lost when a run meets an ambient limit (the halted or spoiled batch); > 0 for `priced`. */
  stakeEur: number;
  /** € the plant puts on changing its plan (planner.replanThresholdEur). */
  moveCostEur: number;
  /**
   * `saving`: the fixed shift's cost (€) for the same work on the same input, what the plant falls back to when a
   * run meets its limit; absent: the `priced` stake is used instead.
   */
  shiftEur?: number;
}

/** The settings from the planner config: forcedMoveStakeEur, or stakeEur when it is 0. */
export function forcedMoveSettings(planner: { replanThresholdEur: number; ambientRisk: { stakeEur: number; forcedMoveRule?: ForcedMoveRule; forcedMoveStakeEur?: number } }): ForcedMoveSettings {
  const r = planner.ambientRisk;
  return { rule: r.forcedMoveRule ?? 'priced', stakeEur: r.forcedMoveStakeEur || r.stakeEur, moveCostEur: planner.replanThresholdEur };
}

/** One run's chance of meeting its first ambient limit on `input`'s temperatures, and whether it is certain. */
export interface RunRisk {
  process: string;
  batch: number;
  startSlot: number;
  /** 0-1: the largest over the run's slots. */
  p: number;
  /** Some slot of the run is over the limit with no spread left (observed, or σ(lead) 0). */
  certain: boolean;
}

/**
 * P(the run meets its first ambient limit) per run of `runs` on `input` (point forecast, σ(lead) from
 * `input.ambientMargin.spreadC`, 0 where absent): in a slot with σ > 0, 1 − Φ((limit − forecast) / σ); in a slot
 * with σ 0, 1 when the point temperature blocks the process there (haltAtOutdoorC, maxPlantTempC), else 0.
 */
export function runRisks(input: PlannerInput, runs: readonly PlannedRun[]): RunRisk[] {
  const spread = input.ambientMargin?.spreadC;
  const { ambientMargin: _, ...point } = input;
  return runs.map((r) => {
    const blocked = ambientBlocked(point, r.process);
    // A slot with no spread left over the limit on the point temperature is a fact: certain.
    let certain = false;
    for (let t = Math.max(0, r.startSlot); t < Math.min(input.starts.length, r.startSlot + r.slots); t++) {
      const o = input.outdoorC[t];
      if (o !== null && o !== undefined && !((spread?.[t] ?? 0) > 0) && blocked[t]) certain = true;
    }
    const p = certain ? 1 : limitChance(input, r.process, r.startSlot, r.slots);
    return { process: r.process, batch: r.batch, startSlot: r.startSlot, p, certain };
  });
}

/** The slots where the ambient limits alone (not forbidden hours, a stop or the frozen window) block `process`. */
function ambientBlocked(input: PlannerInput, process: string): boolean[] {
  const all = blockedSlots(input, process, { ignoreFrozen: true });
  const cool = blockedSlots({ ...input, outdoorC: input.outdoorC.map(() => null) }, process, { ignoreFrozen: true });
  return all.map((b, t) => b && !cool[t]);
}

/**
 * Whether some run of `runs` runs in a slot that the ambient limits alone block on `input` (the point forecast plus
 * the chance constraint's margin, as the solvers read it): the trigger of the forced-move rule in the live planner.
 */
export function meetsAmbientLimit(input: PlannerInput, runs: readonly PlannedRun[]): boolean {
  return runs.some((r) => {
    const blocked = ambientBlocked(input, r.process);
    for (let t = Math.max(0, r.startSlot); t < Math.min(input.starts.length, r.startSlot + r.slots); t++) if (blocked[t]) return true;
    return false;
  });
}

export interface ForcedMoveVerdict {
  /** The plan in force breaks a constraint on `input` (the trigger of both rules). */
  broken: boolean;
  /** Move by force (not refused by the day's move limit). */
  forced: boolean;
  /** Forced whatever the price: a limit certainly met, or a constraint other than the ambient limits broken. */
  certain: boolean;
  /** € expected to be lost by staying, net of the risk the move keeps (stake × (ΣP_keep − ΣP_move)); 0 under `limit`. */
  expectedLossEur: number;
  /** € the move costs: cost(move) − cost(keep) + the move cost; 0 under `limit`. */
  moveCostEur: number;
  /** The runs of the plan in force that meet a limit with some chance (p > 0), largest first. */
  atRisk: RunRisk[];
}

/**
 * The forced-move rule for a re-plan whose input is `input` (the corrected forecast, σ(lead) per slot, the runs
 * that stay fixed in `input.fixedRuns`): `keep` the plan in force's runs still free to move, `move` the re-plan's
 * runs in their place (undefined: no plan to move to). Under `limit` forced whenever `keep` breaks a constraint;
 * under `priced` see the module's docstring.
 */
export function forcedMove(input: PlannerInput, keep: readonly PlannedRun[], move: readonly PlannedRun[] | undefined, settings: ForcedMoveSettings): ForcedMoveVerdict {
  const none: ForcedMoveVerdict = { broken: false, forced: false, certain: false, expectedLossEur: 0, moveCostEur: 0, atRisk: [] };
  const broken = violations(input, keep);
  if (!broken.length) return none;
  const risks = runRisks(input, keep);
  const atRisk = risks.filter((r) => r.p > 0).sort((a, b) => b.p - a.p);
  // Any break the ambient limits do not explain (power, order, quota, a forbidden or stopped slot) is a fact.
  const { ambientMargin: _, ...point } = input;
  const structural = violations({ ...point, outdoorC: input.outdoorC.map(() => null) }, keep).length > 0 || broken.some((v) => !/runs in a blocked slot/.test(v));
  const certain = structural || risks.some((r) => r.certain) || !input.ambientMargin?.spreadC;
  if (settings.rule === 'limit' || certain || !move) return { broken: true, forced: settings.rule === 'limit' || certain, certain, expectedLossEur: 0, moveCostEur: 0, atRisk };
  const keepEur = totalCost(input, keep).eur;
  const moveEur = totalCost(input, move).eur;
  const moveRisks = runRisks(input, move);
  let expectedLossEur: number;
  if (settings.rule === 'saving' && settings.shiftEur !== undefined) {
    // A plan that meets a limit falls back to the fixed shift: it loses its saving against the shift, with the
    // chance that one of its runs meets the limit (the largest run's: the hourly errors are strongly correlated).
    const maxP = (rs: readonly RunRisk[]) => Math.max(0, ...rs.map((r) => r.p));
    expectedLossEur = round2(Math.max(0, settings.shiftEur - keepEur) * maxP(risks) - Math.max(0, settings.shiftEur - moveEur) * maxP(moveRisks));
  } else {
    const sumP = (rs: readonly RunRisk[]) => rs.reduce((a, r) => a + r.p, 0);
    expectedLossEur = round2(settings.stakeEur * (sumP(risks) - sumP(moveRisks)));
  }
  const moveCostEur = round2(moveEur - keepEur + settings.moveCostEur);
  return { broken: true, forced: expectedLossEur > moveCostEur, certain: false, expectedLossEur, moveCostEur, atRisk };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * One sentence for the plan document when the priced rule keeps runs that meet a limit on the forecast, e.g.
 * "tempering #4 at 16:00 stays though the forecast meets its ambient limit (P 62 %): the 4.65 € expected loss is less
 * than the 6.10 € the move costs (planner.ambientRisk.forcedMoveRule priced)". `at(slot)` gives a slot's local time.
 */
export function describeStay(v: ForcedMoveVerdict, at: (slot: number) => string): string {
  const runs = v.atRisk.filter((r) => r.p >= 0.5);
  const named = (runs.length ? runs : v.atRisk.slice(0, 1)).map((r) => `${r.process} #${r.batch} at ${at(r.startSlot)} (P ${Math.round(r.p * 100)} %)`).join(', ');
  return `${named} ${runs.length > 1 ? 'stay' : 'stays'} though the temperature forecast meets the ambient limit: the ${v.expectedLossEur.toFixed(2)} € expected loss is less than the ${v.moveCostEur.toFixed(2)} € the move costs (planner.ambientRisk.forcedMoveRule priced)`;
}

/** The reason a forced move is kept with (moves.ts), one clause: why the rule moved the plan in force. */
export function describeForced(v: ForcedMoveVerdict, at: (slot: number) => string): string {
  const top = v.atRisk[0];
  const which = top ? ` (${top.process} #${top.batch} at ${at(top.startSlot)}, P ${Math.round(top.p * 100)} %)` : '';
  if (v.certain) return `the plan in force meets an ambient limit for certain${which}: moved whatever it costs`;
  if (v.moveCostEur === 0 && v.expectedLossEur === 0) return `the plan in force meets an ambient limit on the corrected temperature forecast${which}`;
  return `the plan in force meets an ambient limit on the corrected temperature forecast${which}: its ${v.expectedLossEur.toFixed(2)} € expected loss exceeds the ${v.moveCostEur.toFixed(2)} € the move costs (planner.ambientRisk.forcedMoveRule priced)`;
}
