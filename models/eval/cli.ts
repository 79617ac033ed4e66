import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from '../../gateway/inference/tf.js';
import { addDays, localDate } from '../../gateway/time/tz.js';
import { projectPath } from '../../gateway/util/version.js';
import { initBackend, tf } from '../../gateway/inference/backend.js';
import { loadDrivers, loadHourlyPrices, loadWeather } from './datasets.js';
import { fileLoadHandler } from '../../gateway/inference/io.js';
import { evaluatePriceModel, formatPriceEvaluation } from '../../gateway/inference/price-eval.js';
import { evaluateRecommender, formatRecommenderEvaluation, labelledDays } from './recommender.js';
import { compareVersions } from '../../gateway/inference/registry.js';
import { PRICE_MODEL, RECOMMENDER_MODEL } from '../../gateway/inference/service.js';

export interface EvalArgs {
  model: string;
  prices: string;
  weather?: string;
  drivers?: string;
  city?: string;
  from?: string;
  to?: string;
  modelsDir?: string;
  version?: string;
  /** Forecaster settings other than the shipped defaults (tests). */
  lear?: Partial<import('../../gateway/inference/price-lear.js').LearSettings>;
  cacheDir?: string;
  /** The newest shipped TF.js network joins the recalibrated ensemble as a member (default true), for targets after its training data. */
  networkMember?: boolean;
}

export class EvalUsageError extends Error {}

/** The folder of a shipped network version (the newest without `version`). */
function shippedDir(name: string, dir: string, version?: string): { dir: string; version: string } {
  const base = join(dir, name);
  if (!existsSync(base)) throw new EvalUsageError(`no model ${name} under ${dir}`);
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'model.json'))).sort(compareVersions);
  const chosen = version ?? versions.at(-1);
  if (!chosen || !versions.includes(chosen)) throw new EvalUsageError(`no version ${version ?? ''} of ${name}; have ${versions.join(', ')}`);
  return { dir: join(base, chosen), version: chosen };
}

async function loadShipped(name: string, dir: string, version?: string): Promise<{ model: LayersModel; version: string }> {
  const shipped = shippedDir(name, dir, version);
  return { model: await tf.loadLayersModel(fileLoadHandler(shipped.dir)), version: shipped.version };
}

/** `choco-edge eval`: the shipped model on any file in the shared/data formats; prints the metrics table. */
export async function runEval(a: EvalArgs): Promise<string> {
  const backend = await initBackend();
  const dir = a.modelsDir ? projectPath(a.modelsDir) : projectPath('models');
  const prices = loadHourlyPrices(a.prices.split(',').filter(Boolean)[0]!);
  const starts = [...prices.keys()].sort((x, y) => x - y);
  const first = localDate(starts[0]!);
  const last = localDate(starts.at(-1)!);
  if (a.model === PRICE_MODEL && !a.version) {
    const { networkMemberFrom } = await import('./price-rolling.js');
    return runRecalibratedEval(a, a.networkMember === false ? undefined : await networkMemberFrom(shippedDir(PRICE_MODEL, dir).dir));
  }
  if (a.model === PRICE_MODEL) {
    const { model, version } = await loadShipped(PRICE_MODEL, dir, a.version);
    const drivers = a.drivers ? loadDrivers(a.drivers) : undefined;
    const e = evaluatePriceModel(model, prices, drivers, a.from ?? addDays(first, 9), a.to ?? addDays(last, 1));
    return `${PRICE_MODEL}@${version} on ${backend.name}\n${formatPriceEvaluation(e)}`;
  }
  if (a.model === RECOMMENDER_MODEL) {
    if (!a.weather) throw new EvalUsageError(`${RECOMMENDER_MODEL} needs --weather <csv.gz> (Kaggle weather_features or Meteostat hourly)`);
    const { model, version } = await loadShipped(RECOMMENDER_MODEL, dir, a.version);
    const w = loadWeather(a.weather, a.city);
    const from = a.from ?? addDays(first, 2);
    const to = a.to ?? addDays(last, 1);
    const days = labelledDays(prices, w.temp, w.humidity, from, to);
    if (!days.length) throw new EvalUsageError(`no day between ${from} and ${to} has every hour of both prices and weather`);
    return `${RECOMMENDER_MODEL}@${version} on ${backend.name}\n${formatRecommenderEvaluation(evaluateRecommender(model, days, from, to))}`;
  }
  throw new EvalUsageError(`unknown model ${JSON.stringify(a.model)}; models: ${PRICE_MODEL}, ${RECOMMENDER_MODEL}`);
}

/**
 * `choco-edge eval --model price-forecaster` without `--version`: the gateway's daily recalibration replayed over
 * the period (rolling origin, recalibrated every day), with drivers when `--drivers` is given and again without them.
 * `--prices` takes comma-separated files (OMIE hourly and 15-min: the finer wins per day).
 */
async function runRecalibratedEval(a: EvalArgs, shipped?: { model: LayersModel; id: string; after: string }): Promise<string> {
  const { rollingRun, scoredPoints, formatRollingReport } = await import('./price-rolling.js');
  const DEFAULT_LEAR = { ...(await import('../../gateway/inference/price-lear.js')).DEFAULT_LEAR, ...a.lear };
  const paths = a.prices.split(',').filter(Boolean);
  if (!a.from || !a.to) throw new EvalUsageError('the recalibrated price forecaster needs --from and --to (targets in [from, to))');
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  // The network member joins only for targets after its training data: earlier ones would flatter it.
  const network = shipped && shipped.after < addDays(a.to, -1) ? shipped : undefined;
  const networkNote = network ? `, the TF.js network ${network.id} as a member for targets after ${network.after}` : shipped ? `, without the TF.js network ${shipped.id} (trained on data up to ${shipped.after})` : '';
  const withDrivers = rollingRun(paths, a.drivers, addDays(a.from, -2), addDays(a.to, -1), DEFAULT_LEAR, { progress, cacheDir: a.cacheDir, network });
  const withoutDrivers = a.drivers ? rollingRun(paths, undefined, addDays(a.from, -2), addDays(a.to, -1), DEFAULT_LEAR, { progress, cacheDir: a.cacheDir, network }) : undefined;
  const points = scoredPoints(withDrivers, a.from, a.to);
  if (!points.length) throw new EvalUsageError(`no target between ${a.from} and ${a.to} has prices and the week before it`);
  const cost = `${withDrivers.computed + (withoutDrivers?.computed ?? 0)} calibrations computed, ${withDrivers.cached + (withoutDrivers?.cached ?? 0)} reused from cache, ${Math.round((performance.now() - started) / 1000)} s`;
  const title = `${PRICE_MODEL} recalibrated daily (LEAR ensemble, windows ${DEFAULT_LEAR.windows.join('/')} d, λ=${DEFAULT_LEAR.lambda}, ${DEFAULT_LEAR.weightDays ? `members and same-period-yesterday weighted by 1/MAE over the last ${DEFAULT_LEAR.weightDays} d` : 'members averaged'}${networkNote}, band from ${DEFAULT_LEAR.conformalDays} d of residuals${DEFAULT_LEAR.bandScaleDays ? `, scaled by the last ${DEFAULT_LEAR.bandScaleDays} d of errors` : ''}${DEFAULT_LEAR.bandStep ? `, adaptive conformal γ=${DEFAULT_LEAR.bandStep}` : ''}${DEFAULT_LEAR.chainMember ? ', D+2 weighs the D+1 forecast' : ''}${DEFAULT_LEAR.clearSkyWindow ? `, clear-sky irradiance in windows ≥ ${DEFAULT_LEAR.clearSkyWindow} d` : ''}), rolling origin, targets ${a.from} → ${a.to}${a.drivers ? ', REE D-1 drivers where stored' : ', prices and calendar only'} (${cost})`;
  return formatRollingReport(title, points, withoutDrivers ? scoredPoints(withoutDrivers, a.from, a.to) : undefined);
}
