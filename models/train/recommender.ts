import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel, Tensor } from '../../gateway/inference/tf.js';
import { initBackend, tf } from '../../gateway/inference/backend.js';
import { fileSaveHandler } from '../../gateway/inference/io.js';
import { evaluateRecommender, formatRecommenderEvaluation, labelledDays, type DayInputs } from '../eval/recommender.js';
import { RECOMMENDER_FEATURES_VERSION, buildRecommenderFeatures, recommenderFeatureNames } from '../../gateway/inference/recommender-features.js';
import { CLASSES } from '../../gateway/inference/prototype-scores.js';
import { DEFAULT_PLANT } from '../eval/hindsight.js';
import { loadHourlyPrices, loadKaggleWeather, loadMeteostat, seededRandom } from './data.js';
import { gitDescribe } from './price.js';

const PRICE_FILE = 'data/kaggle_price_day_ahead_corrected.csv.gz';
const WEATHER_FILE = 'data/kaggle_weather_features.csv.gz';
const OMIE_FILE = 'data/omie_day_ahead_spain_hourly.csv.gz';
const METEOSTAT_FILE = 'data/meteostat_madrid_barajas_hourly.csv.gz';

export function buildRecommenderNetwork(seed: number): LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 48, activation: 'relu', inputShape: [recommenderFeatureNames().length], kernelInitializer: init(1) }));
  model.add(tf.layers.dense({ units: 24, activation: 'relu', kernelInitializer: init(2) }));
  model.add(tf.layers.dense({ units: CLASSES.length, activation: 'softmax', kernelInitializer: init(3) }));
  return model;
}

function rows(days: DayInputs[]): { xs: number[][]; ys: number[][] } {
  const xs: number[][] = [];
  const ys: number[][] = [];
  for (const d of days) {
    xs.push(...buildRecommenderFeatures(d.starts, d.prices, d.tempForecast, d.date));
    ys.push(...d.labels.map((l) => CLASSES.map((c) => (c === l ? 1 : 0))));
  }
  return { xs, ys };
}

async function train(model: LayersModel, data: { xs: number[][]; ys: number[][] }, epochs: number, random: () => number, afterEpoch?: (epoch: number) => void): Promise<void> {
  const optimizer = tf.train.adam(2e-3);
  const order = data.xs.map((_, i) => i);
  // Rare classes (Moderate: the hour that tops up the plan) weigh more, by the square root of their rarity.
  const counts = CLASSES.map((_, c) => data.ys.filter((y) => y[c] === 1).length);
  const classWeight = counts.map((n) => Math.sqrt(data.ys.length / CLASSES.length / Math.max(1, n)));
  const weights = data.ys.map((y) => classWeight[y.indexOf(1)]!);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let b = 0; b < order.length; b += 256) {
      const idx = order.slice(b, b + 256);
      optimizer
        .minimize(() => {
          const x = tf.tensor2d(idx.map((k) => data.xs[k]!));
          const y = tf.tensor2d(idx.map((k) => data.ys[k]!));
          const w = tf.tensor1d(idx.map((k) => weights[k]!));
          return tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as Tensor, w) as import('../../gateway/inference/tf.js').Scalar;
        }, true)
        ?.dispose();
    }
    afterEpoch?.(epoch);
  }
  optimizer.dispose();
}

export async function trainRecommender(o: { shared: string; outDir: string; version: string; seed: number; maxEpochs: number }): Promise<void> {
  const backend = await initBackend(false);
  const prices = loadHourlyPrices(join(o.shared, PRICE_FILE), 'price_day_ahead_corrected');
  const { temp, humidity } = loadKaggleWeather(join(o.shared, WEATHER_FILE), 'Seville');
  const random = seededRandom(o.seed);
  const fitDays = labelledDays(prices, temp, humidity, '2015-01-02', '2017-01-01');
  const validationDays = labelledDays(prices, temp, humidity, '2017-01-01', '2018-01-01');
  let best = { epoch: 1, f1: -1 };
  const probe = buildRecommenderNetwork(o.seed);
  await train(probe, rows(fitDays), o.maxEpochs, random, (epoch) => {
    const f1 = evaluateRecommender(probe, validationDays, '2017-01-01', '2018-01-01').model.macroF1;
    if (f1 > best.f1) best = { epoch, f1 };
  });
  probe.dispose();
  const trainDays = [...fitDays, ...validationDays];
  const data = rows(trainDays);
  console.log(`production recommender: ${data.xs.length} training hours (${trainDays.length} days, Kaggle prices + Seville weather 2015-2017), ${best.epoch} epochs chosen on 2017 (macro-F1 ${best.f1})`);
  const model = buildRecommenderNetwork(o.seed);
  await train(model, data, best.epoch, random);
  const heldOut = evaluateRecommender(model, labelledDays(prices, temp, humidity, '2018-01-01', '2019-01-01'), '2018-01-01', '2019-01-01');
  console.log(formatRecommenderEvaluation(heldOut));
  // A second, later check on other data: OMIE 2025 prices with Madrid's Meteostat weather (licence: evaluation only).
  const omie = loadHourlyPrices(join(o.shared, OMIE_FILE));
  const meteo = loadMeteostat(join(o.shared, METEOSTAT_FILE));
  const later = evaluateRecommender(model, labelledDays(omie, meteo.temp, meteo.humidity, '2025-01-01', '2026-01-01'), '2025-01-01', '2026-01-01');
  console.log(formatRecommenderEvaluation(later));
  const counts = Object.fromEntries(CLASSES.map((c) => [c, data.ys.filter((y) => y[CLASSES.indexOf(c)] === 1).length]));
  const dir = join(o.outDir, 'production-recommender', o.version);
  mkdirSync(dir, { recursive: true });
  await model.save(fileSaveHandler(dir));
  const card = {
    name: 'production-recommender',
    version: o.version,
    task: 'Optimal / Moderate / Reduced / Halt for each hour of a day whose day-ahead prices are published, as a planner with perfect hindsight would have decided',
    created: new Date().toISOString(),
    codeVersion: gitDescribe(),
    featuresVersion: RECOMMENDER_FEATURES_VERSION,
    inputs: recommenderFeatureNames(),
    outputs: CLASSES,
    scaling: "prices as z-scores and ranks within the day plus the level/100; temperatures as (°C − 24)/10",
    requiredInputs: { prices: 'the 23-25 published day-ahead prices of the day', temperature: 'an hourly temperature forecast for the day (the combined forecast, or yesterday’s observations as persistence)' },
    maxInputAgeHours: 36,
    target: {
      definition: 'hindsight plan of each historical day on the realised prices and temperatures (models/eval/hindsight.ts): the day’s process energy in the cheapest effective hours up to the contracted power, none at ≥ haltAtC; Optimal = hour filled ≥ 90 % and among the cheapest 40 %, Moderate = other hours with energy, Reduced = no energy, Halt = too hot or no energy and among the dearest 15 %',
      plant: DEFAULT_PLANT,
      temperatureForecastInTraining: 'persistence (same hour the day before): no archive of weather forecasts exists for these years',
    },
    training: { files: [PRICE_FILE, `${WEATHER_FILE} (Seville)`], from: '2015-01-02', to: '2017-12-31', hours: data.xs.length, classCounts: counts, seed: o.seed, epochs: best.epoch, epochSelection: { validation: '2017', macroF1: best.f1 }, backend: backend.name },
    evaluation: heldOut,
    laterEvaluation: { ...later, data: `${OMIE_FILE} + ${METEOSTAT_FILE} (Madrid; CC BY-NC, used for evaluation only)` },
    baselines: { legacyFormula: `the prototype's fixed formula on the day-ahead price + ${heldOut.legacyAdderEurKwh} €/kWh, the persistence temperature and humidity` },
  };
  writeFileSync(join(dir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  console.log(`wrote ${dir}`);
}
