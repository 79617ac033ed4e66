import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { initBackend, tf } from '../../gateway/inference/backend.js';
import { fileSaveHandler } from '../../gateway/inference/io.js';
import { evaluatePriceModel, formatPriceEvaluation } from '../../gateway/inference/price-eval.js';
import { MissingInputsError, PRICE_FEATURES_VERSION, PRICE_HORIZON_HOURS, PRICE_QUANTILES, buildPriceFeatures, priceFeatureNames, type DriverRow } from '../../gateway/inference/price-features.js';
import { buildPriceNetwork, pinballLoss } from '../../gateway/inference/price-model.js';
import { addDays, localMidnightUtc } from '../../gateway/tz.js';
import { loadDrivers, loadHourlyPrices, seededRandom } from './data.js';

export interface PriceTrainOptions {
  shared: string;
  outDir: string;
  version: string;
  seed: number;
  maxEpochs: number;
  trainFrom: string;
  /** First local day held out: training targets end before it, evaluation covers it to `evalTo`. */
  holdoutFrom: string;
  evalTo: string;
}

const PRICE_FILE = 'data/omie_day_ahead_spain_hourly.csv.gz';
const DRIVER_FILE = 'data/esios_d1_forecasts_spain_hourly.csv.gz';

export async function trainPriceForecaster(o: PriceTrainOptions): Promise<void> {
  const backend = await initBackend(false);
  const prices = loadHourlyPrices(join(o.shared, PRICE_FILE));
  const drivers = loadDrivers(join(o.shared, DRIVER_FILE));
  const random = seededRandom(o.seed);
  // Model selection never looks at the held-out year: the number of epochs is chosen on the 12 months before it.
  const validationFrom = addDays(o.holdoutFrom, -365);
  const fit = rowsBetween(prices, drivers, o.trainFrom, validationFrom, random);
  console.log(`price forecaster: ${fit.xs.length} rows to choose the epochs (validation ${validationFrom} → ${o.holdoutFrom}), ${priceFeatureNames().length} features, backend ${backend.name}`);
  let best = { epoch: 1, mae: Infinity };
  const probe = buildPriceNetwork(priceFeatureNames().length, o.seed);
  await trainEpochs(probe, fit, o.maxEpochs, random, (epoch) => {
    const mae = evaluatePriceModel(probe, prices, drivers, validationFrom, o.holdoutFrom).overall.model.mae;
    if (mae < best.mae) best = { epoch, mae };
    console.log(`  epoch ${epoch}: validation MAE ${mae.toFixed(2)} €/MWh`);
  });
  probe.dispose();
  const all = rowsBetween(prices, drivers, o.trainFrom, o.holdoutFrom, random);
  console.log(`training on ${all.xs.length} rows (${all.withDrivers} with REE D-1 drivers) for ${best.epoch} epochs`);
  const model = buildPriceNetwork(priceFeatureNames().length, o.seed);
  await trainEpochs(model, all, best.epoch, random);
  const xs = all.xs;
  const withDrivers = all.withDrivers;
  const evaluation = evaluatePriceModel(model, prices, drivers, o.holdoutFrom, o.evalTo);
  console.log(formatPriceEvaluation(evaluation));
  const dir = join(o.outDir, 'price-forecaster', o.version);
  mkdirSync(dir, { recursive: true });
  await model.save(fileSaveHandler(dir));
  const card = {
    name: 'price-forecaster',
    version: o.version,
    task: `OMIE day-ahead price (Spain, €/MWh) for the ${PRICE_HORIZON_HOURS} hours after the last published price, with a 10-90 % band`,
    created: new Date().toISOString(),
    codeVersion: gitDescribe(),
    featuresVersion: PRICE_FEATURES_VERSION,
    inputs: priceFeatureNames(),
    outputs: PRICE_QUANTILES.map((q) => `quantile_${q}`),
    scaling: 'each row is scaled by the mean (level) and standard deviation (scale, at least 5 €/MWh) of the 168 known hours before the forecast; outputs are (price − level) / scale',
    requiredInputs: { prices: 'at least 160 of the 168 hours before the forecast start', drivers: 'optional: REE D-1 demand (1775), wind (1777) and PV (1779) forecasts for the first 24 hours' },
    maxInputAgeHours: 36,
    training: {
      files: [PRICE_FILE, DRIVER_FILE],
      from: o.trainFrom,
      to: addDays(o.holdoutFrom, -1),
      rows: xs.length,
      rowsWithDrivers: withDrivers,
      seed: o.seed,
      epochs: best.epoch,
      epochSelection: { validationFrom, validationTo: addDays(o.holdoutFrom, -1), validationMae: best.mae, maxEpochs: o.maxEpochs },
      backend: backend.name,
      driverDropout: 0.3,
    },
    evaluation,
    baselines: { naiveDay: 'price of the same hour on the last known day (t − 24 h, or t − 48 h beyond 24 h)', naiveWeek: 'price of the same hour one week earlier (t − 168 h)' },
  };
  writeFileSync(join(dir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  console.log(`wrote ${dir}`);
}

interface Rows {
  xs: number[][];
  ys: number[][];
  withDrivers: number;
}

/** Training rows for forecasts whose targets fall in [from, to) (local dates). */
function rowsBetween(prices: Map<number, number>, drivers: Map<number, DriverRow>, from: string, to: string, random: () => number): Rows {
  const toMs = localMidnightUtc(to);
  const out: Rows = { xs: [], ys: [], withDrivers: 0 };
  for (let d = from; addDays(d, 1) < to; d = addDays(d, 1)) {
    let f;
    try {
      f = buildPriceFeatures(prices, localMidnightUtc(addDays(d, 1)), drivers);
    } catch (error) {
      if (error instanceof MissingInputsError) continue;
      throw error;
    }
    f.targets.forEach((t, i) => {
      const actual = prices.get(t);
      if (actual === undefined || t >= toMs) return;
      const row = [...f.rows[i]!];
      // Drivers are missing at run time whenever ESIOS is not configured: teach the model to do without them.
      if (row.at(-1) === 1) {
        out.withDrivers++;
        if (random() < 0.3) row.splice(row.length - 5, 5, 0, 0, 0, 0, 0);
      }
      out.xs.push(row);
      out.ys.push(PRICE_QUANTILES.map(() => (actual - f.level) / f.scale));
    });
  }
  return out;
}

async function trainEpochs(model: LayersModel, data: Rows, epochs: number, random: () => number, afterEpoch?: (epoch: number) => void): Promise<void> {
  const optimizer = tf.train.adam(1e-3);
  const order = data.xs.map((_, i) => i);
  const batch = 512;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let b = 0; b < order.length; b += batch) {
      const idx = order.slice(b, b + batch);
      const loss = optimizer.minimize(() => {
        const x = tf.tensor2d(idx.map((k) => data.xs[k]!));
        const y = tf.tensor2d(idx.map((k) => data.ys[k]!));
        return pinballLoss(y, model.apply(x, { training: true }) as Tensor);
      }, true);
      loss?.dispose();
    }
    afterEpoch?.(epoch);
  }
  optimizer.dispose();
}

export function gitDescribe(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}
