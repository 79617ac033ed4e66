import type { LayersModel, Tensor } from './tf.js';
import { addDays, localMidnightUtc } from '../time/tz.js';
import { tf } from './backend.js';
import { MissingInputsError, PRICE_QUANTILES, buildPriceFeatures, type DriverRow } from './price-features.js';
import { pinballLoss } from './price-model.js';

export interface Rows {
  xs: number[][];
  ys: number[][];
  withDrivers: number;
}

/** Training rows for forecasts whose targets fall in [from, to) (local dates). */
export function rowsBetween(prices: ReadonlyMap<number, number>, drivers: ReadonlyMap<number, DriverRow>, from: string, to: string, random: () => number): Rows {
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

export async function trainEpochs(model: LayersModel, data: Rows, epochs: number, random: () => number, afterEpoch?: (epoch: number) => void): Promise<void> {
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

