import type { Config } from '../../gateway/config/schema.js';
import { initBackend, tf } from '../../gateway/inference/backend.js';
import { loadHourlyPrices, loadWeather } from './datasets.js';
import { InputError } from '../../gateway/config/cli-input.js';
import { fileLoadHandler } from '../../gateway/inference/io.js';
import { MissingInputsError } from '../../gateway/inference/price-features.js';
import { forecastPrices } from '../../gateway/inference/price-model.js';
import { HOUR_MS, addDays, localDayRange } from '../../gateway/time/tz.js';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { violations } from '../../gateway/planner/cost.js';
import { totalCost } from '../../gateway/planner/holding.js';
import { solveGreedy } from '../../gateway/planner/greedy.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import { withContract } from '../../gateway/planner/contract-terms.js';
import type { PlannerInput } from '../../gateway/planner/types.js';
import { formatSiteReport, siteReport, type SiteDay, type SiteOptions, type SiteReport } from './simulate-site.js';
import { intradayReplay, liveReplan, noisyTemperatures } from './simulate-live.js';
import { bandScenarios } from '../../gateway/planner/band.js';
import { ambientMargin, planAmbient, withAmbientMargin, type AmbientRisk } from '../../gateway/planner/ambient-margin.js';
import { dayTrace, type DayTrace } from './day-trace.js';
import { forcedMoveSettings, type ForcedMoveRule } from '../../gateway/planner/forced-move.js';

export interface SimulationDay {
  date: string;
  planEur: number;
  baselineEur: number;
  hindsightEur: number;
  priceSource: 'forecast' | 'published';
  method: string;
  /**
   * The plan the gateway really runs (simulate-live.ts): provisional at the decision hour, re-planned on the
   * published prices after the auction result under the move limit; paid at the real prices. Equals `planEur`
   * when the decision is made on published prices.
   */
  liveEur: number;
  /** Batches moved in D's limit: the re-plan after the auction, plus the intraday re-plans when they run. */
  moves: number;
  /**
   * The plan the gateway runs broke a real ambient limit the weather forecast missed: the real plant halts, and the
   * day is charged the fixed shift (`liveEur` = `baselineEur`, no saving); the same rule for `planEur` and `replanEur`.
   */
  liveBroke: boolean;
  /** The plan fixed at the decision hour broke a real ambient limit (charged the fixed shift). */
  planBroke?: boolean;
  /**
   * The plan after the one re-plan on the published prices (the figure before the intraday replay), charged as
   * above; equals `liveEur` with `--intraday off`.
   */
  replanEur?: number;
  replanMoves?: number;
  replanBroke?: boolean;
  /** Intraday re-plans run and batches they moved (simulate-live.ts intradayReplay); absent with `--intraday off`. */
  intraday?: { replans: number; moves: number; forced: number; stays?: number };
  /** The free re-plan moved more batches than the limit and the MILP chose which to move (move-budget.ts). */
  budgeted?: boolean;
  /** Where the plan fixed at the decision hour lost against hindsight (day-trace.ts; `simulate --days FILE`). */
  trace?: DayTrace;
}

export interface SimulationResult {
  /** How the plan was made (forecaster, decision hour, weather), printed under the title. */
  setup: string;
  days: SimulationDay[];
  skipped: string[];
  totals: { planEur: number; baselineEur: number; hindsightEur: number; kwh: number; liveEur: number; moves: number; replanEur?: number; replanMoves?: number };
  /** The intraday replay ran (`--intraday on`, the default, with weather). */
  intraday?: boolean;
  /** The bill of each schedule, with the site's base load and the contract (issue #22), when asked for. */
  site?: SiteReport;
}

/**
 * Plans each day of [from, to) as the gateway would: the plan is made the day before at `decisionHour`
 * (before 13:00 the day's prices are not published, so the price model's forecast is used), then paid at the
 * real prices. Compared with the fixed shift (same work, earliest start in the baseline shift) and with the
 * plan made with perfect hindsight. The plan's outdoor temperatures: `persistence` (default), for each hour the
 * last observation of the same clock hour made before the decision; `observed`, the day's real temperatures, an
 * upper bound for what a weather service's forecast (AEMET, OpenWeatherMap) gives the gateway: no archive of
 * those forecasts exists to replay.
 */
export async function simulate(config: Config, options: { prices: string; moveRule?: 'budget' | 'all-or-nothing'; weather?: string; weatherForecast?: 'persistence' | 'observed' | 'noisy'; intraday?: boolean; intradayMarginC?: number; forcedMoveRule?: ForcedMoveRule; forcedStakeEur?: number; ambientZ?: number; ambientStakeEur?: number; seed?: number; riskWeight?: number; from: string; to: string; decisionHour: number; modelDir?: string; drivers?: string; forecaster?: 'recalibrated' | 'network'; site?: SiteOptions }): Promise<SimulationResult> {
  const tz = config.site.timezone;
  const pricePaths = options.prices.split(',').filter(Boolean);
  const prices = loadHourlyPrices(pricePaths[0]!);
  checkCoverage(prices, options.prices, options.from, options.to, tz);
  const weather = options.weather ? loadWeather(options.weather) : undefined;
  let model: import('../../gateway/inference/tf.js').LayersModel | undefined;
  // The forecast the gateway would have had at the decision hour: the calibration made the afternoon before, as the daily job makes it.
  let recalibrated: Map<string, Array<{ start: number; end: number; value: number; low?: number; high?: number }>> | undefined;
  let network: Awaited<ReturnType<typeof import('./price-rolling.js').networkMemberFrom>>;
  if (options.decisionHour < 13 && options.forecaster !== 'network') {
    const { networkMemberFrom, rollingRun } = await import('./price-rolling.js');
    const r = config.models.recalibration;
    network = options.modelDir ? await networkMemberFrom(options.modelDir) : undefined;
    const run = rollingRun(pricePaths, options.drivers, addDays(options.from, -1), addDays(options.to, -1), { windows: r.windows, lambda: r.lambda, conformalDays: r.conformalDays, weightDays: r.weightDays }, { tz, network, progress: (line) => process.stderr.write(`${line}\n`) });
    recalibrated = new Map([...run.byOrigin].map(([last, f]) => [last, f.find((x) => x.k === 1)?.slots ?? []]));
  } else if (options.decisionHour < 13 && options.modelDir) {
    await initBackend();
    model = await tf.loadLayersModel(fileLoadHandler(options.modelDir));
  }
  // With the site (energy.contract + base load): every schedule is planned and priced under the contract
  // (gateway/planner/contract-terms.ts); the plan sees the same base load as hindsight (the file, or the profile).
  const site = options.site;
  const priced = (input: PlannerInput): PlannerInput => (site ? withContract(input, site.contract, site.baseLoadKw, { timezone: tz, baseSource: site.baseLoadSource }) : input);
  const runsToPlace = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.batchesPerDay]));
  const processKw = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.kw]));
  const days: SimulationDay[] = [];
  const skipped: string[] = [];
  const siteDays: SiteDay[] = [];
  let kwh = 0;
  const intradayOn = options.intraday !== false && weather !== undefined;
  // The chance constraint on the ambient limits (gateway/planner/ambient-margin.ts), as the gateway applies it, where
  // the plan relies on a temperature forecast (noisy or persistence; not the observed temperatures, which have no error).
  const risk: AmbientRisk | undefined = weather && options.weatherForecast !== 'observed' ? { z: options.ambientZ ?? config.planner.ambientRisk.z, sigmaC: config.planner.ambientRisk.sigmaC, rho: config.planner.weatherErrorDecay, stakeEur: options.ambientStakeEur ?? config.planner.ambientRisk.stakeEur } : undefined;
  let relaxedDays = 0;
  // The forced-move rule of the intraday replay (gateway/planner/forced-move.ts), the live planner's; its stake
  // follows --ambient-stake unless --forced-stake (planner.ambientRisk.forcedMoveStakeEur) names its own.
  const ar = config.planner.ambientRisk;
  const forcedRule = forcedMoveSettings({ replanThresholdEur: config.planner.replanThresholdEur, ambientRisk: { stakeEur: options.ambientStakeEur ?? ar.stakeEur, forcedMoveRule: options.forcedMoveRule ?? ar.forcedMoveRule, forcedMoveStakeEur: options.forcedStakeEur ?? ar.forcedMoveStakeEur } });
  for (let date = options.from; date < options.to; date = addDays(date, 1)) {
    const { start, end } = localDayRange(date, tz);
    const starts: number[] = [];
    for (let t = start; t < end; t += HOUR_MS) starts.push(t);
    const actual = starts.map((t) => prices.get(t));
    if (actual.some((p) => p === undefined)) {
      skipped.push(`${date}: prices missing`);
      continue;
    }
    const outdoorActual = starts.map((t) => weather?.temp.get(t) ?? null);
    const decidedAt = localDayRange(addDays(date, -1), tz).start + options.decisionHour * HOUR_MS;
    const outdoorForecast = options.weatherForecast === 'observed' ? outdoorActual : options.weatherForecast === 'noisy' ? noisyTemperatures(outdoorActual, date, options.seed ?? 1) : starts.map((t) => (weather ? persistenceTemperature(weather.temp, t, decidedAt) : null));
    let planned = actual as number[];
    let priceSource: 'forecast' | 'published' = 'published';
    if (options.decisionHour < 13) {
      priceSource = 'forecast';
      planned = (recalibrated ? recalibratedHours(recalibrated.get(addDays(date, -1)), starts) : networkHours(model, prices, start, starts, tz)) ?? starts.map((t) => prices.get(t - 24 * HOUR_MS) ?? 0);
    }
    const base = { starts, resolutionMs: HOUR_MS, priceSource: starts.map(() => priceSource), runsToPlace };
    // Day-ahead: no hour of D observed yet, the full σ (a lead of 14 h or more after 10:00 D-1 leaves √(1 − 0.8^28) ≈ 1 of it).
    const margin = risk ? ambientMargin(starts, risk) : undefined;
    const withMargin = (input: PlannerInput): PlannerInput => (margin ? withAmbientMargin(input, margin) : input);
    const forPlan = priced(withMargin(buildPlannerInput(config.planner, { ...base, priceEurMwh: planned, outdoorC: outdoorForecast }, tz)));
    // Risk-aware (gateway/planner/risk.ts): CVaR over 20 scenarios from the calibration's 10-90 % band.
    const calibratedBand = priceSource === 'forecast' && recalibrated ? recalibratedBand(recalibrated.get(addDays(date, -1)), starts) : undefined;
    const band = options.riskWeight ? calibratedBand : undefined;
    if (band) forPlan.risk = { scenarios: bandScenarios(forPlan, band.low, band.high, 20, options.seed ?? 1), weight: options.riskWeight!, alpha: 0.8 };
    const real = priced(buildPlannerInput(config.planner, { ...base, priceEurMwh: actual as number[], outdoorC: outdoorActual }, tz));
    // Where the margin alone leaves no plan, the plan on the point forecast (ambient-margin.ts planAmbient), as the gateway.
    const { input: planInput, outcome: plan } = await planAmbient(forPlan);
    if (planInput.ambientMargin?.relaxed) relaxedDays++;
    const hindsight = await planSchedule(real);
    const baseline = solveGreedy(priced(buildPlannerInput(config.planner, { ...base, priceEurMwh: actual as number[], outdoorC: outdoorActual, baseline: true }, tz)), { earliest: true });
    // A day the real weather made impossible is left out of every plan; a day only the forecast made impossible
    // is the plan's failure: the plant falls back to the fixed shift, which saves nothing.
    if (hindsight.infeasible || baseline.infeasible) {
      skipped.push(`${date}: infeasible (${[...(hindsight.infeasible ?? []), ...(baseline.infeasible ?? [])].join('; ')})`);
      continue;
    }
    const runs = plan.infeasible ? baseline.runs : plan.runs;
    const paid = totalCost(real, runs);
    // The plan the gateway runs: re-planned after the auction on the published prices and the same weather forecast.
    const live = priceSource === 'forecast' ? await liveReplan(withMargin(buildPlannerInput(config.planner, { ...base, priceSource: starts.map(() => 'published' as const), priceEurMwh: actual as number[], outdoorC: outdoorForecast }, tz)), runs, config.planner.maxMovesPerDay, options.moveRule !== 'all-or-nothing') : { runs, moves: 0 };
    // Then inside D, hour by hour, on the forecast anchored on the observed hours (simulate-live.ts intradayReplay).
    const intraday = intradayOn ? await intradayReplay({ planner: config.planner, timezone: tz, starts, prices: actual as number[], forecastC: outdoorForecast, observedC: outdoorActual, plan: live.runs, movesUsed: live.moves, rho: config.planner.weatherErrorDecay, ...(risk ? { risk } : {}), forcedMove: forcedRule, ...(forcedRule.rule === 'saving' ? { shiftRuns: solveGreedy(priced(buildPlannerInput(config.planner, { ...base, priceSource: starts.map(() => 'published' as const), priceEurMwh: actual as number[], outdoorC: outdoorForecast, baseline: true }, tz)), { earliest: true }).runs } : {}), ...(options.intradayMarginC ? { forceMarginC: options.intradayMarginC } : {}) }) : undefined;
    const finalRuns = intraday?.runs ?? live.runs;
    // Honest charging: a schedule that breaks an ambient limit under the real temperatures halts the real plant;
    // the day is charged the fixed shift (it saves nothing), for every figure alike.
    const baselineEur = totalCost(real, baseline.runs).eur;
    const broke = (r: typeof runs) => violations(real, r).length > 0;
    const charged = (r: typeof runs) => (broke(r) ? baselineEur : totalCost(real, r).eur);
      if (options.site) siteDays.push({ starts, resolutionMs: HOUR_MS, plan: runs, baseline: baseline.runs, hindsight: hindsight.runs });
    kwh += paid.kwh;
    days.push({
      date,
      planEur: charged(runs),
      baselineEur,
      hindsightEur: totalCost(real, hindsight.runs).eur,
      priceSource,
      method: plan.infeasible ? 'fixed shift (no feasible plan on the forecast temperatures)' : `${plan.method}${violations(real, plan.runs).length ? ' (broke an ambient limit that the forecast missed)' : ''}`,
      liveEur: charged(finalRuns),
      moves: live.moves + (intraday?.moves ?? 0),
      liveBroke: broke(finalRuns),
      planBroke: !plan.infeasible && broke(runs),
      replanEur: charged(live.runs),
      replanMoves: live.moves,
      replanBroke: broke(live.runs),
      ...(intraday ? { intraday: { replans: intraday.replans, moves: intraday.moves, forced: intraday.steps.filter((x) => x.reason === 'forced').reduce((a, x) => a + x.moved, 0), stays: intraday.stays } } : {}),
      ...('budgeted' in live && live.budgeted ? { budgeted: true } : {}),
      trace: dayTrace({ starts, resolutionMs: HOUR_MS, kw: processKw, forecast: planned, actual: actual as number[], low: calibratedBand?.low, high: calibratedBand?.high, plan: runs, hindsight: hindsight.runs, timezone: tz }),
    });
  }
  if (!days.length) throw new InputError(`no day from ${options.from} to ${options.to} could be planned (${skipped.slice(0, 3).join('; ')}${skipped.length > 3 ? '; …' : ''})`);
  const sum = (k: 'planEur' | 'baselineEur' | 'hindsightEur' | 'liveEur' | 'moves' | 'replanEur' | 'replanMoves') => Math.round(days.reduce((s, d) => s + (d[k] ?? 0), 0) * 100) / 100;
  const forecaster = options.decisionHour >= 13 ? 'published prices' : recalibrated ? `the recalibrated forecaster${network ? ` with ${network.id} as a member after ${network.after}` : ''}` : model ? 'the shipped TF.js network alone' : 'same-hour-yesterday prices (no model)';
  const weatherSetup = !weather ? 'no weather' : options.weatherForecast === 'observed' ? 'observed temperatures (an upper bound for a weather forecast)' : options.weatherForecast === 'noisy' ? `observed temperatures with a day-ahead forecast's error (seed ${options.seed ?? 1}: bias −0.1 °C, spread 1.2 °C, hourly AR(1) 0.8)` : 'temperature persistence (last observation of each hour before the decision)';
  const setup = `plan fixed at ${String(options.decisionHour).padStart(2, '0')}:00 the day before on ${forecaster}${options.drivers ? ', REE D-1 drivers where stored' : ''}; ${weatherSetup}${options.riskWeight ? `; risk-aware: cost + ${options.riskWeight} × CVaR 80 % over 20 scenarios from the 10-90 % band` : ''}${intradayOn && options.intradayMarginC ? `; intraday: a forced move only when the corrected forecast passes a limit by ${options.intradayMarginC} °C` : ''}${intradayOn ? `; intraday forced moves: ${forcedRule.rule !== 'limit' ? forcedRule.rule === 'saving' ? `priced on the day's saving (only when the plan's saving against the fixed shift × P(a run meets its limit), net of the moved plan's, exceeds the price difference + ${forcedRule.moveCostEur} €; a certain limit always)` : `priced (only when ${forcedRule.stakeEur} € × P(the run meets its limit), net of the moved plan's, exceeds the price difference + ${forcedRule.moveCostEur} €; a certain limit always)` : 'whenever the corrected forecast crosses a limit'}` : ''}`;
  return { setup: `${setup}${risk ? `; ambient limits (35 °C halt, maxPlantTempC, cooling in the contracted power) checked at the temperature forecast + z ${risk.z} × σ(lead), σ ${risk.sigmaC} °C × √(1 − ${risk.rho}^(2 × hours after the last observed hour)), the cost at the forecast${risk.stakeEur ? `; each run's chance of meeting a limit priced at ${risk.stakeEur} € in the solvers' choice (not in the € reported)` : ''}${relaxedDays ? `; the margin relaxed on ${relaxedDays} day(s) where it alone left a process no placement` : ''}` : weather ? '; ambient limits at the temperature given (no margin)' : ''}`, days, skipped, totals: { planEur: sum('planEur'), baselineEur: sum('baselineEur'), hindsightEur: sum('hindsightEur'), kwh: Math.round(kwh), liveEur: sum('liveEur'), moves: days.reduce((a, d) => a + d.moves, 0), replanEur: sum('replanEur'), replanMoves: days.reduce((a, d) => a + (d.replanMoves ?? 0), 0) }, intraday: intradayOn, ...(options.site ? { site: siteReport(config, options.site, siteDays, prices) } : {}) };
}

/**
 * The temperature a plan decided at `decidedAt` (UTC ms) can assume for hour `t` by persistence: the same clock hour
 * a day earlier when it was already observed then, else two days earlier; null when that observation is missing.
 */
export function persistenceTemperature(temp: ReadonlyMap<number, number>, t: number, decidedAt: number): number | null {
  const dayBefore = t - 24 * HOUR_MS;
  return temp.get(dayBefore < decidedAt ? dayBefore : dayBefore - 24 * HOUR_MS) ?? null;
}

/** Throws InputError unless the prices hold every hour of at least one local day in [from, to); says what they cover. */
function checkCoverage(prices: ReadonlyMap<number, number>, file: string, from: string, to: string, tz: string): void {
  for (let date = from; date < to; date = addDays(date, 1)) {
    const { start, end } = localDayRange(date, tz);
    let whole = true;
    for (let t = start; t < end && whole; t += HOUR_MS) whole = prices.has(t);
    if (whole) return;
  }
  let first = Infinity;
  let last = -Infinity;
  for (const t of prices.keys()) {
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  const covers = prices.size ? `they cover ${new Date(first).toISOString().slice(0, 10)} to ${new Date(last).toISOString().slice(0, 10)}` : 'they hold no price';
  throw new InputError(`--prices ${file} does not cover any whole day from ${from} to ${to}: ${covers}`);
}

/** `part / whole` as a percentage with one decimal, or "n/a" when it is not a finite number (e.g. whole is 0). */
function percent(part: number, whole: number): string {
  const p = (part / whole) * 100;
  return Number.isFinite(p) ? `${p.toFixed(1)} %` : 'n/a';
}

/** The recalibrated forecast made the afternoon before, per planner hour (quarter-hours averaged). */
function recalibratedHours(slots: ReadonlyArray<{ start: number; value: number }> | undefined, starts: readonly number[]): number[] | undefined {
  if (!slots?.length) return undefined;
  const out = starts.map((t) => {
    const inHour = slots.filter((s) => s.start >= t && s.start < t + HOUR_MS);
    return inHour.length ? inHour.reduce((a, s) => a + s.value, 0) / inHour.length : NaN;
  });
  return out.every(Number.isFinite) ? out : undefined;
}

/** The calibration's 10-90 % band per planner hour (quarter-hours averaged), or undefined when not complete. */
function recalibratedBand(slots: ReadonlyArray<{ start: number; low?: number; high?: number }> | undefined, starts: readonly number[]): { low: number[]; high: number[] } | undefined {
  if (!slots?.length) return undefined;
  const mean = (t: number, side: 'low' | 'high') => {
    const inHour = slots.filter((s) => s.start >= t && s.start < t + HOUR_MS && s[side] !== undefined);
    return inHour.length ? inHour.reduce((a, s) => a + s[side]!, 0) / inHour.length : NaN;
  };
  const low = starts.map((t) => mean(t, 'low'));
  const high = starts.map((t) => mean(t, 'high'));
  return [...low, ...high].every(Number.isFinite) ? { low, high } : undefined;
}

/** The shipped network's forecast from the prices up to the start of the day. */
function networkHours(model: import('../../gateway/inference/tf.js').LayersModel | undefined, prices: ReadonlyMap<number, number>, dayStart: number, starts: readonly number[], tz: string): number[] | undefined {
  if (!model) return undefined;
  try {
    const f = forecastPrices(model, prices, dayStart, undefined, tz).slots;
    return starts.map((t) => f.find((s) => s.start === t)?.value ?? prices.get(t - 24 * HOUR_MS) ?? 0);
  } catch (error) {
    if (error instanceof MissingInputsError) return undefined;
    throw error;
  }
}

/**
 * The plan-the-gateway-runs lines: with the intraday replay, the final figure and the one-re-plan figure before it;
 * the charging rule (a day whose schedule breaks an ambient limit under the real temperatures is charged the fixed
 * shift) said once, with how many days it hit for each figure.
 */
function liveLines(r: SimulationResult, maxMoves: number): string[] {
  const hindSaved = r.totals.baselineEur - r.totals.hindsightEur;
  const n = r.days.length;
  const line = (eur: number, moves: number) => `saved ${(r.totals.baselineEur - eur).toFixed(2)} €, ${percent(r.totals.baselineEur - eur, hindSaved)} of the hindsight saving; ${(moves / n).toFixed(2)} batch moves a day (${moves} in ${n} days)`;
  const budgeted = r.days.some((d) => d.budgeted) ? `; over the limit the solver chose which batches to move after the auction on ${r.days.filter((d) => d.budgeted).length} day(s)` : '';
  const replan = `provisional at the decision hour, re-planned once on the published prices after the auction, at most ${maxMoves} batch moves a day`;
  const intradayMoves = r.days.reduce((a, d) => a + (d.intraday?.moves ?? 0), 0);
  const forced = r.days.reduce((a, d) => a + (d.intraday?.forced ?? 0), 0);
  const replans = r.days.reduce((a, d) => a + (d.intraday?.replans ?? 0), 0);
  const stays = r.days.reduce((a, d) => a + (d.intraday?.stays ?? 0), 0);
  return [
    ...(r.intraday
      ? [
          `plan the gateway runs (${replan}, then re-planned hour by hour in the day on the forecast anchored on the observed hours, frozen window kept, the same day's limit): ${line(r.totals.liveEur, r.totals.moves)}${budgeted}; intraday ${replans} re-plan(s), ${intradayMoves} batch move(s) (${forced} because the plan in force broke an ambient limit on the corrected forecast${stays ? `; ${stays} re-plan(s) kept such a plan, its expected loss below the move's cost` : ''})`,
          `plan the gateway runs without the intraday re-plans (${replan}; --intraday off): ${line(r.totals.replanEur ?? r.totals.liveEur, r.totals.replanMoves ?? r.totals.moves)}`,
        ]
      : [`plan the gateway runs (${replan}; intraday re-plans off): ${line(r.totals.liveEur, r.totals.moves)}${budgeted}`]),
    `a day whose schedule breaks an ambient limit under the real temperatures (the real plant halts) is charged the fixed shift, no saving, in every figure: plan fixed at the decision hour on ${r.days.filter((d) => d.planBroke).length} day(s), after the one re-plan on ${r.days.filter((d) => d.replanBroke).length}${r.intraday ? `, the plan the gateway runs on ${r.days.filter((d) => d.liveBroke).length}` : ''}`,
  ];
}

export function formatSimulation(r: SimulationResult, from: string, to: string, maxMoves = 2): string {
  const months = new Map<string, { plan: number; base: number; hind: number; n: number }>();
  for (const d of r.days) {
    const m = d.date.slice(0, 7);
    const acc = months.get(m) ?? { plan: 0, base: 0, hind: 0, n: 0 };
    acc.plan += d.planEur;
    acc.base += d.baselineEur;
    acc.hind += d.hindsightEur;
    acc.n++;
    months.set(m, acc);
  }
  const f = (x: number) => x.toFixed(2).padStart(11);
  const saved = r.totals.baselineEur - r.totals.planEur;
  const fallbacks = r.days.filter((d) => d.method.startsWith('fixed shift')).length;
  const gap = r.totals.planEur - r.totals.hindsightEur;
  return [
    `simulation ${from} → ${to}: ${r.days.length} days planned, ${r.skipped.length} skipped; ${r.totals.kwh} kWh`,
    r.setup,
    `${'month'.padEnd(8)} ${'days'.padStart(4)} ${'plan €'.padStart(11)} ${'baseline €'.padStart(11)} ${'hindsight €'.padStart(11)}`,
    ...[...months.entries()].map(([m, a]) => `${m.padEnd(8)} ${String(a.n).padStart(4)} ${f(a.plan)} ${f(a.base)} ${f(a.hind)}`),
    ...r.skipped.slice(0, 10).map((s) => `skipped ${s}`),
    ...(fallbacks ? [`fixed shift on ${fallbacks} day(s): the plan found no feasible schedule on the forecast temperatures`] : []),
    `saved against the fixed shift: ${saved.toFixed(2)} € (${percent(saved, r.totals.baselineEur)}); gap to perfect hindsight: ${gap.toFixed(2)} € (${percent(gap, r.totals.hindsightEur)})`,
    `share of the perfect-hindsight saving kept: ${percent(saved, r.totals.baselineEur - r.totals.hindsightEur)}`,
    `plan fixed at the decision hour: saved ${saved.toFixed(2)} €, ${percent(saved, r.totals.baselineEur - r.totals.hindsightEur)} of the hindsight saving (${(r.totals.baselineEur - r.totals.hindsightEur).toFixed(2)} €)`,
    ...liveLines(r, maxMoves),
    ...(r.site ? formatSiteReport(r.site) : []),
    `total: plan_eur=${r.totals.planEur.toFixed(2)} live_eur=${r.totals.liveEur.toFixed(2)} moves=${r.totals.moves} baseline_eur=${r.totals.baselineEur.toFixed(2)} hindsight_eur=${r.totals.hindsightEur.toFixed(2)}${r.site ? ` excess_eur=${r.site.plan.amounts.excess_eur.toFixed(2)} excess_quarter_hours=${r.site.plan.excessQuarterHours}` : ''}`,
  ].join('\n');
}
