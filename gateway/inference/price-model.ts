import { tf } from './backend.js';
import { PRICE_QUANTILES, buildPriceFeatures, type DriverRow } from './price-features.js';
import { HOUR_MS } from '../time/tz.js';
import type { LayersModel } from './tf.js';

export interface PriceForecastSlot {
  start: number;
  end: number;
  /** Median forecast, €/MWh. */
  value: number;
  low: number;
  high: number;
  horizon: number;
}

export function buildPriceNetwork(inputs: number, seed: number): LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 96, activation: 'relu', inputShape: [inputs], kernelInitializer: init(1), kernelRegularizer: tf.regularizers.l2({ l2: 1e-5 }) }));
  model.add(tf.layers.dense({ units: 48, activation: 'relu', kernelInitializer: init(2), kernelRegularizer: tf.regularizers.l2({ l2: 1e-5 }) }));
  model.add(tf.layers.dense({ units: PRICE_QUANTILES.length, kernelInitializer: init(3) }));
  return model;
}

/** Pinball loss summed over the quantiles. */
export function pinballLoss(yTrue: import('./tf.js').Tensor, yPred: import('./tf.js').Tensor): import('./tf.js').Scalar {
  return tf.tidy(() => {
    const q = tf.tensor1d([...PRICE_QUANTILES]);
    const e = tf.sub(yTrue, yPred);
    return tf.mean(tf.sum(tf.maximum(tf.mul(q, e), tf.mul(tf.sub(q, 1), e)), 1)) as import('./tf.js').Scalar;
  });
}

/** Runs the model for the 48 hours after `lastKnownEnd`; refuses (MissingInputsError) when recent prices are missing. */
export function forecastPrices(model: LayersModel, prices: ReadonlyMap<number, number>, lastKnownEnd: number, drivers?: ReadonlyMap<number, DriverRow>, timezone?: string): { slots: PriceForecastSlot[]; driversUsed: number } {
  const f = buildPriceFeatures(prices, lastKnownEnd, drivers, timezone);
  const out = tf.tidy(() => (model.predict(tf.tensor2d(f.rows)) as import('./tf.js').Tensor).arraySync() as number[][]);
  const slots = out.map((q, i) => {
    const sorted = [...q].sort((a, b) => a - b).map((x) => Math.round((f.level + f.scale * x) * 100) / 100);
    return { start: f.targets[i]!, end: f.targets[i]! + HOUR_MS, low: sorted[0]!, value: sorted[1]!, high: sorted[2]!, horizon: i + 1 };
  });
  return { slots, driversUsed: f.driversUsed };
}
