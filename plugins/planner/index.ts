import { errorMessage } from '../../gateway/util/errors.js';
import type { Config } from '../../gateway/config/schema.js';
import type { Alert } from '../../gateway/core/event-bus.js';
import { HealthTracker } from '../../gateway/util/health.js';
import { CLASSES } from '../../gateway/inference/prototype-scores.js';
import { PAYLOAD_VERSION, topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { assignBatchIds } from '../../gateway/planner/batch-ids.js';
import { buildPlannerInput, inWindows } from '../../gateway/planner/build.js';
import { contractInput } from './contract-input.js';
import { fitContinuations, interruptRuns, physicalStart, placeContinuations, withInterruptions, type StartedRun } from './interruptions.js';
import { keepsRuns } from './kept-previous.js';
import { updateLeftPlan, type LeftStep } from './left-plan.js';
import { inForce, overrideTooFar } from './override-limits.js';
import { violations } from '../../gateway/planner/cost.js';
import { breachAlert, breachSubject, describeBreach, heldIntervals, holdingBreaches, totalCost } from '../../gateway/planner/holding.js';
import { planDocument } from '../../gateway/planner/document.js';
import { planRecommendationAt } from '../../gateway/planner/recommendation.js';
import { solveGreedy } from '../../gateway/planner/greedy.js';
import { dayQuotas, planKeepingDays } from '../../gateway/planner/day-quotas.js';
import { frozenRuns, noNewStartBefore, type TimedRun } from '../../gateway/planner/frozen.js';
import { noStartBefore } from '../../gateway/planner/no-past-start.js';
import { batchesInTheLine, keepWorkInProgress, newBatchQuotas } from '../../gateway/planner/work-in-progress.js';
import { savingBand } from '../../gateway/planner/band.js';
import { diffBatches, movesOf, movesOn, pruneMoves, withinLimit, type BatchMove } from '../../gateway/planner/moves.js';
import { planWithinMoves } from '../../gateway/planner/within-moves.js';
import { carryWaitReasons } from '../../gateway/planner/wait-reasons.js';
import { describeForced, describeStay, forcedMove, forcedMoveSettings, meetsAmbientLimit } from '../../gateway/planner/forced-move.js';
import type { PlanOutcome } from '../../gateway/planner/plan.js';
import type { AmbientMargin, PlannedRun, PlannerInput } from '../../gateway/planner/types.js';
import { outputModeOf } from '../../gateway/core/output-mode.js';
import { lineStateAt, sameGuardShifts, withGuardShifts, type GuardShift } from '../../gateway/lines/line-state.js';
import { correctedTemperatures } from '../../gateway/weather/error-correction.js';
import { forecastSkill, ISSUED_TEMP_SERIES, SKILL_MIN_HOURS, skillWindow } from '../../gateway/weather/forecast-skill.js';
import { ambientMargin, withAmbientMargin } from '../../gateway/planner/ambient-margin.js';
import { PLUGIN_API_VERSION, type JobRunResult, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { QUARTER_HOUR_MS, hourly } from '../../gateway/series/slots.js';
import { DAY_MS, HOUR_MS, InstantError, addDays, formatLocalIso, formatUtcIso, localDate, parseInstant } from '../../gateway/time/tz.js';

type PlannerConfig = Config['planner'];

export interface Override {
  line: string;
  command: 'stop' | 'resume';
  until: number;
  at: number;
}

export interface PlannerPlugin extends Plugin {
  current(): PlanDocumentPayload | null;
  preview(changes: PlanChanges): Promise<PlanDocumentPayload>;
  apply(changes: PlanChanges): Promise<PlanDocumentPayload>;
  /**
   * Each line: its process, the configured batches per day, the run it does now (`state: 'running'`) or else its
   * next one (`state: 'next'`) with the batch id, the last acknowledgement and the override.
   */
  lines(): Array<{ line: string; process: string; batches_per_day: number; command: (PlanDocumentPayload['runs'][number] & { state: 'running' | 'next' }) | null; ack: unknown; override: Override | null }>;
}


/** What a re-plan keeps of the plan in force (frozen.ts): the runs, fixed, and per process no new start before. */
interface Hold {
  kept: TimedRun[];
  until: Record<string, number>;
}

export interface PlanChanges {
  quota?: Record<string, number>;
  contractedKw?: number;
}

/**
 * The plan document's note (`fallback_reason`) when the day's move limit let the solver make only some of a free
 * re-plan's moves, e.g. "a free re-plan would save 7.14 € by moving 3 batch(es), but the day has 2 of its 2 moves
 * left (planner.maxMovesPerDay): the solver moved the best 2". `gainEur` €, counts in batches.
 */
export function budgetNote(gainEur: number, wanted: number, madeToday: number, maxPerDay: number, moved: number): string {
  const left = Math.max(0, maxPerDay - madeToday);
  return `a free re-plan would save ${gainEur.toFixed(2)} € by moving ${wanted} batch(es), but the day has ${left} of its ${maxPerDay} move(s) left (planner.maxMovesPerDay, ${madeToday} made): the solver moved the best ${moved}`;
}

/** The steps a batch diff (moves.ts diffBatches) takes out of the plan (`to` null), as "tempering #6". */
export function droppedSteps(diff: ReadonlyMap<number, BatchMove['steps']>): string[] {
  return [...diff.entries()].flatMap(([batch, steps]) => steps.filter((s) => s.to === null).map((s) => `${s.process} #${batch}`));
}

export function createPlanner(ctx: PluginContext): PlannerPlugin {
  const tz = ctx.config.site.timezone;
  const tracker = new HealthTracker(() => ctx.clock.now());
  let planCfg: PlannerConfig = ctx.config.planner;
  /** The plan in force; kept in the store so that a restart still knows which runs have started. */
  let current: { doc: PlanDocumentPayload; runs: PlannedRun[]; startMs: number; resolutionMs: number } | null = null;
  let version = 0;
  const overrides = new Map<string, Override>();
  /** The quarter-hour guard's deferred run starts in force (`power.guard`): the line commands apply them, as the PLC lines do. */
  let guardShifts: GuardShift[] = [];
  const acks = new Map<string, unknown>();
  /** Runs that have started (from every plan so far), for today's quota, the batch order and the machines in use; two days kept. */
  let started: StartedRun[] = [];
  /** The first batch id no started run has had (batch-ids.ts); it only grows, and is kept in the store. */
  let nextBatch = 1;
  /** Moves the runs of the plan in force that have started by `now` into `started`, and returns it. */
  const startedRuns = (now: number): StartedRun[] => {
    for (const r of current?.runs ?? []) {
      const start = current!.startMs + r.startSlot * current!.resolutionMs;
      // A cut run's continuation (interruptions.ts) is the same started run, not a new one.
      if (start > now || started.some((x) => x.process === r.process && (x.start === start || (x.cut && x.batch === r.batch)))) continue;
      started.push({ process: r.process, batch: r.batch, start, end: start + r.slots * current!.resolutionMs });
      nextBatch = Math.max(nextBatch, r.batch + 1);
    }
    started = started.filter((r) => r.end > now - 2 * DAY_MS).sort((a, b) => a.start - b.start);
    return started;
  };
  const lineOf = (process: string) => planCfg.processes.find((p) => p.name === process)?.line ?? process;
  /** The end of the operator's stop of `line` in force at `now` (UTC ms), or null. */
  const stoppedUntil = (line: string, now: number): number | null => {
    const o = overrides.get(line);
    return o && o.command === 'stop' && o.at <= now && o.until > now ? o.until : null;
  };
  const outputs = outputModeOf(ctx);
  /** The plans published last (newest last): an acknowledgement must name one of them. */
  let recentPlanIds: string[] = [];
  const RECENT_PLANS = 3;
  /** Where the forecast prices started when FORECAST_PRICES was last raised: it is raised again only for a new boundary. */
  let forecastFrom: string | undefined;
  /** The holding breaches raised as HOLDING_LIMIT and not yet resolved, by subject (holding.ts breachAlert). */
  let holdingRaised = new Set<string>();
  /** Every batch move of the last week with its reason (moves.ts); kept in the store. */
  let moves: BatchMove[] = [];
  /** Steps that left the plan and are not back yet, with why (left-plan.ts); kept in the store. */
  let leftPlan: LeftStep[] = [];
  /** Why the next re-plan may not keep the frozen window (a line stop or resume, the guard), and for which processes (all when empty). */
  let release: { reason: string; processes: Set<string> } | null = null;
  /** The plan in force's runs in absolute time (fixed ones it kept included). */
  const timedRuns = (): TimedRun[] => (current?.runs ?? []).map((r) => ({ process: r.process, batch: r.batch, start: current!.startMs + r.startSlot * current!.resolutionMs, end: current!.startMs + (r.startSlot + r.slots) * current!.resolutionMs }));

  /** The overrides in force at `now` (until after it), as the plan document carries them (lineStateAt's safety layer). */
  const overridesAt = (now: number): NonNullable<PlanDocumentPayload['overrides']> =>
    [...overrides.values()].filter((o) => o.until > now).map((o) => ({ line: o.line, command: o.command, at: formatUtcIso(o.at), until: formatUtcIso(o.until) }));

  const alert = async (code: string, level: Alert['level'], message: string): Promise<void> => {
    ctx.bus.emit('alert', { code, level, message, at: ctx.clock.now() });
  };

  /** Published prices, then the model's forecast, at the finest resolution available, from `from` for up to `hours`. */
  const loadPrices = async (from: number, hours: number) => {
    const to = from + hours * HOUR_MS;
    const published = await ctx.store.read(ctx.config.models.priceSeries, from, to);
    const resolutionMs = published.some((s) => s.end - s.start === QUARTER_HOUR_MS) ? QUARTER_HOUR_MS : HOUR_MS;
    const forecast = hourly(await ctx.store.read(`forecast.${ctx.config.models.priceSeries}`, from, to));
    const starts: number[] = [];
    const price: number[] = [];
    const source: Array<'published' | 'forecast'> = [];
    for (let t = Math.floor(from / resolutionMs) * resolutionMs; t < to; t += resolutionMs) {
      const p = published.find((s) => s.start <= t && s.end > t);
      const f = forecast.find((s) => s.start <= t && s.end > t);
      if (!p && !f) break;
      starts.push(t);
      price.push(p?.value ?? f!.value);
      source.push(p ? 'published' : 'forecast');
    }
    return { starts, price, source, resolutionMs };
  };

  const outdoor = async (starts: number[], cfg: PlannerConfig): Promise<{ values: Array<number | null>; margin?: AmbientMargin }> => {
    if (!starts.length) return { values: [] };
    // The forecast moved by the error it made at the last observed hour, fading by planner.weatherErrorDecay per hour
    // (gateway/weather/error-correction.ts); observed hours take their observation.
    const fc = hourly(await ctx.store.read('fc.combined.temp', starts[0]! - 6 * HOUR_MS, starts.at(-1)! + HOUR_MS));
    const obs = hourly(await ctx.store.read('obs.combined.temp', starts[0]! - 6 * HOUR_MS, starts.at(-1)! + HOUR_MS));
    const { values, anchor } = correctedTemperatures(starts, fc, obs, cfg.weatherErrorDecay);
    // The chance constraint (ambient-margin.ts): the limits at the forecast + z × σ(hours since the anchor); none
    // without a forecast, and none when it is off (z = 0 and no stake, the default): the plan document then has no
    // ambient_margin. With a stake (ambient-risk.ts) the solvers price each run's chance of meeting a limit.
    const margin = fc.length && (cfg.ambientRisk.z > 0 || cfg.ambientRisk.stakeEur > 0) ? ambientMargin(starts, { z: cfg.ambientRisk.z, ...(await forecastSpread(cfg, starts[0]!)), rho: cfg.weatherErrorDecay, stakeEur: cfg.ambientRisk.stakeEur }, anchor?.at) : undefined;
    return { values, ...(margin ? { margin } : {}) };
  };

  /**
   * σ of the temperature forecast's day-ahead error (°C) and where it comes from: measured on this box
   * (gateway/weather/forecast-skill.ts, the last 28 days of forecasts kept as issued a day ahead) once 14 days have
   * both a forecast and an observation, else planner.ambientRisk.sigmaC, and why.
   */
  const forecastSpread = async (cfg: PlannerConfig, now: number): Promise<{ sigmaC: number; sigmaFrom: string }> => {
    const configured = cfg.ambientRisk.sigmaC;
    if (cfg.ambientRisk.sigmaFrom === 'config') return { sigmaC: configured, sigmaFrom: 'configured, planner.ambientRisk.sigmaC' };
    const { from, to } = skillWindow(now);
    const skill = forecastSkill(await ctx.store.read(ISSUED_TEMP_SERIES, from, to), await ctx.store.read('obs.combined.temp', from, to));
    const hours = skill?.hours ?? 0;
    if (!skill || hours < SKILL_MIN_HOURS) return { sigmaC: configured, sigmaFrom: `configured: ${hours} h of day-ahead forecasts measured against observations, ${SKILL_MIN_HOURS} needed` };
    // A day-ahead forecast that never misses by 0.1 °C is the observation under another name (a replay), not a forecast.
    if (skill.rmseC < 0.1) return { sigmaC: configured, sigmaFrom: `configured: the day-ahead forecast matched the observations within ${skill.rmseC} °C over ${hours} h, which no real forecast does` };
    return { sigmaC: skill.rmseC, sigmaFrom: `measured: RMS error of the day-ahead forecast over ${hours} h since ${localDate(skill.from, ctx.config.site.timezone)}, bias ${skill.biasC} °C, ρ ${skill.rho ?? 'n/a'}` };
  };

  /** Builds the solver input for now: quota minus runs already started today, started runs fixed, batch-order credit from finished runs, overrides as blocked slots. */
  const buildInput = async (cfg: PlannerConfig, now: number, hold?: Hold): Promise<{ input: PlannerInput; waitingIds: Record<string, number[]>; continuationProblems: string[] } | { refused: string }> => {
    const { starts, price, source, resolutionMs } = await loadPrices(now, cfg.horizonHours);
    if (starts.length < 4) return { refused: `fewer than 4 slots of published or forecast ${ctx.config.models.priceSeries} prices from now` };
    const first = starts[0]!;
    // The runs the re-plan keeps (frozen.ts) count like started ones: fixed, and done from the day's quota.
    const startedOnly = startedRuns(now);
    // A run a line stop cut runs again as soon as its line may (interruptions.ts): placed on this grid, fixed.
    placeContinuations(startedOnly, now, resolutionMs, (process) => stoppedUntil(lineOf(process), now));
    const kept = (hold?.kept ?? []).filter((r) => r.end <= first + starts.length * resolutionMs && !startedOnly.some((x) => x.cut && x.process === r.process && x.batch === r.batch));
    const history = [...startedOnly, ...kept];
    const fixedRuns: PlannedRun[] = history
      .filter((r) => r.end > first)
      .map((r) => ({ process: r.process, batch: r.batch, startSlot: Math.round((physicalStart(r) - first) / resolutionMs), slots: Math.round((r.end - physicalStart(r)) / resolutionMs) }));
    const today = localDate(now, tz);
    // The work as the free re-plan sees it (the started runs only); a kept run is one of its day's runs and of the
    // horizon's, not one more (a day whose quota the kept runs already fill gets none).
    const { days, runsToPlace } = dayQuotas(starts, resolutionMs, tz, newBatchQuotas(cfg.processes, cfg.order), cfg.order, (p) => startedOnly.filter((r) => r.process === p && localDate(r.start, tz) === today).length);
    for (const r of kept) {
      const day = days.find((d) => d.day === localDate(r.start, tz));
      if (day && (day.runs[r.process] ?? 0) > 0) day.runs[r.process]!--;
      if ((runsToPlace[r.process] ?? 0) > 0) runsToPlace[r.process]!--;
    }
    // A quota limits new batches, not the completion of the batches already in the line (work-in-progress.ts).
    const beyondQuota = keepWorkInProgress(cfg.order, batchesInTheLine(cfg.order, history), runsToPlace, days, cfg.processes);
    if (beyondQuota.length) ctx.log.info({ steps: beyondQuota }, 'planner: batches in the line finished beyond the day quota');
    // Batch order (the solvers' rule): the k-th run of b, fixed (running) ones first, needs the (k - credit)-th run of a.
    // The credit is the b runs running now plus the batches that finished a before the horizon and have no b run
    // (work in progress, by batch id), and at least what keeps today's quota counts consistent.
    // Counted on the started runs only: the kept runs (frozen.ts) keep the pairing they had, as the first runs after
    // the started ones in both lists (no new run of a process starts before its last kept one).
    // By batch id, not as "a runs done − b runs done": the started runs are kept two days, and a's run of a batch
    // leaves that window hours before b's run of the same batch, so the difference of counts lost a waiting batch
    // (the demo at x3600: refining #6 left it, conching #6 not, batch 10 waited for conching and no plan placed it for
    // 35 h, then one did with a 35 h wait; test/plugins/planner-waiting-batch.test.ts).
    const startedFixed = (process: string) => startedOnly.filter((r) => r.process === process && r.end > first).length;
    const startedOnlyToday = (process: string) => startedOnly.filter((r) => r.process === process && localDate(r.start, tz) === today).length;
    const waitingFor = (a: string, b: string) => {
      const taken = new Set(startedOnly.filter((r) => r.process === b).map((r) => r.batch));
      return startedOnly.filter((r) => r.process === a && r.end <= first && !taken.has(r.batch)).length;
    };
    const orderCredit = Object.fromEntries(
      cfg.order.slice(1).map((b, i) => {
        const a = cfg.order[i]!;
        return [b, Math.max(startedFixed(b) + waitingFor(a, b), startedOnlyToday(a) - startedOnlyToday(b) + startedFixed(b) - startedFixed(a))];
      }),
    );
    // The batches waiting for each later step: through the previous step before the horizon, not yet started here,
    // oldest first, with their ids (they keep them) and since when they wait (the holding limit counts from then).
    const waitingIds: Record<string, number[]> = {};
    const waitingSince: Record<string, number[]> = {};
    cfg.order.slice(1).forEach((b, i) => {
      const taken = new Set(history.filter((r) => r.process === b).map((r) => r.batch));
      const waiting = history.filter((r) => r.process === cfg.order[i] && r.end <= first && !taken.has(r.batch));
      waitingIds[b] = waiting.map((r) => r.batch);
      waitingSince[b] = waiting.map((r) => Math.floor((r.end - first) / resolutionMs));
    });
    // The fixed runs whose batch ended its previous step before the horizon: since when they waited (their wait is
    // reported, and a kept one's breach listed, whichever plan keeps them: holding.ts).
    const fixedWaitSince: Record<string, Record<number, number>> = {};
    cfg.order.slice(1).forEach((b, i) => {
      for (const r of fixedRuns.filter((x) => x.process === b)) {
        const pred = history.find((x) => x.process === cfg.order[i] && x.batch === r.batch && x.end <= first);
        if (pred) (fixedWaitSince[b] ??= {})[r.batch] = Math.floor((pred.end - first) / resolutionMs);
      }
    });
    // With energy.contract: the contract's prices, Pc per period, base load and the month's excess so far (contract-input.ts).
    const temps = await outdoor(starts, cfg);
    const built = buildPlannerInput(cfg, { starts, resolutionMs, priceEurMwh: price, priceSource: source, outdoorC: temps.values, runsToPlace, dayQuotas: days, fixedRuns, orderCredit, waitingSince, fixedWaitSince }, tz);
    const input = await contractInput(ctx, temps.margin ? withAmbientMargin(built, temps.margin) : built);
    for (const o of overrides.values()) {
      if (o.command !== 'stop' || o.until <= now) continue;
      input.processes = input.processes.map((p) => (p.line === o.line ? { ...p, blockedUntil: o.until } : p));
    }
    // A continuation starts at the earliest slot that meets the forbidden hours, the ambient limits and the
    // contracted power, not merely when the stop ends (interruptions.ts fitContinuations); none in the horizon: said.
    const continuationProblems = fitContinuations(startedOnly, input, now, tz);
    if (hold) input.processes = input.processes.map((p) => (hold.until[p.name] !== undefined ? { ...p, frozenUntil: hold.until[p.name] } : p));
    // No new run in the elapsed part of the first slot (no-past-start.ts): it starts at the next slot boundary, in full.
    return { input: noStartBefore(input, now), waitingIds, continuationProblems };
  };

  /** The plan in force's runs not started yet, in `input`'s slots: the solver's warm start (plan.ts startingPlan). */
  const withPreviousRuns = (input: PlannerInput): PlannerInput => {
    if (!current) return input;
    const c = current;
    const previousRuns = c.runs
      .map((r) => ({ ...r, startSlot: Math.round((c.startMs + r.startSlot * c.resolutionMs - input.starts[0]!) / input.resolutionMs), slots: Math.round((r.slots * c.resolutionMs) / input.resolutionMs) }))
      .filter((r) => r.startSlot >= 0 && !input.fixedRuns.some((f) => f.process === r.process && f.startSlot === r.startSlot));
    return previousRuns.length ? { ...input, previousRuns } : input;
  };

  /**
   * The plan and the fixed shift it is compared with, both priced by `totalCost` on the same input: the same runs
   * (fixed and to place), prices, tariff, cooling, holding and constraints, the shift being the only production
   * window. The shift's runs start as early as the shift allows; when that schedule meets every constraint of the
   * plan and costs less (a solver stopped by its time limit, the greedy fallback), it becomes the plan, so the
   * saving is never negative without a reason; otherwise `savedReason` says what the shift breaks.
   */
  const solve = async (cfg: PlannerConfig, now: number, hold?: Hold): Promise<{ input: PlannerInput; outcome: PlanOutcome; baselineEur: number | null; baselineUsable: boolean; savedReason: string | null; waitingIds: Record<string, number[]>; carried?: string; baselineRuns?: PlannedRun[] } | { refused: string }> => {
    const built = await buildInput(cfg, now, hold);
    if ('refused' in built) return built;
    const { waitingIds } = built;
    const { input, outcome: planned, carried } = await planKeepingDays(withPreviousRuns(built.input));
    // New batches take ids after the kept ones (which have not started, so nextBatch does not count them yet).
    const firstFree = Math.max(nextBatch, ...(hold?.kept ?? []).map((r) => r.batch + 1));
    const number = (runs: PlannedRun[]) => assignBatchIds(input, runs, waitingIds, firstFree);
    let outcome: PlanOutcome = { ...planned, runs: number(planned.runs) };
    // A line stop's continuation that fits nowhere in the horizon: the plan cannot do that work, and says why.
    if (built.continuationProblems.length) outcome = { ...outcome, infeasible: [...built.continuationProblems, ...(outcome.infeasible ?? [])] };
    const shift = { ...input, forbidden: input.starts.map((t, i) => input.forbidden[i]! || !inWindows([cfg.baselineShift], t, tz)) };
    let baseline = solveGreedy(shift, { earliest: true });
    let split = true;
    if (baseline.infeasible && shift.dayQuotas) {
      const { dayQuotas: _, ...whole } = shift;
      baseline = solveGreedy(whole, { earliest: true });
      split = false;
    }
    if (baseline.infeasible) return { input, outcome, baselineEur: null, baselineUsable: false, savedReason: null, waitingIds, ...(carried ? { carried } : {}) };
    const shiftRuns = number(baseline.runs);
    const baselineEur = totalCost(input, shiftRuns).eur;
    const broken = [...violations(input, shiftRuns), ...holdingBreaches(heldIntervals(input, shiftRuns)).map((h) => describeBreach(input, h))];
    const usable = !broken.length && !outcome.infeasible;
    let savedReason: string | null = null;
    if (baselineEur < outcome.costEur) {
      if (usable) outcome = { ...outcome, runs: shiftRuns, costEur: baselineEur, kwh: totalCost(input, shiftRuns).kwh, fallbackReason: `the fixed shift's schedule costs less than the ${outcome.method} plan${outcome.fallbackReason ? ` (${outcome.fallbackReason})` : ''}, so it is the plan` };
      else if (outcome.infeasible) savedReason = 'the plan cannot do all the work (see infeasible), so it is not comparable with the fixed shift';
      else savedReason = `the fixed shift costs less only because it breaks the plan's constraints: ${broken.slice(0, 3).join('; ')}${split ? '' : ' (and it cannot keep the daily batches on their days)'}`;
    }
    return { input, outcome, baselineEur, baselineUsable: usable, savedReason, waitingIds, baselineRuns: shiftRuns, ...(carried ? { carried } : {}) };
  };

  /** The forecast's 10-90 % band per slot of `input` (null where not forecast or not stored). */
  const bandOf = async (input: PlannerInput) => {
    const from = input.starts[0]!;
    const to = input.starts.at(-1)! + input.resolutionMs;
    const read = async (side: string) => hourly(await ctx.store.read(`forecast.${ctx.config.models.priceSeries}.${side}`, from, to));
    const [low, high] = [await read('low'), await read('high')];
    const at = (slots: typeof low, t: number) => slots.find((s) => s.start <= t && s.end > t)?.value ?? null;
    return { low: input.starts.map((t) => at(low, t)), high: input.starts.map((t) => at(high, t)) };
  };

  /**
   * One retained `lines/<line>/command` per line, from the same line state every other output writes
   * (gateway/lines/line-state.ts `lineStateAt`: the plan, the operator's stops in `doc.overrides`, Halt hours) with
   * the quarter-hour guard's deferrals applied, so MQTT, Sparkplug and the PLCs (Modbus, OPC UA) never disagree.
   */
  const publishLineCommands = async (doc: PlanDocumentPayload, now: number): Promise<void> => {
    const shifted = withGuardShifts(doc, guardShifts)!;
    for (const p of planCfg.processes) {
      const state = lineStateAt(shifted, p.line, now, () => p.kw);
      const next = shifted.runs.filter((r) => r.line === p.line && Date.parse(r.start) > now).sort((a, b) => Date.parse(a.start) - Date.parse(b.start))[0];
      const command = {
        v: PAYLOAD_VERSION,
        plan_id: doc.plan_id,
        line: p.line,
        process: p.name,
        at: formatUtcIso(now),
        now: { command: state.command, power_kw: state.powerKw, batch: state.batch, until: formatUtcIso(state.validUntil) },
        next: next ? { command: 'run' as const, start: next.start, end: next.end, batch: next.batch } : null,
        valid_until: formatUtcIso(Math.min(state.validUntil, now + 2 * HOUR_MS)),
      };
      // The write-nothing mode: the line command a PLC would act on is shown (outputs/dry-run, the API), not sent.
      if (outputs.dryRunFor(p.line)) outputs.wouldWrite('mqtt', topics.lineCommand(p.line), `${command.now.command} ${command.now.power_kw} kW until ${command.now.until}`, command, p.line);
      else await ctx.mqtt.publish(topics.lineCommand(p.line), command, { retain: true });
    }
  };

  const publish = async (doc: PlanDocumentPayload): Promise<void> => {
    // Known before anything names it: a PLC may acknowledge a line command before the rest of the plan is out.
    recentPlanIds = [...recentPlanIds.filter((id) => id !== doc.plan_id), doc.plan_id].slice(-RECENT_PLANS);
    await ctx.mqtt.publish(topics.plan, doc, { retain: true });
    const now = ctx.clock.now();
    await publishLineCommands(doc, now);
    // The one recommendation (gateway/planner/recommendation.ts): the plan's class for this hour, the model's beside it as an input.
    const rec = planRecommendationAt(doc, now);
    if (rec) {
      const after = doc.hours.filter((h) => Date.parse(h.start) > Date.parse(rec.hour_start)).slice(0, 12);
      await ctx.mqtt.publish(topics.recommendationCurrent, { v: PAYLOAD_VERSION, method: 'plan', at: formatUtcIso(now), ...rec, next: after.map((h) => ({ start: h.start, recommendation: h.recommendation, urgency: h.urgency })) }, { retain: true });
    }
    ctx.bus.emit('plan.updated', { version: doc.version, planId: doc.plan_id, doc });
  };

  const alertsFor = async (doc: PlanDocumentPayload, input: PlannerInput, runs: readonly PlannedRun[], waitingIds: Record<string, number[]>): Promise<void> => {
    const spike = doc.hours.find((h) => h.price_eur_mwh >= planCfg.priceSpikeEurMwh);
    if (spike) await alert('PRICE_SPIKE', 'warning', `price ${spike.price_eur_mwh} €/MWh at ${spike.start_local} (${spike.price_source})`);
    const hot = input.outdoorC.findIndex((o) => o !== null && o >= input.haltAtOutdoorC);
    if (hot >= 0) await alert('AMBIENT_LIMIT', 'critical', `outdoor ${input.outdoorC[hot]} °C at ${formatUtcIso(input.starts[hot]!)}: production halted for those hours`);
    const halt = doc.hours.find((h) => h.recommendation === 'Halt');
    if (halt) await alert('HALT', 'critical', `Halt from ${halt.start_local}`);
    if (doc.infeasible.length) await alert('PLAN_INFEASIBLE', 'critical', doc.infeasible.join('; '));
    // A wait between steps the plan cannot keep within its limit: raised once per batch and step (its wait grows at
    // every re-plan: one alert each time was a flood), and open while that batch still waits for that step, whether
    // or not a plan places the step (a plan that cannot place it yet lists no breach, though the batch still waits);
    // resolved once the batch no longer waits for it and no plan lists it. The plan document carries the figure of
    // the moment.
    const breaches = holdingBreaches(heldIntervals(input, runs)).map((h) => breachAlert(input, h));
    for (const b of breaches) if (!holdingRaised.has(b.subject)) await alert('HOLDING_LIMIT', 'warning', b.message);
    const waiting = new Set(Object.entries(waitingIds).flatMap(([process, ids]) => ids.map((id) => breachSubject(id, process))));
    const open = new Set([...breaches.map((b) => b.subject), ...[...holdingRaised].filter((s) => waiting.has(s))]);
    for (const subject of holdingRaised) if (!open.has(subject)) ctx.bus.emit('alert.resolved', { code: 'HOLDING_LIMIT', subject, at: ctx.clock.now() });
    holdingRaised = open;
    // Raised when it changes (the plan starts or stops relying on forecasts, or the published prices reach further),
    // not at every re-plan: one line per publication instead of one per planning run.
    // A plan between two on published prices only (a forecast being rewritten) does not make the same boundary new again.
    const from = doc.hours.find((h) => h.price_source === 'forecast')?.start_local ?? null;
    if (from && from !== forecastFrom) {
      forecastFrom = from;
      await alert('FORECAST_PRICES', 'info', `plan uses forecast prices after ${from}`);
    }
  };

  /** The production recommender's class per hour, as the predictions job stored it (absent when models are off). */
  const modelView = async (input: PlannerInput) => {
    const slots = await ctx.store.read('recommendation.model', input.starts[0]!, input.starts[0]! + input.starts.length * input.resolutionMs);
    return (hourStart: number) => {
      const s = slots.find((x) => x.start <= hourStart && x.end > hourStart);
      return s ? (CLASSES[s.value] ?? null) : null;
    };
  };

  /**
   * Every change of the plan in force (the planning job, an operator's quota change, a line's stop or resume) runs
   * here one after the other, in arrival order: none sees another half done, and each is applied exactly once.
   */
  let planning: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = planning.then(work, work);
    planning = run.catch(() => undefined);
    return run;
  };

  type Solved = Awaited<ReturnType<typeof solve>>;
  /**
   * Why a plan that keeps runs of the plan in force (frozen.ts) is not usable where the free plan `free` is, or null:
   * no plan, or it cannot do the work, does less of it, breaks a holding limit the free plan keeps, or pairs two
   * runs of one process with one batch.
   */
  const unsoundHold = async (held: Solved, freePlan: () => Promise<Solved>): Promise<string | null> => {
    if ('refused' in held) return held.refused;
    if (held.outcome.infeasible) return held.outcome.infeasible.join('; ');
    const all = (x: typeof held) => [...x.input.fixedRuns.filter((r) => r.startSlot >= 0 || r.startSlot + r.slots > 0), ...x.outcome.runs];
    const ids = all(held).map((r) => `${r.process} #${r.batch}`);
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice) return `batch order: ${twice} twice`;
    // Only a plan that carried work past midnight or breaks a holding limit can do less than the free plan: the
    // free plan is solved for the comparison only then.
    const breaches = (x: typeof held) => holdingBreaches(heldIntervals(x.input, x.outcome.runs)).length;
    if (!held.carried && !breaches(held)) return null;
    const free = await freePlan();
    if ('refused' in free) return null;
    const count = (x: typeof held, p: string) => all(x).filter((r) => r.process === p && x.input.starts[0]! + r.startSlot * x.input.resolutionMs > ctx.clock.now()).length;
    const short = planCfg.processes.find((p) => count(held, p.name) < count(free, p.name));
    if (short) return `it plans fewer ${short.name} runs`;
    if (breaches(held) > breaches(free)) return `it breaks a holding limit: ${describeBreach(held.input, holdingBreaches(heldIntervals(held.input, held.outcome.runs))[0]!)}`;
    return null;
  };

  /**
   * The re-plan of `input` (the free plan's, frozen window held) that moves at most `left` batches of the plan in
   * force, the MILP choosing which (move-budget.ts, within-moves.ts); its runs numbered and its moves, or undefined
   * when the solver gives none (greedy, infeasible) or the batch ids would show more moves than `left`.
   */
  const withinBudget = async (input: PlannerInput, waitingIds: Record<string, number[]>, hold: Hold | undefined, left: number, before: TimedRun[], now: number) => {
    const previous = current!.runs
      .map((r) => ({ ...r, startSlot: Math.round((current!.startMs + r.startSlot * current!.resolutionMs - input.starts[0]!) / input.resolutionMs), slots: Math.round((r.slots * current!.resolutionMs) / input.resolutionMs) }))
      .filter((r) => r.startSlot >= 0 && input.starts[0]! + r.startSlot * input.resolutionMs > now && !input.fixedRuns.some((f) => f.process === r.process && f.startSlot === r.startSlot));
    const within = await planWithinMoves(input, previous, left);
    if (!within) return undefined;
    const runs = assignBatchIds(input, within.outcome.runs, waitingIds, Math.max(nextBatch, ...(hold?.kept ?? []).map((r) => r.batch + 1)));
    const diff = diffBatches(before, runs.map((r) => ({ process: r.process, batch: r.batch, start: input.starts[0]! + r.startSlot * input.resolutionMs, end: input.starts[0]! + (r.startSlot + r.slots) * input.resolutionMs })).concat(input.fixedRuns.map((r) => ({ process: r.process, batch: r.batch, start: input.starts[0]! + r.startSlot * input.resolutionMs, end: input.starts[0]! + (r.startSlot + r.slots) * input.resolutionMs }))), now);
    return diff.size <= left ? { outcome: { ...within.outcome, runs }, diff } : undefined;
  };

  /** A slot of `input` as local time (HH:MM), for the plan's sentences. */
  const localAt = (input: PlannerInput) => (slot: number) => formatLocalIso(input.starts[0]! + slot * input.resolutionMs, tz).slice(11, 16);

  /**
   * The forced-move rule (forced-move.ts) for the plan in force kept whole (`pinned`: its runs not started are fixed
   * there) against the free re-plan's `runs`, both on the free plan's `input`; null when the plan in force meets no
   * ambient limit on it.
   */
  const heatVerdict = (input: PlannerInput, pinned: { input: PlannerInput; outcome: PlanOutcome }, runs: PlannedRun[], now: number, shiftEur: number | null) => {
    if (pinned.input.starts[0] !== input.starts[0] || pinned.input.resolutionMs !== input.resolutionMs) return null;
    const fixed = new Set(input.fixedRuns.map((r) => `${r.process}|${r.startSlot}`));
    const kept = pinned.input.fixedRuns.filter((r) => input.starts[0]! + r.startSlot * input.resolutionMs > now && !fixed.has(`${r.process}|${r.startSlot}`));
    const keep = [...kept, ...pinned.outcome.runs];
    if (!meetsAmbientLimit(input, kept)) return null;
    // Under 'saving': the fixed shift's cost for the same work on this input (solve's baseline), what a plan that meets a limit falls back to.
    return forcedMove(input, keep, runs, { ...forcedMoveSettings(planCfg), ...(shiftEur === null ? {} : { shiftEur }) });
  };

  const plan = async (options: { fresh?: boolean; reason?: string; retried?: boolean } = {}): Promise<JobRunResult & { doc: PlanDocumentPayload }> => {
    // On a wall clock not known good "now" may be years off: nothing is planned (the plan in force stays).
    const untrusted = ctx.clockUntrusted?.();
    if (untrusted) {
      tracker.set('degraded', `no plan: wall clock not trusted (${untrusted})`, 'clock_untrusted');
      throw Object.assign(new Error(`planner: wall clock not trusted (${untrusted}); nothing is planned until it is known good`), { statusCode: 409 });
    }
    const now = ctx.clock.now();
    // The frozen window (frozen.ts): the plan in force's runs starting within it are kept, nothing new starts in it,
    // unless an operator's change, a line stop or resume, or the guard released it (for the processes it names).
    const frozenMs = planCfg.frozenMinutes * 60_000;
    const before = timedRuns();
    const released = options.fresh ? { reason: options.reason ?? 'an operator changed the plan (quota or contracted power)', processes: new Set<string>() } : release;
    const releasedAll = !!released && !released.processes.size;
    const holdOf = (kept: TimedRun[]): Hold => ({ kept, until: noNewStartBefore(planCfg.processes.map((p) => p.name).filter((p) => !released?.processes.has(p)), kept, now + frozenMs) });
    const frozen = current && frozenMs > 0 && !releasedAll ? holdOf(frozenRuns(before, now, frozenMs, released?.processes)) : undefined;
    let solved = await solve(planCfg, now, frozen);
    let holdFailed: string | null = null;
    if (frozen) {
      // The window cannot be kept (e.g. new heat, a quota or a holding limit the kept runs no longer fit): planned free, said why.
      let free: Solved | undefined;
      const freePlan = async () => (free ??= await solve(planCfg, now));
      const unsound = await unsoundHold(solved, freePlan);
      if (unsound) {
        holdFailed = `the frozen window cannot be kept (${unsound})`;
        solved = await freePlan();
      }
    }
    let hold = holdFailed ? undefined : frozen;
    if ('refused' in solved) {
      tracker.set('degraded', `no plan: ${solved.refused}`, 'inputs_missing');
      await alert('STALE_INPUT', 'warning', `planner: ${solved.refused}`);
      throw Object.assign(new Error(`planner: ${solved.refused}`), { statusCode: 409 });
    }
    let { outcome, savedReason, input, baselineEur, baselineUsable, carried, waitingIds, baselineRuns } = solved;
    let keptPrevious = false;
    if (current && !options.fresh && !outcome.infeasible) {
      // Stability: keep the previous plan's remaining runs unless the new one saves more than the threshold.
      const previous = current.runs
        .map((r) => ({ ...r, startSlot: Math.round((current!.startMs + r.startSlot * current!.resolutionMs - input.starts[0]!) / input.resolutionMs), slots: Math.round((r.slots * current!.resolutionMs) / input.resolutionMs) }))
        .filter((r) => r.startSlot >= 0 && !input.fixedRuns.some((f) => f.process === r.process && f.startSlot === r.startSlot));
      const sameWork = input.processes.every((p) => previous.filter((r) => r.process === p.name).length === (input.runsToPlace[p.name] ?? 0));
      const numbered = assignBatchIds(input, previous, waitingIds, Math.max(nextBatch, ...(hold?.kept ?? []).map((r) => r.batch + 1)));
      if (sameWork && !violations(input, numbered).length && !holdingBreaches(heldIntervals(input, numbered)).length) {
        const previousEur = totalCost(input, numbered).eur;
        // Kept only while it does not cost more than the fixed shift it is compared with.
        if (previousEur - outcome.costEur <= planCfg.replanThresholdEur && (baselineEur === null || !baselineUsable || previousEur <= baselineEur)) {
          outcome = { ...outcome, runs: numbered, costEur: previousEur };
          keptPrevious = true;
          if (baselineEur !== null && previousEur > baselineEur) savedReason = 'the plan in force is kept (its extra cost is below planner.replanThresholdEur) and the fixed shift breaks its constraints';
        }
      }
    }
    // Batch moves (moves.ts): what this plan changes of the plan in force's runs not yet started.
    const planId = `${formatUtcIso(now)}#${version + 1}`;
    const abs = (inp: PlannerInput, runs: PlannedRun[]): TimedRun[] => runs.map((r) => ({ process: r.process, batch: r.batch, start: inp.starts[0]! + r.startSlot * inp.resolutionMs, end: inp.starts[0]! + (r.startSlot + r.slots) * inp.resolutionMs }));
    const today = localDate(now, tz);
    let diff = current && !keptPrevious ? diffBatches(before, abs(input, [...input.fixedRuns, ...outcome.runs]), now) : new Map<number, BatchMove['steps']>();
    const forcedReason = released?.reason ?? holdFailed ?? (outcome.infeasible ? 'the plan cannot do all the work' : null);
    let moveReason = forcedReason;
    let limitNote: string | null = null;
    let stayNote: string | null = null;
    if (diff.size && !forcedReason) {
      // Moves for the cost alone: compared with keeping every run of the plan in force (new work placed after them);
      // made only when they save more than planner.replanThresholdEur and fit in the day's planner.maxMovesPerDay.
      const keepAll = holdOf(frozenRuns(before, now, Infinity, released?.processes));
      const pinned = await solve(planCfg, now, keepAll);
      const free = solved;
      const unsound = await unsoundHold(pinned, async () => free);
      const pinnedOk = !unsound && !('refused' in pinned);
      const gain = pinnedOk ? pinned.outcome.costEur - outcome.costEur : Infinity;
      // The plan in force kept whole meets an ambient limit on the corrected forecast: the forced-move rule
      // (gateway/planner/forced-move.ts, the rule simulate's intraday replay uses) says whether it moves by force.
      const heat = pinnedOk && !('refused' in pinned) ? heatVerdict(input, pinned, outcome.runs, now, baselineEur) : null;
      const fits = withinLimit(moves, today, diff.size, planCfg.maxMovesPerDay);
      // Over the day's limit: the MILP chooses which batches to move, at most the moves left today (move-budget.ts);
      // taken when it still saves more than the threshold against keeping the plan in force. The greedy planner has
      // no budget: all or nothing, as below.
      const left = planCfg.maxMovesPerDay - movesOn(moves, today).all;
      // A step of a batch the plan in force holds is never taken out of the plan for the cost alone: a plan that does
      // less of the work in its horizon is not cheaper, it leaves that work to later plans (the demo: batch 6 moved
      // 9 h later "to save 3.99 €", its tempering no longer fitted before the horizon's end and left the plan).
      const dropped = droppedSteps(diff);
      const budgeted = !heat?.forced && pinnedOk && !dropped.length && gain > planCfg.replanThresholdEur && !fits && left > 0 ? await withinBudget(input, waitingIds, hold, left, before, now) : undefined;
      const budgetGain = budgeted && pinnedOk && !droppedSteps(budgeted.diff).length ? pinned.outcome.costEur - budgeted.outcome.costEur : -Infinity;
      if (heat?.forced) moveReason = describeForced(heat, localAt(input));
      else if (budgeted && budgetGain > planCfg.replanThresholdEur && (baselineEur === null || !baselineUsable || budgeted.outcome.costEur <= baselineEur)) {
        limitNote = budgetNote(gain, diff.size, movesOn(moves, today).all, planCfg.maxMovesPerDay, budgeted.diff.size);
        outcome = budgeted.outcome;
        diff = budgeted.diff;
        moveReason = `saves ${budgetGain.toFixed(2)} € against keeping the plan in force (the best ${diff.size} of the moves left today, planner.maxMovesPerDay)`;
      } else if (pinnedOk && (gain <= planCfg.replanThresholdEur || !fits || dropped.length)) {
        ({ outcome, savedReason, input, baselineEur, baselineUsable, carried, waitingIds, baselineRuns } = pinned);
        hold = keepAll;
        keptPrevious = true;
        if (dropped.length) limitNote = `a re-plan for the cost alone would take ${dropped.join(', ')} out of the plan (its batch moved so late that the step no longer ends within the horizon): the plan in force is kept`;
        else if (gain > planCfg.replanThresholdEur) limitNote = `a re-plan would save ${gain.toFixed(2)} € by moving ${diff.size} batch(es), but the day has ${Math.max(0, planCfg.maxMovesPerDay - movesOn(moves, today).all)} of its ${planCfg.maxMovesPerDay} move(s) left (planner.maxMovesPerDay, ${movesOn(moves, today).all} made): the plan in force is kept`;
        diff = diffBatches(before, abs(input, [...input.fixedRuns, ...outcome.runs]), now);
        moveReason = diff.size ? 'the plan in force kept whole still had to move these (batch order)' : null;
        if (heat?.broken) stayNote = describeStay(heat, localAt(input));
      } else moveReason = pinnedOk ? `saves ${gain.toFixed(2)} € against keeping the plan in force` : `the plan in force cannot take the work (${unsound})`;
    }
    // The plan in force stays in force (the lines run it) while this one is made: a run of it that started meanwhile
    // did start. When this plan, made for `now`, moved or dropped such a run, it is made again once for the time it
    // is published (the run then counts as started), instead of telling the line to run that batch again.
    const late = ctx.clock.now();
    if (!options.retried && late > now) {
      const next = new Set(abs(input, [...input.fixedRuns, ...outcome.runs]).map((r) => `${r.process}|${r.start}`));
      const missed = before.filter((r) => r.start > now && r.start <= late && !next.has(`${r.process}|${r.start}`));
      if (missed.length) {
        ctx.log.warn({ runs: missed.map((r) => `${r.process} #${r.batch}`), solveMs: late - now }, 're-plan: runs of the plan in force started while it was made; made again');
        return plan({ ...options, retried: true });
      }
    }
    const made = movesOf(diff, { now, timezone: tz, reason: moveReason ?? 're-plan', forced: !!forcedReason || !moveReason?.startsWith('saves'), planId });
    moves = pruneMoves([...moves, ...made], addDays(today, -7));
    leftPlan = updateLeftPlan(leftPlan, made, {
      now,
      runs: abs(input, [...input.fixedRuns, ...outcome.runs]),
      startedKeys: new Set(started.map((r) => `${r.process} #${r.batch}`)),
      horizonEnd: input.starts[0]! + input.starts.length * input.resolutionMs,
      order: planCfg.order,
      minutesOf: (process) => planCfg.processes.find((p) => p.name === process)?.minutes ?? 0,
      lineOf,
      timezone: tz,
    });
    release = null;
    version++;
    const planned = planDocument(input, outcome, { planId, version, createdAt: now, baselineEur, baselineRuns: baselineRuns ?? null, savedReason, keptPrevious, timezone: tz, lineOf, modelRecommendation: await modelView(input) });
    const order = planCfg.processes.map((p) => p.name);
    const band = baselineRuns && !outcome.infeasible ? await bandOf(input).then((b) => savingBand(input, outcome.runs, baselineRuns!, b.low, b.high, { seed: version })) : null;
    const firstForecast = input.priceSource.indexOf('forecast');
    // In time order (the kept runs are fixed ones, which the document lists first otherwise).
    // A kept run's wait keeps the reason the plan that placed it gave (wait-reasons.ts).
    const runs = carryWaitReasons(withInterruptions([...planned.runs].sort((a, b) => a.start.localeCompare(b.start) || order.indexOf(a.process) - order.indexOf(b.process)), started, input, { timezone: tz, lineOf, kwOf: (process) => planCfg.processes.find((p) => p.name === process)?.kw ?? 0 }), current?.doc.runs);
    // Kept only when the runs are the same as the plan in force's (kept-previous.ts): a re-plan that kept the placed
    // runs around a line stop's cut and continuation did not keep the plan.
    keptPrevious = keptPrevious && !!current && keepsRuns(current.doc, { runs }, now);
    const doc: PlanDocumentPayload = {
      ...planned,
      kept_previous: keptPrevious,
      runs,
      ...(leftPlan.length ? { left_plan: leftPlan } : {}),
      ...(limitNote || stayNote ? { fallback_reason: [planned.fallback_reason, limitNote, stayNote].filter(Boolean).join('; ') } : {}),
      ...(band ? { forecast_band: { forecast_slots: band.forecastSlots, first_forecast: formatUtcIso(input.starts[firstForecast]!), saved_point_eur: band.pointEur, saved_expected_eur: band.expectedEur, saved_p10_eur: band.p10Eur, saved_p90_eur: band.p90Eur, scenarios: band.scenarios } } : {}),
      ...(overridesAt(now).length ? { overrides: overridesAt(now) } : {}),
      stability: {
        frozen_until: hold && frozenMs > 0 ? formatUtcIso(now + frozenMs) : null,
        released: released?.reason ?? holdFailed,
        moves_today: movesOn(moves, today).all,
        max_moves_per_day: planCfg.maxMovesPerDay,
        moves: moves.filter((m) => m.day === today),
      },
    };
    // The plan in force holds the runs it kept (fixed, not started) as well as the ones it placed.
    const keptRuns = input.fixedRuns.filter((r) => input.starts[0]! + r.startSlot * input.resolutionMs > now);
    current = { doc, runs: [...keptRuns, ...outcome.runs], startMs: input.starts[0]!, resolutionMs: input.resolutionMs };
    await publish(doc);
    await alertsFor(doc, input, outcome.runs, waitingIds);
    await ctx.store.setValue('planner.current', current);
    await ctx.store.setValue('planner.started', started);
    await ctx.store.setValue('planner.nextBatch', nextBatch);
    await ctx.store.setValue('planner.moves', moves);
    await ctx.store.setValue('planner.leftPlan', leftPlan);
    tracker.set(outcome.infeasible ? 'degraded' : 'ok', outcome.infeasible ? `infeasible: ${outcome.infeasible.join('; ')}` : `plan v${version}: ${outcome.runs.length} runs, ${doc.totals.cost_eur} € (${outcome.method}${keptPrevious ? ', previous plan kept' : ''})`);
    return { doc, summary: `plan v${version} ${outcome.method} ${outcome.status}: ${outcome.runs.length} runs, ${doc.totals.cost_eur} € vs fixed shift ${baselineEur ?? 'n/a'} €${keptPrevious ? ' (previous plan kept)' : ''}; ${made.length} batch move(s), ${doc.stability!.moves_today} today${carried ? `; ${carried}` : ''}` };
  };

  const withChanges = (changes: PlanChanges): PlannerConfig => ({
    ...planCfg,
    contractedKw: changes.contractedKw ?? planCfg.contractedKw,
    processes: planCfg.processes.map((p) => ({ ...p, batchesPerDay: changes.quota?.[p.name] ?? p.batchesPerDay })),
  });

  /**
   * A line that enters the write-nothing mode (all lines, or `line` alone) keeps no retained `lines/<line>/command`
   * on the broker: a PLC that (re)connects later must not act on a command from the live window. The topic contract
   * allows no other "no command" payload, so the retained message is deleted (empty retained payload).
   */
  const clearLineCommands = async (line?: string): Promise<void> => {
    const lines = [...new Set(planCfg.processes.map((p) => p.line))].filter((l) => (line === undefined || l === line) && outputs.dryRunFor(l));
    for (const l of lines) await ctx.mqtt.clearRetained(topics.lineCommand(l));
    if (lines.length) ctx.log.info({ lines }, 'write-nothing mode: retained line commands cleared on the broker');
  };

  const checkChanges = (changes: PlanChanges): void => {
    // Exact JSON types whatever the caller (HTTP checks them too; the MQTT bridge and the uplink pass their JSON on):
    // a quota of "3", null or true is refused, never read as a number.
    const bad = (message: string) => Object.assign(new Error(message), { statusCode: 400 });
    if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) throw bad('the changes must be a JSON object with "quota" and/or "contractedKw"');
    if (changes.quota !== undefined && (changes.quota === null || typeof changes.quota !== 'object' || Array.isArray(changes.quota))) throw bad('"quota" must be a JSON object: process → batches per day');
    for (const [name, n] of Object.entries(changes.quota ?? {})) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 24) throw bad(`quota of ${JSON.stringify(name)} must be a JSON integer from 0 to 24 (batches per day), got ${JSON.stringify(n)}`);
    }
    if (changes.contractedKw !== undefined && (typeof changes.contractedKw !== 'number' || !Number.isFinite(changes.contractedKw) || changes.contractedKw <= 0 || changes.contractedKw > 100_000)) {
      throw bad(`"contractedKw" must be a JSON number above 0 and at most 100000 (kW), got ${JSON.stringify(changes.contractedKw)}`);
    }
    for (const name of Object.keys(changes.quota ?? {})) if (!planCfg.processes.some((p) => p.name === name)) throw Object.assign(new Error(`unknown process ${JSON.stringify(name)}; processes: ${planCfg.processes.map((p) => p.name).join(', ')}`), { statusCode: 400 });
  };

  return {
    name: 'planner',
    async start() {
      // Switched live: the line commands of a fresh plan go out at once rather than at the next planning run.
      ctx.bus.on('outputs.mode', 'planner', (e) => {
        if (!e.dryRun) void plan().catch((error: unknown) => ctx.log.warn({ err: errorMessage(error) }, 'planning after the dry run was switched off failed'));
        else void clearLineCommands(e.line);
      });
      // Started in the write-nothing mode: a command retained on the broker from an earlier live run is not left for a PLC to act on.
      await clearLineCommands();
      ctx.mqtt.subscribe(topics.lineSetWildcard, (topic, payload) => {
        const line = topic.split('/').at(-2)!;
        const body = payload as { command?: unknown; until?: unknown; plan_id?: unknown; batch?: unknown } | undefined;
        const refuse = (reason: string) => ctx.log.warn({ line, reason }, 'line message refused');
        if (!planCfg.processes.some((p) => p.line === line)) return refuse('no planner process runs on this line');
        if (!body || typeof body !== 'object' || Array.isArray(body)) return refuse('the message must be a JSON object');
        if (body.command === 'ack') {
          if (typeof body.plan_id !== 'string' || !body.plan_id) return refuse('an acknowledgement needs "plan_id": the plan it acknowledges (non-empty string)');
          // Only a plan this gateway published (the one in force, or one just replaced while the PLC answered) is acknowledged.
          if (!recentPlanIds.includes(body.plan_id)) return refuse(`unknown plan_id ${JSON.stringify(body.plan_id.slice(0, 80))}: not one of the plans this gateway published recently (in force: ${current?.doc.plan_id ?? 'none yet'})`);
          if (body.batch !== undefined && body.batch !== null && !(Number.isInteger(body.batch) && (body.batch as number) > 0)) return refuse(`"batch" must be the batch id the line runs or takes next (a positive integer), got ${JSON.stringify(body.batch)}`);
          // The batch the line says it acknowledges, checked against the plan in force: a PLC on another batch shows here.
          const planned = current?.doc.runs.filter((r) => r.line === line).map((r) => r.batch) ?? [];
          const batch = typeof body.batch === 'number' ? body.batch : null;
          acks.set(line, { plan_id: body.plan_id, batch, batch_in_plan: batch === null ? null : planned.includes(batch), at: formatUtcIso(ctx.clock.now()) });
        } else if (body.command === 'stop' || body.command === 'resume') {
          // "until": absent (4 hours), or an ISO timestamp with Z or an offset on a real calendar day (gateway/time/tz.ts
          // parseInstant, the project's one such parser), in the future.
          let until = ctx.clock.now() + 4 * HOUR_MS;
          if (body.until !== undefined) {
            try {
              until = parseInstant(body.until);
            } catch (error) {
              return refuse(error instanceof InstantError && error.impossibleDate ? `"until" ${error.message}` : `"until" must be an ISO timestamp with Z or an offset (e.g. 2026-01-08T14:00:00Z), or left out for 4 hours; got ${JSON.stringify(body.until)}`);
            }
          }
          if (until <= ctx.clock.now()) return refuse(`"until" ${JSON.stringify(body.until)} is not in the future: the ${body.command} would end before it starts`);
          const tooFar = overrideTooFar(body.command, until, ctx.clock.now(), body.until);
          if (tooFar) return refuse(tooFar);
          overrides.set(line, { line, command: body.command, until, at: ctx.clock.now() });
          // A line stop or resume releases the frozen window for the re-plan it causes (frozen.ts).
          release = { reason: `line ${line}: ${body.command} (override)`, processes: new Set() };
          ctx.store.setValue('planner.overrides', [...overrides.values()]).catch((e: unknown) => tracker.set('degraded', `override not saved: ${errorMessage(e)}`, 'store_failed'));
          // At once, before the re-plan (which may take the solver's time limit): the plan in force carries the
          // override, so the line writers and Sparkplug (lineStateAt) stop the line now (README "Line stops").
          if (current) {
            const { overrides: _, ...rest } = current.doc;
            const active = overridesAt(ctx.clock.now());
            current = { ...current, doc: { ...rest, ...(active.length ? { overrides: active } : {}) } };
            ctx.bus.emit('plan.updated', { version: current.doc.version, planId: current.doc.plan_id, doc: current.doc });
          }
          // The run the line runs now ends at the stop; its step runs again after it (interruptions.ts).
          const o = overrides.get(line)!;
          void serially(() => {
            if (o.command === 'stop') {
              const cut = interruptRuns(startedRuns(o.at), line, o.at, o.until, planCfg.processes);
              if (cut.length) ctx.log.warn({ line, runs: cut.map((r) => `${r.process} #${r.batch}`) }, 'line stop: running run interrupted');
            }
            return plan();
          }).catch(() => undefined);
        } else refuse(`"command" must be ack, stop or resume (got ${JSON.stringify(body.command ?? null)})`);
      });
      // The quarter-hour guard moved a run of the plan: the next re-plan may move that line's frozen runs (frozen.ts).
      ctx.bus.on('power.guard', 'planner', (e) => {
        // The line commands follow the guard's deferrals at once (each event carries the whole set in force).
        if (!sameGuardShifts(e.shifts, guardShifts)) {
          guardShifts = e.shifts;
          if (current) void publishLineCommands(current.doc, ctx.clock.now()).catch((err: unknown) => ctx.log.warn({ err: errorMessage(err) }, 'line commands not republished after a guard deferral'));
        }
        const lines = [...new Set(e.shifts.map((x) => x.line))];
        const processes = planCfg.processes.filter((p) => lines.includes(p.line)).map((p) => p.name);
        if (!processes.length) return;
        const reason = `quarter-hour guard moved ${lines.join(', ')}: ${e.shifts[0]!.reason}`;
        release = release && !release.processes.size ? release : { reason, processes: new Set([...(release?.processes ?? []), ...processes]) };
      });
      moves = (await ctx.store.getValue<BatchMove[]>('planner.moves')) ?? [];
      leftPlan = (await ctx.store.getValue<LeftStep[]>('planner.leftPlan')) ?? [];
      const saved = await ctx.store.getValue<Override[]>('planner.overrides');
      for (const o of saved ?? []) overrides.set(o.line, o);
      current = (await ctx.store.getValue<typeof current>('planner.current')) ?? null;
      if (current) recentPlanIds = [current.doc.plan_id];
      started = (await ctx.store.getValue<StartedRun[]>('planner.started')) ?? [];
      nextBatch = Math.max((await ctx.store.getValue<number>('planner.nextBatch')) ?? 1, ...started.map((r) => r.batch + 1));
      version = current?.doc.version ?? 0;
      tracker.set('starting', 'waiting for the first planning run');
    },
    async stop() {
      ctx.bus.removeOwner('planner');
      // A re-plan under way (a line stop's) finishes and saves its state first: a restart reads it from the store.
      await planning.catch(() => undefined);
    },
    health: () => tracker.get(),
    jobs: { planning: () => serially(() => plan()) },
    current: () => current?.doc ?? null,
    /** The plan with the changes, not applied; changes that change nothing give the plan in force, as it is. */
    async preview(changes) {
      checkChanges(changes);
      const same = Object.entries(changes.quota ?? {}).every(([name, n]) => planCfg.processes.find((p) => p.name === name)!.batchesPerDay === n) && (changes.contractedKw === undefined || changes.contractedKw === planCfg.contractedKw);
      if (same && current) return current.doc;
      const solved = await solve(withChanges(changes), ctx.clock.now());
      if ('refused' in solved) throw Object.assign(new Error(solved.refused), { statusCode: 422 });
      return planDocument(solved.input, solved.outcome, { planId: 'preview', version: version + 1, createdAt: ctx.clock.now(), baselineEur: solved.baselineEur, baselineRuns: solved.baselineRuns ?? null, savedReason: solved.savedReason, keptPrevious: false, timezone: tz, lineOf });
    },
    /**
     * Re-plans with the changes, after every change and planning run that came before it and before any that comes
     * after; answers with the plan this change made. When the inputs cannot give a plan (no prices yet) it is a 409
     * with the reason and nothing changes.
     */
    apply(changes) {
      checkChanges(changes);
      return serially(async () => {
        const before = { planCfg, current };
        // The runs of the plan in force that have started keep their batch ids (and count as started) before it is replaced.
        startedRuns(ctx.clock.now());
        planCfg = withChanges(changes);
        try {
          return (await plan({ fresh: true })).doc;
        } catch (error) {
          // Refused (no plan made): nothing changes. A plan made and published but not saved stays in force.
          if (current === before.current) planCfg = before.planCfg;
          throw error;
        }
      });
    },
    lines: () =>
      planCfg.processes.map((p) => {
        const now = ctx.clock.now();
        const runs = (current?.doc.runs ?? []).filter((r) => r.process === p.name && Date.parse(r.end) > now).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
        const run = runs[0];
        const command = run ? { ...run, state: Date.parse(run.start) <= now ? ('running' as const) : ('next' as const) } : null;
        return { line: p.line, process: p.name, batches_per_day: p.batchesPerDay, command, ack: acks.get(p.line) ?? null, override: inForce(overrides.get(p.line), now) };
      }),
  };
}

export const plannerPlugin: PluginFactory = {
  name: 'planner',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.planner.enabled,
  create: createPlanner,
};
