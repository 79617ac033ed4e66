/**
 * Why a batch waits between two steps (a fresh tester's demo showed conching waits of many hours and nothing said
 * why). The plan document gives every wait longer than WAIT_REASON_MINUTES its reason (`runs[].wait_reason`), found
 * the same way whatever placed the run: each earlier start, from the end of the step before (or the horizon's start)
 * to the planned one, is tried and what rules it out is named: the frozen window, a line stop, forbidden hours, heat
 * (the halt, the step's plant-temperature limit), the line running another batch, another constraint the moved run
 * would break (contracted power, a day's quota, the batch order); when an earlier start breaks nothing, the €
 * it would cost more (the plan waits for cheaper hours; the holding tank's cost is counted) or, should it cost less,
 * why this plan did not take it (the plan in force kept, the solver's limit).
 *
 * Times are slots of the input; the sentences give local times.
 */
import { formatLocalIso } from '../time/tz.js';
import { blockedSlots, limitOutdoorC, violations } from './cost.js';
import { totalCost, type Held } from './holding.js';
import type { PlannedRun, PlannerInput } from './types.js';

/** Waits longer than this (minutes) carry their reason in the plan document. */
export const WAIT_REASON_MINUTES = 60;

type Why = { key: string; text: string };

/** The reason of a fixed run's wait (carryWaitReasons adds the reason the plan that placed it gave). */
export const KEPT = 'kept where the plan in force placed it (started, or starting within the frozen window, planner.frozenMinutes)';

/**
 * A fixed run's wait keeps the reason the plan that placed it gave: `runs` (a new plan document's) with each
 * KEPT reason followed by the reason of the same run (process, batch, start) in `previous` (the plan in force's).
 */
export function carryWaitReasons<R extends { process: string; batch: number; start: string; wait_reason?: string }>(runs: readonly R[], previous: readonly R[] | undefined): R[] {
  return runs.map((r) => {
    if (r.wait_reason !== KEPT) return r;
    const before = previous?.find((x) => x.process === r.process && x.batch === r.batch && x.start === r.start)?.wait_reason;
    if (!before || before === KEPT) return r;
    return { ...r, wait_reason: before.startsWith(`${KEPT}: `) ? before : `${KEPT}: ${before}` };
  });
}

/**
 * The reason `run` (one of `runs`, the planned runs, or one of the input's fixed runs) waits `held`, in words, e.g.
 * "01-10 14:00-17:00: the conching line runs batch 5 until 17:00; starting at 17:00 costs 2.31 € more (the plan
 * waits for cheaper hours)". `context.keptPrevious`: the plan is the plan in force kept; `context.method`: how it was
 * solved.
 */
export function waitReason(input: PlannerInput, runs: readonly PlannedRun[], run: PlannedRun, held: Held, context: { timezone: string; keptPrevious: boolean; method: string; fallbackReason?: string | null }): string {
  const at = (slot: number) => formatLocalIso(input.starts[0]! + slot * input.resolutionMs, context.timezone).slice(5, 16).replace('T', ' ');
  const hhmm = (ms: number) => formatLocalIso(ms, context.timezone).slice(11, 16);
  if (input.fixedRuns.includes(run)) return KEPT;
  const earliest = Math.max(0, held.fromSlot);
  if (earliest >= run.startSlot) return `its ${previousOf(input, run.process)} ended before this plan's horizon; it starts at the horizon's first slot`;
  const p = input.processes.find((x) => x.name === run.process)!;
  const blocked = blockedSlots(input, run.process);
  const all = [...input.fixedRuns, ...runs];
  const others = all.filter((r) => r !== run && r.process === run.process);
  const base = totalCost(input, runs).eur;
  const broken = new Set(violations(input, runs));
  const gap = Math.ceil((p.minGapMinutes * 60_000) / input.resolutionMs);
  const whyNot = (c: number): Why | { eur: number } => {
    const start = input.starts[c]!;
    if (p.frozenUntil !== undefined && start < p.frozenUntil) return { key: 'frozen', text: `nothing new starts before ${hhmm(p.frozenUntil)} (the frozen window, planner.frozenMinutes)` };
    for (let t = c; t < Math.min(input.starts.length, c + run.slots); t++) {
      if (!blocked[t]) continue;
      if (p.blockedUntil !== undefined && input.starts[t]! < p.blockedUntil) return { key: 'stop', text: `the ${run.process} line is stopped until ${hhmm(p.blockedUntil)} (an operator's stop)` };
      if (input.forbidden[t]) return { key: 'forbidden', text: `forbidden hours from ${at(t)} (planner.forbidden, productionWindows)` };
      const o = limitOutdoorC(input, t);
      if (o !== null && o >= input.haltAtOutdoorC) return { key: 'halt', text: `heat: ${o} °C outside at ${at(t)} halts production (planner.haltAtOutdoorC ${input.haltAtOutdoorC} °C)` };
      return { key: 'heat', text: `heat: the plant is above ${run.process}'s ${p.maxPlantTempC} °C at ${at(t)} (maxPlantTempC)` };
    }
    const busy = others.find((r) => r.startSlot < c + run.slots + gap && c < r.startSlot + r.slots + gap);
    if (busy) return { key: `busy${busy.batch}`, text: `the ${run.process} line runs ${busy.batch ? `batch ${busy.batch}` : 'another batch'} until ${at(busy.startSlot + busy.slots)}` };
    const moved = runs.map((r) => (r === run ? { ...r, startSlot: c } : r));
    const fresh = violations(input, moved).filter((v) => !broken.has(v));
    if (fresh.length) return { key: `v:${fresh[0]!.replace(/\d+(\.\d+)?/g, '')}`, text: `starting then breaks a constraint: ${fresh[0]}` };
    return { eur: totalCost(input, moved).eur - base };
  };
  const groups: Array<{ from: number; to: number; why: Why }> = [];
  let cheapest: { slot: number; eur: number } | undefined;
  for (let c = earliest; c < run.startSlot; c++) {
    const w = whyNot(c);
    if ('eur' in w) {
      if (!cheapest || w.eur < cheapest.eur) cheapest = { slot: c, eur: w.eur };
      continue;
    }
    const last = groups.at(-1);
    if (last && last.why.key === w.key && last.to === c) last.to = c + 1;
    else groups.push({ from: c, to: c + 1, why: w });
  }
  const parts = groups.slice(0, 3).map((g) => `${at(g.from)}${g.to - g.from > 1 ? `-${at(g.to).slice(6)}` : ''}: ${g.why.text}`);
  if (groups.length > 3) parts.push(`${groups.length - 3} more earlier start(s) ruled out`);
  if (cheapest) {
    const eur = Math.round(cheapest.eur * 100) / 100;
    if (eur > 0) parts.push(`starting at ${at(cheapest.slot)}, the cheapest earlier start that breaks nothing, costs ${eur.toFixed(2)} € more (the plan waits for cheaper hours; the holding tank's ${p.holdKw ?? 0} kW counted)`);
    else {
      const stake = input.ambientMargin?.stakeEur ?? 0;
      const why = context.keptPrevious
        ? 'the plan in force was kept (a re-plan saves no more than planner.replanThresholdEur, or the day has no batch move left, planner.maxMovesPerDay)'
        : context.method !== 'milp'
          ? `the ${context.method} plan is not the cheapest${context.fallbackReason ? ` (${context.fallbackReason})` : ''}`
          : stake > 0
            ? `the solver chose this start with the ambient risk priced (planner.ambientRisk.stakeEur ${stake} €), which this figure leaves out`
            : 'no reason known: report this plan';
      parts.push(`starting at ${at(cheapest.slot)} would cost ${Math.abs(eur).toFixed(2)} € ${eur < 0 ? 'less' : 'the same'}: ${why}`);
    }
  }
  return parts.join('; ') || 'no earlier start in the horizon';
}

function previousOf(input: PlannerInput, process: string): string {
  const i = input.order.indexOf(process);
  return i > 0 ? input.order[i - 1]! : 'step before';
}
