import { URGENCY, type RecommendationClass } from '../inference/prototype-scores.js';
import { PAYLOAD_VERSION, type PlanDocumentPayload } from '../mqtt/topics.js';
import { HOUR_MS, formatLocalIso, formatUtcIso } from '../time/tz.js';
import { describeMargin } from './ambient-margin.js';
import { blockedSlots, coolingKw, slotCost } from './cost.js';
import { sitePlanView } from './contract-view.js';
import { describeBreach, heldIntervals, holdEurPerSlot, holdingBreaches, holdLimitMinutes, totalCost } from './holding.js';
import type { PlanOutcome } from './plan.js';
import { WAIT_REASON_MINUTES, waitReason } from './wait-reasons.js';
import type { PlannerInput, PlannedRun } from './types.js';

/** Per hour: how much of the contracted power the plan uses, and whether the hour is blocked, give its class. */
export function hourRecommendation(powerKw: number, contractedKw: number, blockedAll: boolean, hot: boolean): RecommendationClass {
  if (hot || blockedAll) return 'Halt';
  if (powerKw >= 0.5 * contractedKw) return 'Optimal';
  if (powerKw > 0) return 'Moderate';
  return 'Reduced';
}

export function planDocument(
  input: PlannerInput,
  outcome: PlanOutcome,
  meta: { planId: string; version: number; createdAt: number; baselineEur: number | null; savedReason?: string | null; keptPrevious: boolean; timezone: string; lineOf: (process: string) => string; modelRecommendation?: (hourStart: number) => RecommendationClass | null; /** The fixed shift's schedule, for its expected bill (with a contract). */ baselineRuns?: readonly PlannedRun[] | null },
): PlanDocumentPayload {
  const T = input.starts.length;
  const power = new Array<number>(T).fill(0);
  const cost = new Array<number>(T).fill(0);
  const running: Array<Set<string>> = Array.from({ length: T }, () => new Set<string>());
  const all: PlannedRun[] = [...input.fixedRuns, ...outcome.runs];
  const held = heldIntervals(input, outcome.runs);
  const minutes = (slots: number) => Math.round((slots * input.resolutionMs) / 60_000);
  for (const h of held) {
    const c = holdEurPerSlot(input, h.process);
    for (let t = Math.max(0, h.fromSlot); t < Math.min(T, h.toSlot); t++) cost[t]! += c[t]!;
  }
  const runs = all.map((r) => {
    const p = input.processes.find((x) => x.name === r.process)!;
    let eur = 0;
    for (let t = Math.max(0, r.startSlot); t < Math.min(T, r.startSlot + r.slots); t++) {
      power[t]! += p.kw + coolingKw(input, t);
      running[t]!.add(r.process);
      const c = slotCost(input, r.process, t).eur;
      cost[t]! += c;
      eur += c;
    }
    const start = input.starts[0]! + r.startSlot * input.resolutionMs;
    const wait = held.find((h) => !h.open && h.process === r.process && h.toSlot === r.startSlot && h.batch === r.batch);
    // The limit as configured (maxWaitMinutes), not the whole slots the solvers keep it as (holding.ts holdLimitSlots).
    const limit = holdLimitMinutes(input, r.process);
    return {
      process: r.process,
      line: meta.lineOf(r.process),
      batch: r.batch,
      start: formatUtcIso(start),
      end: formatUtcIso(start + r.slots * input.resolutionMs),
      start_local: formatLocalIso(start, meta.timezone),
      kw: p.kw,
      cost_eur: Math.round(eur * 100) / 100,
      waited_min: wait ? minutes(wait.toSlot - wait.fromSlot) : null,
      max_wait_min: limit ?? null,
      // Every wait longer than an hour says why (wait-reasons.ts).
      ...(wait && minutes(wait.toSlot - wait.fromSlot) > WAIT_REASON_MINUTES ? { wait_reason: waitReason(input, outcome.runs, r, wait, { timezone: meta.timezone, keptPrevious: meta.keptPrevious, method: outcome.method, fallbackReason: outcome.fallbackReason ?? null }) } : {}),
    };
  });
  // Halt is the plant's rule at the forecast (the chance constraint's margin keeps runs out of an hour, it does not halt it).
  const { ambientMargin, ...atForecast } = input;
  const blocked = input.processes.map((p) => blockedSlots(atForecast, p.name, { ignoreFrozen: true }));
  const perHour = Math.max(1, Math.round(HOUR_MS / input.resolutionMs));
  const hours: PlanDocumentPayload['hours'] = [];
  for (let t = 0; t < T; t += perHour) {
    const idx = Array.from({ length: Math.min(perHour, T - t) }, (_, i) => t + i);
    const kw = Math.max(...idx.map((i) => power[i]!));
    const hot = idx.some((i) => (input.outdoorC[i] ?? -Infinity) >= input.haltAtOutdoorC);
    const cls = hourRecommendation(kw, input.contractedKw, idx.every((i) => blocked.every((b) => b[i])), hot);
    hours.push({
      start: formatUtcIso(input.starts[t]!),
      start_local: formatLocalIso(input.starts[t]!, meta.timezone),
      price_eur_mwh: Math.round((idx.reduce((s, i) => s + input.priceEurMwh[i]!, 0) / idx.length) * 100) / 100,
      price_source: input.priceSource[t]!,
      period: input.period[t]!,
      power_kw: Math.round(kw * 10) / 10,
      running: [...new Set(idx.flatMap((i) => [...running[i]!]))].sort(),
      cost_eur: Math.round(idx.reduce((s, i) => s + cost[i]!, 0) * 100) / 100,
      recommendation: cls,
      urgency: URGENCY[cls],
      model_recommendation: meta.modelRecommendation?.(input.starts[t]!) ?? null,
    });
  }
  const total = totalCost(input, outcome.runs);
  const totalEur = total.eur;
  const saved = meta.baselineEur === null ? null : Math.round((meta.baselineEur - totalEur) * 100) / 100;
  return {
    v: PAYLOAD_VERSION,
    plan_id: meta.planId,
    version: meta.version,
    created_at: formatUtcIso(meta.createdAt),
    horizon: { start: formatUtcIso(input.starts[0]!), end: formatUtcIso(input.starts[0]! + T * input.resolutionMs), resolution_min: input.resolutionMs / 60_000 },
    method: outcome.method,
    status: outcome.status,
    solve_ms: Math.round(outcome.solveMs),
    mip_gap: outcome.method === 'milp-time-limit' && outcome.mipGap !== undefined && Number.isFinite(outcome.mipGap) ? Math.round(outcome.mipGap * 1e6) / 1e6 : null,
    fallback_reason: outcome.fallbackReason ?? null,
    infeasible: outcome.infeasible ?? [],
    kept_previous: meta.keptPrevious,
    runs,
    hours,
    holding_breaches: holdingBreaches(held).map((h) => describeBreach(input, h)),
    ...(ambientMargin ? { ambient_margin: { z: ambientMargin.z, sigma_c: ambientMargin.sigmaC, sigma_from: ambientMargin.sigmaFrom ?? null, rho: ambientMargin.rho, anchor: ambientMargin.anchorAt === undefined ? null : formatUtcIso(ambientMargin.anchorAt), margin_c: ambientMargin.marginC, stake_eur: ambientMargin.stakeEur ?? 0, summary: describeMargin(ambientMargin), relaxed: ambientMargin.relaxed ?? null } } : {}),
    site: sitePlanView(input, outcome.runs, meta.baselineRuns ?? null, meta.timezone),
    totals: {
      kwh: total.kwh,
      cost_eur: totalEur,
      holding_kwh: total.holdKwh,
      holding_eur: total.holdEur,
      excess_eur: input.site ? total.excessEur : null,
      baseline_eur: meta.baselineEur,
      saved_eur: saved,
      saved_reason: saved !== null && saved < 0 ? (meta.savedReason ?? 'no reason known: report this plan') : null,
    },
  };
}
