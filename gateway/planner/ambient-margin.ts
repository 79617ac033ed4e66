/**
 * A chance constraint on the ambient limits (issue #23): where a plan relies on a temperature forecast, its
 * feasibility checks (the outdoor halt `haltAtOutdoorC`, a process's `maxPlantTempC` on the plant-floor model, and
 * the cooling kW inside the contracted-power cap) read an upper temperature
 *
 *   upper(t) = forecast(t) + z × σ(lead(t))
 *
 * while the cost keeps the point forecast (cost.ts). With a Gaussian forecast error, a run placed on `upper` meets
 * a limit with probability Φ(z) per slot (z = 0: the point forecast, today's rule; 0.84: 80 %; 1.28: 90 %).
 *
 * σ(lead): the forecast error is an AR(1) process over the hours, stationary spread σ (°C) and lag-1
 * autocorrelation ρ (`planner.weatherErrorDecay`):  e(h) = ρ e(h−1) + √(1−ρ²) σ ε(h), ε ~ N(0, 1).
 * The live forecast is anchored on the last observed hour h0 (gateway/weather/error-correction.ts: it adds
 * ρ^L × e(h0) at h0 + L), so the error left at lead L is Σ_{k<L} ρ^k √(1−ρ²) σ ε(h0+L−k), whose spread is
 *
 *   σ(L) = σ × √(1 − ρ^(2L))        (L ≥ 0 hours after the last observation; 0 at L = 0, → σ as L grows)
 *
 * Without an anchor (a day-ahead plan made before the day's hours are observed, or no observation stored) the whole
 * spread σ applies. An observed hour (lead 0) gets no margin: its temperature is a fact.
 */
import { HOUR_MS } from '../time/tz.js';
import { diagnose, planSchedule, type PlanOutcome } from './plan.js';
import type { AmbientMargin, AmbientRisk, PlannerInput } from './types.js';

export type { AmbientRisk };


/**
 * The spread (°C) of the forecast error left `leadHours` after the last observed hour: σ √(1 − ρ^(2L)); 0 at a
 * lead ≤ 0 (observed); σ for an undefined lead (no anchor). Throws RangeError for ρ outside [0, 1] or σ < 0.
 */
export function errorSpreadC(sigmaC: number, rho: number, leadHours: number | undefined): number {
  if (!(rho >= 0 && rho <= 1)) throw new RangeError(`the weather error decay must be in [0, 1], got ${rho}`);
  if (!(sigmaC >= 0)) throw new RangeError(`the temperature forecast's error spread must be ≥ 0 °C, got ${sigmaC}`);
  if (leadHours === undefined) return sigmaC;
  if (leadHours <= 0) return 0;
  return sigmaC * Math.sqrt(1 - rho ** (2 * leadHours));
}

/**
 * The margin (°C, rounded up to 0.1) per slot of `starts` (UTC ms): z × σ(lead), the lead counted in whole hours
 * from the hour `anchorAt` (UTC ms of the last observed hour; undefined: no anchor, the full σ) to the hour
 * holding the slot. `observed(i)` true: slot i's temperature is an observation (margin 0) whatever the lead.
 */
export function ambientMargin(starts: readonly number[], risk: AmbientRisk, anchorAt?: number, observed: (i: number) => boolean = () => false): AmbientMargin {
  const spreadC = starts.map((t, i) => {
    if (observed(i)) return 0;
    const lead = anchorAt === undefined ? undefined : (Math.floor(t / HOUR_MS) * HOUR_MS - anchorAt) / HOUR_MS;
    return errorSpreadC(risk.sigmaC, risk.rho, lead);
  });
  const marginC = spreadC.map((s) => Math.ceil(Math.round(risk.z * s * 1e6) / 1e5) / 10);
  const priced = risk.stakeEur ? { stakeEur: risk.stakeEur, spreadC } : {};
  return { z: risk.z, sigmaC: risk.sigmaC, rho: risk.rho, ...(risk.sigmaFrom ? { sigmaFrom: risk.sigmaFrom } : {}), ...(anchorAt === undefined ? {} : { anchorAt }), marginC, ...priced };
}


/** Whether `input` checks the ambient limits with a margin above 0 in some slot. */
export const marginActive = (input: PlannerInput): boolean => !!input.ambientMargin?.marginC.some((m) => m > 0);

/**
 * `input` with the margin scaled by `scale` (0: none; 0.5: half, rounded up to 0.1 °C) for the horizon and
 * `relaxed` saying why (`why`: the constraint the fuller margin broke, one clause).
 */
export function relaxMargin(input: PlannerInput, why: string, scale = 0): PlannerInput {
  const m = input.ambientMargin!;
  const marginC = m.marginC.map((x) => Math.ceil(Math.round(x * scale * 1e6) / 1e5) / 10);
  const max = Math.max(0, ...marginC);
  const what = max > 0 ? `this plan keeps ${scale} of the margin (up to ${max.toFixed(1)} °C)` : 'this plan uses the point temperature forecast (a run may meet the limit)';
  return { ...input, ambientMargin: { ...m, marginC, relaxed: `${why}, so ${what}` } };
}

/** The steps the margin gives way by where it leaves work undone: half of it, then none. */
const RELAX_STEPS = [0.5, 0];

/**
 * `input` with the margin; where the margin alone leaves a process no feasible placement (diagnose names a problem
 * the point forecast does not have), the largest of half the margin and none that does not, and `relaxed` says why
 * in one sentence: the plan keeps as far from the limits as the day's work allows rather than leave work undone.
 * A problem the point forecast has too is left to the infeasible path as it is. The cases only the solver finds
 * (the batch order or the power cap with the limits) are relaxed by `planAmbient` and `planKeepingDays`.
 */
export function withAmbientMargin(input: PlannerInput, margin: AmbientMargin): PlannerInput {
  const strict: PlannerInput = { ...input, ambientMargin: margin };
  if (margin.marginC.every((m) => m === 0)) return strict;
  const withMargin = diagnose(strict);
  if (!withMargin.length) return strict;
  const { ambientMargin: _, ...point } = input;
  const without = diagnose(point);
  if (without.length >= withMargin.length) return strict;
  const why = withMargin.find((x) => !without.includes(x)) ?? withMargin[0]!;
  for (const scale of RELAX_STEPS) {
    const relaxed = relaxMargin(strict, why, scale);
    if (!scale || diagnose(relaxed).length <= without.length) return relaxed;
  }
  return relaxMargin(strict, why);
}

/**
 * `plan` (planSchedule by default) with the margin, and where it leaves work undone that a smaller margin does not
 * (the solver's infeasibility), with half the margin, then none, saying why (relaxMargin). Returns the input the plan
 * was made for.
 */
export function planAmbient(input: PlannerInput): Promise<{ input: PlannerInput; outcome: PlanOutcome }> {
  return relaxing(input, planSchedule);
}

/** As planAmbient with any planning step `plan` whose result names `infeasible` when it leaves work undone. */
export async function relaxing<T extends { infeasible?: string[] | undefined }>(input: PlannerInput, plan: (input: PlannerInput) => Promise<T>): Promise<{ input: PlannerInput; outcome: T }> {
  const outcome = await plan(input);
  if (!outcome.infeasible || !marginActive(input)) return { input, outcome };
  for (const scale of RELAX_STEPS) {
    const relaxed = relaxMargin(input, outcome.infeasible[0]!, scale);
    const again = await plan(relaxed);
    if (!again.infeasible) return { input: relaxed, outcome: again };
  }
  return { input, outcome };
}

/** The margin's summary for the plan document and simulate's setup line, e.g. "z 0.84 × σ 1.2 °C: 0-1.0 °C". */
export function describeMargin(m: AmbientMargin): string {
  const applied = m.marginC.filter((x) => x > 0);
  const range = applied.length ? `${Math.min(...applied).toFixed(1)}-${Math.max(...applied).toFixed(1)} °C on ${applied.length} forecast slot(s)` : 'none (every slot observed, or z or σ 0)';
  return `ambient limits checked at the forecast + z ${m.z} × σ(lead), σ ${m.sigmaC} °C${m.sigmaFrom ? ` (${m.sigmaFrom})` : ''} × √(1 − ${m.rho}^(2 × lead h))${m.anchorAt === undefined ? ' (no observed hour: full σ)' : ''}: ${range}${m.stakeEur ? `; each run's chance of meeting a limit priced at ${m.stakeEur} € in the solvers' choice` : ''}${m.relaxed ? `; relaxed: ${m.relaxed}` : ''}`;
}
