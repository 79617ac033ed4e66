import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HealthTracker } from '../../gateway/util/health.js';
import { CLASSES } from '../../gateway/inference/prototype-scores.js';
import { seededRandom } from '../../gateway/inference/seeded-random.js';
import { fileSaveHandler } from '../../gateway/inference/io.js';
import { HORIZON_BANDS, evaluatePriceModel } from '../../gateway/inference/price-eval.js';
import { priceFeatureNames } from '../../gateway/inference/price-features.js';
import { buildPriceNetwork } from '../../gateway/inference/price-model.js';
import { rowsBetween, trainEpochs } from '../../gateway/inference/price-train.js';
import { ModelRegistry, asNetwork } from '../../gateway/inference/registry.js';
import { InferenceRefused, PRICE_MODEL, PredictionService, type PriceForecast } from '../../gateway/inference/service.js';
import { PAYLOAD_VERSION, topics } from '../../gateway/mqtt/topics.js';
import { PLUGIN_API_VERSION, type JobRunResult, type Plugin, type PluginContext, type PluginFactory, type SeriesDescriptor } from '../../gateway/core/plugin-api.js';
import { hourly } from '../../gateway/series/slots.js';
import { DAY_MS, addDays, formatLocalIso, formatUtcIso, localDate, localDayRange } from '../../gateway/time/tz.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { isLearCalibration, type LearDayForecast } from '../../gateway/inference/price-lear.js';
import { NotEnoughHistory, networkDayForecaster, networkMember, recalibrateYielding, warmupDays, type RecalibrationResult } from '../../gateway/inference/price-recalibrate.js';
import { projectPath } from '../../gateway/util/version.js';
import { forecastAccuracy, forecastSeriesId, type AccuracyRow } from './accuracy.js';

export const RECOMMENDATION_SERIES = 'recommendation.model';

export { forecastSeriesId, type AccuracyRow } from './accuracy.js';

export interface PredictionsPlugin extends Plugin {
  registry: ModelRegistry;
  service: PredictionService;
  accuracy(now: number): Promise<AccuracyRow[]>;
  lastRun(): { at: number | null; forecast: string; recommendation: string };
  recalibration(): RecalibrationStatus;
}

/** The last daily recalibration, for /models/status, the status page and bridge/health. */
export interface RecalibrationStatus {
  at: number | null;
  status: 'not run yet' | 'promoted' | 'kept active' | 'up to date' | 'skipped' | 'failed';
  summary: string;
  metrics?: Record<string, unknown>;
}

export function createPredictions(ctx: PluginContext): PredictionsPlugin {
  const cfg = ctx.config.models;
  const tz = ctx.config.site.timezone;
  const registry = new ModelRegistry(
    [
      { path: projectPath(cfg.dir), writable: false },
      { path: join(resolve(ctx.config.dataDir), 'models'), writable: true },
    ],
    ctx.store,
    ctx.log,
    () => ctx.clock.now(),
    cfg.keepVersions,
    true, // networks (and TF.js) load on first use
  );
  const service = new PredictionService(registry, ctx.store, {
    priceSeries: cfg.priceSeries,
    timezone: tz,
    driverSeries: { demand: 'drivers.demand_d1', wind: 'drivers.wind_d1', solar: 'drivers.solar_d1' },
    temperature: { forecast: 'fc.combined.temp', observed: 'obs.combined.temp' },
  });
  const tracker = new HealthTracker(() => ctx.clock.now());
  let last = { at: null as number | null, forecast: 'not run yet', recommendation: 'not run yet' };
  let lastRecalibration: RecalibrationStatus = { at: null, status: 'not run yet', summary: 'not run yet' };
  /** Keeps the job's result for /models/status and the page, and logs it: an operator on journald sees every daily run. */
  const record = (r: RecalibrationStatus): void => {
    lastRecalibration = r;
    if (r.status === 'failed') ctx.log.warn({ job: 'recalibration', status: r.status }, r.summary);
    else ctx.log.info({ job: 'recalibration', status: r.status }, r.summary);
  };
  // Out-of-sample forecasts of past origins: the daily run replays its backtest from here and calibrates once.
  const backtestMemo = new Map<string, LearDayForecast[]>();

  const writeForecast = async (f: PriceForecast): Promise<void> => {
    for (const band of HORIZON_BANDS) {
      const slots = f.slots.filter((s) => s.horizon >= band.from && s.horizon <= band.to).map((s) => ({ start: s.start, end: s.end, value: s.value }));
      if (slots.length) await ctx.store.write(forecastSeriesId(f.series, band.name), 'EUR/MWh', slots, { source: `${PRICE_MODEL}@${f.version}`, fetchedAt: f.issuedAt });
    }
    await ctx.store.write(`forecast.${f.series}`, 'EUR/MWh', f.slots.map((s) => ({ start: s.start, end: s.end, value: s.value })), { source: `${PRICE_MODEL}@${f.version}`, fetchedAt: f.issuedAt, replaceRange: true });
    // The calibrated 10-90 % band, for the planner's saving range (gateway/planner/band.ts).
    for (const side of ['low', 'high'] as const) await ctx.store.write(`forecast.${f.series}.${side}`, 'EUR/MWh', f.slots.map((s) => ({ start: s.start, end: s.end, value: s[side] })), { source: `${PRICE_MODEL}@${f.version}`, fetchedAt: f.issuedAt, replaceRange: true });
    await ctx.mqtt.publish(
      topics.forecastPrices,
      {
        v: PAYLOAD_VERSION,
        series: f.series,
        model: PRICE_MODEL,
        version: f.version,
        issued_at: formatUtcIso(f.issuedAt),
        unit: 'EUR/MWh',
        drivers_used: f.driversUsed,
        slots: f.slots.map((s) => ({ start: formatUtcIso(s.start), start_local: formatLocalIso(s.start, tz), value: s.value, low: s.low, high: s.high, horizon_h: s.horizon })),
      },
      { retain: true },
    );
  };

  const predict = async (): Promise<JobRunResult> => {
    await registry.refresh();
    const now = ctx.clock.now();
    const parts: string[] = [];
    const refusals: string[] = [];
    let forecast: PriceForecast | undefined;
    try {
      const f = await service.priceForecast(now);
      forecast = f;
      await writeForecast(f);
      last.forecast = `forecast ${f.slots.length} h from ${formatUtcIso(f.lastKnownEnd)} with ${PRICE_MODEL}@${f.version}`;
      parts.push(last.forecast);
    } catch (error) {
      if (!(error instanceof InferenceRefused)) throw error;
      last.forecast = `refused: ${error.message}`;
      refusals.push(error.message);
    }
    try {
      const r = await service.recommendations(now, 24, forecast);
      // Kept as a series (class index 0 Optimal … 3 Halt) so that the planner can put the model's view beside its own.
      if (r.hours.length) {
        await ctx.store.write(
          RECOMMENDATION_SERIES,
          'class',
          r.hours.map((h) => ({ start: h.start, end: h.end, value: CLASSES.indexOf(h.recommendation) })),
          { source: `production-recommender@${r.version}`, fetchedAt: now, replaceRange: true },
        );
      }
      const current = r.hours[0];
      if (current) {
        await ctx.mqtt.publish(
          topics.recommendationModel,
          {
            v: PAYLOAD_VERSION,
            method: 'model',
            model: 'production-recommender',
            version: r.version,
            at: formatUtcIso(now),
            recommendation: current.recommendation,
            urgency: current.urgency,
            hour_start: formatUtcIso(current.start),
            hour_start_local: formatLocalIso(current.start, tz),
            probabilities: current.probabilities,
            next: r.hours.slice(1, 13).map((h) => ({ start: formatUtcIso(h.start), recommendation: h.recommendation, urgency: h.urgency })),
          },
          { retain: true },
        );
      }
      last.recommendation = `${r.hours.length} hours recommended, now ${current?.recommendation ?? 'n/a'}`;
      parts.push(last.recommendation);
    } catch (error) {
      if (!(error instanceof InferenceRefused)) throw error;
      last.recommendation = `refused: ${error.message}`;
      refusals.push(error.message);
    }
    last.at = now;
    await ctx.mqtt.publish(topics.modelsStatus, { v: PAYLOAD_VERSION, at: formatUtcIso(now), backend: registry.backend?.name ?? null, models: registry.loaded().map((m) => ({ name: m.name, version: m.version, inferences: m.inferences })), accuracy: await accuracy(now), last: { forecast: last.forecast, recommendation: last.recommendation } }, { retain: true });
    if (refusals.length) tracker.set('degraded', `inference refused: ${refusals.join('; ')}`, 'inputs_missing');
    else tracker.set('ok', parts.join('; '));
    if (refusals.length && !parts.length) throw new Error(`no inference: ${refusals.join('; ')}`);
    return { summary: [...parts, ...refusals.map((r) => `refused: ${r}`)].join('; ') };
  };

  /** MAE of the forecasts that were made, against the prices that arrived, per horizon band (see accuracy.ts). */
  const accuracy = (now: number): Promise<AccuracyRow[]> => forecastAccuracy(ctx.store, cfg.priceSeries, now);

  /**
   * Daily: recalibrates the LEAR ensemble on the store's own history up to the last complete published day and
   * promotes it if its guard passes (see `recalibrate`). Writes `<dataDir>/models/price-forecaster/<version>/`
   * with calibration.json and a card holding the backtest and guard metrics, so versions, rollback and pruning
   * are the registry's as for any model.
   */
  const recalibration = async (): Promise<JobRunResult> => {
    // The run's time is when it started, as the jobs table shows it (the refresh may take a while on the demo's fast clock).
    const now = ctx.clock.now();
    await registry.refresh();
    const rc = cfg.recalibration;
    const settings = { windows: rc.windows, lambda: rc.lambda, conformalDays: rc.conformalDays, weightDays: rc.weightDays, bandStep: rc.bandStep, bandScaleDays: rc.bandScaleDays, clearSkyWindow: rc.clearSkyWindow };
    const latest = (await ctx.store.read(cfg.priceSeries, now - 3 * DAY_MS, now + 3 * DAY_MS)).at(-1);
    if (!latest) {
      record({ at: now, status: 'skipped', summary: `recalibration skipped: no ${cfg.priceSeries} prices in the last 3 days` });
      return { summary: lastRecalibration.summary };
    }
    let lastDay = localDate(latest.end - 1, tz);
    if (localDayRange(lastDay, tz).end !== latest.end) lastDay = addDays(lastDay, -1);
    const active = registry.has(PRICE_MODEL) ? await registry.ready(PRICE_MODEL) : undefined;
    if (active && isLearCalibration(active.model) && active.model.lastDay >= lastDay) {
      const summary = `recalibration not needed: ${PRICE_MODEL}@${active.version} already saw prices up to ${active.model.lastDay}`;
      lastRecalibration = { ...lastRecalibration, at: now, status: 'up to date', summary };
      return { summary };
    }
    const maxWindow = Math.max(...rc.windows);
    // The replay's first origin (see recalibrate) calibrates on its longest window, each target with its week of lags.
    const history = await service.learHistory(localDayRange(addDays(lastDay, -(maxWindow + Math.max(rc.guardDays, warmupDays(settings)) + 10)), tz).start, localDayRange(lastDay, tz).end);
    const network = active && !isLearCalibration(active.model) ? asNetwork(active.model, PRICE_MODEL) : undefined;
    const member = await registry.memberNetwork(PRICE_MODEL);
    const incumbent = active && isLearCalibration(active.model)
      ? { kind: 'calibration' as const, calibration: active.model }
      : network
        ? { kind: 'network' as const, forecaster: networkDayForecaster(network, history, tz) }
        : null;
    let r: RecalibrationResult;
    try {
      r = await recalibrateYielding(history, lastDay, settings, incumbent, { guardDays: rc.guardDays, tolerance: rc.tolerance, tz, memo: backtestMemo, external: member ? networkMember(member.model, history, tz, member.trainedTo) : undefined });
    } catch (error) {
      if (error instanceof NotEnoughHistory) {
        record({ at: now, status: 'skipped', summary: `recalibration skipped: ${error.message}` });
        return { summary: lastRecalibration.summary };
      }
      const summary = `recalibration failed: ${errorMessage(error)}`;
      record({ at: now, status: 'failed', summary });
      tracker.set('degraded', summary, 'recalibration_failed');
      throw new Error(summary);
    }
    const metrics = {
      lastDay,
      backtest: { days: r.backtest.days, d1Mae: r.backtest.mae, naiveDayMae: r.backtest.naiveDayMae, ratioToNaiveDay: Math.round((r.backtest.mae / r.backtest.naiveDayMae) * 1000) / 1000, coverage10to90: r.backtest.coverage },
      guard: r.guard,
      inputs: r.candidate.inputs,
      members: r.candidate.members.length,
      // Named only when it can take part: a network is never weighed on the days it was trained on.
      networkMember: member ? (!member.trainedTo || member.trainedTo <= lastDay ? `${PRICE_MODEL}@${member.version}` : `none: ${PRICE_MODEL}@${member.version} was trained on prices up to ${member.trainedTo}`) : null,
      weights: shares(r.candidate.weights ?? {}),
      // The adaptive band: its quantile levels (adaptive conformal inference over the last conformalDays) and error scales, €/MWh.
      band: { levels: r.candidate.bandState?.levels ?? null, scales: r.candidate.bandScales ?? null, offsets: r.candidate.bands },
      cost: r.cost,
    };
    const costText = `${r.cost.cpuMs} ms CPU, ${r.cost.wallMs} ms wall, max RSS +${r.cost.maxRssGrowthMb} MB, ${r.cost.calibrations} calibrations`;
    if (!r.promote) {
      const summary = `calibration up to ${lastDay} not promoted: ${r.reason}; active stays ${active?.version ?? 'none'} (${costText})`;
      record({ at: now, status: 'kept active', summary, metrics });
      return { summary };
    }
    const version = `2.0.0-c${new Date(now).toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
    const dir = join(resolve(ctx.config.dataDir), 'models', PRICE_MODEL, version);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'calibration.json'), JSON.stringify(r.candidate));
    writeFileSync(
      join(dir, 'card.json'),
      `${JSON.stringify({ name: PRICE_MODEL, version, kind: 'lear-ensemble', task: 'OMIE day-ahead price (Spain, €/MWh) for D+1 and D+2 after the last published day, at the market resolution, with a 10-90 % band', created: new Date(now).toISOString(), featuresVersion: 2, inputs: r.candidate.inputs, maxInputAgeHours: 36, recalibratedFrom: active?.version ?? null, training: { source: `gateway store ${cfg.priceSeries}`, lastDay, settings }, evaluation: metrics }, null, 2)}\n`,
    );
    await registry.refresh();
    const pinned = registry.get(PRICE_MODEL).version !== version ? `; a rollback pin keeps ${registry.get(PRICE_MODEL).version} active (POST /models/reload to unpin)` : '';
    const summary = `promoted ${version} (prices up to ${lastDay}, inputs ${r.candidate.inputs.includes('residual_load_change') ? 'prices+calendar+REE D-1 drivers' : 'prices+calendar'}): ${r.reason}; backtest D+1 MAE ${r.backtest.mae} vs same-period-yesterday ${r.backtest.naiveDayMae} €/MWh, 10-90 % coverage ${r.backtest.coverage ?? 'n/a'} (${costText})${pinned}`;
    record({ at: now, status: 'promoted', summary, metrics });
    return { summary };
  };

  /** Trains a new price forecaster on the store's own history and promotes it only if it beats the active one on the last weeks. */
  const retrain = async (): Promise<JobRunResult> => {
    const now = ctx.clock.now();
    const active = await registry.ready(PRICE_MODEL);
    if (isLearCalibration(active.model)) return { summary: `retraining skipped: the active ${PRICE_MODEL}@${active.version} is a daily calibration (the recalibration job keeps it current)` };
    const prices = new Map(hourly(await ctx.store.read(cfg.priceSeries, 0, now)).map((s) => [s.start, s.value]));
    const first = Math.min(...prices.keys());
    if (!prices.size || now - first < cfg.retrainMinDays * DAY_MS) return { summary: `retraining skipped: ${Math.round((now - first) / DAY_MS) || 0} days of ${cfg.priceSeries} history, ${cfg.retrainMinDays} needed` };
    const today = localDate(now, tz);
    const holdout = addDays(today, -7 * cfg.retrainEvalWeeks);
    const data = rowsBetween(prices, new Map(), localDate(first + 8 * DAY_MS, tz), holdout, seededRandom(42));
    const model = buildPriceNetwork(priceFeatureNames().length, 42);
    await trainEpochs(model, data, 2, seededRandom(43));
    const candidate = evaluatePriceModel(model, prices, undefined, holdout, today, tz).overall.model.mae;
    const incumbent = evaluatePriceModel(asNetwork(active.model, PRICE_MODEL), prices, undefined, holdout, today, tz).overall.model.mae;
    if (!(candidate < incumbent)) {
      model.dispose();
      return { summary: `retrained candidate MAE ${candidate} €/MWh did not beat active ${active.version} (${incumbent}) on ${holdout} → ${today}; not promoted` };
    }
    const version = `${active.version.split('-')[0]}-r${new Date(now).toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
    const dir = join(resolve(ctx.config.dataDir), 'models', PRICE_MODEL, version);
    mkdirSync(dir, { recursive: true });
    await model.save(fileSaveHandler(dir));
    model.dispose();
    writeFileSync(
      join(dir, 'card.json'),
      `${JSON.stringify({ ...active.card, version, created: new Date(now).toISOString(), retrainedFrom: active.version, training: { source: `gateway store ${cfg.priceSeries}`, rows: data.xs.length, to: addDays(holdout, -1) }, evaluation: { window: `${holdout} → ${today}`, candidateMae: candidate, activeMae: incumbent } }, null, 2)}\n`,
    );
    await registry.refresh();
    return { summary: `promoted ${version}: MAE ${candidate} < ${incumbent} €/MWh on ${holdout} → ${today}` };
  };

  return {
    name: 'predictions',
    registry,
    service,
    accuracy,
    lastRun: () => last,
    recalibration: () => lastRecalibration,
    async start() {
      await registry.refresh();
      // A pin the store could not read (a damaged store): the models run at their newest version, health says why.
      const pins = registry.problemList().filter((p) => p.model.endsWith('(pin)'));
      tracker.set(registry.loaded().length && !pins.length ? 'ok' : 'degraded', `models loaded: ${registry.loaded().map((m) => `${m.name}@${m.version}`).join(', ') || 'none'} ${registry.backend ? ` on ${registry.backend.name}` : ' (networks load on first use)'}${pins.map((p) => `; ${p.model}: ${p.problem}`).join('')}`);
    },
    async stop() {
      registry.dispose();
    },
    health: () => {
      const h = tracker.get();
      const r = lastRecalibration;
      return { ...h, details: { ...h.details, recalibration: { status: r.status, at: r.at === null ? null : formatUtcIso(r.at), summary: r.summary } } };
    },
    jobs: { predictions: predict, recalibration, retraining: retrain },
    series(): SeriesDescriptor[] {
      return [{ id: `forecast.${cfg.priceSeries}`, unit: 'EUR/MWh', description: `forecast of ${cfg.priceSeries} beyond the published prices`, source: 'predictions', staleAfterMs: 2 * DAY_MS, critical: false, ahead: true }];
    },
  };
}

export const predictionsPlugin: PluginFactory = {
  name: 'predictions',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.models.enabled,
  create: createPredictions,
};

/** Combination weights as shares of 1 per member kind (e.g. d1: {naive: 0.31, 'd1-28': 0.2, …}), for cards and status. */
function shares(weights: Partial<Record<string, Record<string, number>>>): Record<string, Record<string, number>> {
  return Object.fromEntries(
    Object.entries(weights).map(([kind, w]) => {
      const total = Object.values(w!).reduce((a, b) => a + b, 0);
      return [kind, Object.fromEntries(Object.entries(w!).map(([name, x]) => [name, Math.round((x / total) * 1000) / 1000]))];
    }),
  );
}
