import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../gateway/inference/backend.js';
import { fileSaveHandler } from '../../gateway/inference/io.js';
import { evaluatePriceModel, formatPriceEvaluation } from '../../gateway/inference/price-eval.js';
import { PRICE_FEATURES_VERSION, PRICE_HORIZON_HOURS, PRICE_QUANTILES, priceFeatureNames } from '../../gateway/inference/price-features.js';
import { buildPriceNetwork } from '../../gateway/inference/price-model.js';
import { rowsBetween, trainEpochs } from '../../gateway/inference/price-train.js';
import { addDays } from '../../gateway/time/tz.js';
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

export function gitDescribe(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}
