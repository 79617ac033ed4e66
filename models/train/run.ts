// npm run train: reproduces the shipped models from ../shared/data, deterministically (seeded).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { trainPriceForecaster } from './price.js';
import { trainRecommender } from './recommender.js';

const shared = resolve(process.env.CHOCO_EDGE_SHARED ?? '../shared');
if (!existsSync(`${shared}/data`)) {
  console.error(`no ${shared}/data: put the shared data beside the project or set CHOCO_EDGE_SHARED`);
  process.exit(2);
}
const outDir = resolve(process.env.CHOCO_EDGE_MODELS_OUT ?? 'models');
const only = process.argv[2];
const started = performance.now();
if (!only || only === 'price-forecaster') {
  await trainPriceForecaster({ shared, outDir, version: '1.0.0', seed: 20251231, maxEpochs: Number(process.env.MAX_EPOCHS ?? 12), trainFrom: '2018-01-15', holdoutFrom: '2025-01-01', evalTo: '2026-01-01' });
}
if (!only || only === 'production-recommender') {
  await trainRecommender({ shared, outDir, version: '1.0.0', seed: 20181231, maxEpochs: Number(process.env.MAX_EPOCHS ?? 20) });
}
console.log(`training done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
