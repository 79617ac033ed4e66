import type { LayersModel, Tensor } from './tf.js';
import { HOUR_MS, addDays, localMidnightUtc } from '../time/tz.js';
import { tf } from './backend.js';
import { MissingInputsError, buildPriceFeatures, type DriverRow } from './price-features.js';

export const HORIZON_BANDS = [
  { name: '1-12h', from: 1, to: 12 },
  { name: '13-24h', from: 13, to: 24 },
  { name: '25-48h', from: 25, to: 50 },
] as const;

export interface ErrorStats {
  n: number;
  mae: number;
  rmse: number;
}

export interface PriceEvaluation {
  from: string;
  to: string;
  origins: number;
  bands: Array<{ band: string; model: ErrorStats; naiveDay: ErrorStats; naiveWeek: ErrorStats }>;
  overall: { model: ErrorStats; naiveDay: ErrorStats; naiveWeek: ErrorStats };
  /** Share of actual prices inside the model's 10-90 % band. */
  bandCoverage: number;
  /** The hours where REE's D-1 drivers were known to the model. */
  withDrivers: { model: ErrorStats; naiveDay: ErrorStats; naiveWeek: ErrorStats } | null;
  improvementVsBestBaseline: number;
}

class Acc {
  private n = 0;
  private abs = 0;
  private sq = 0;
  add(e: number): void {
    this.n++;
    this.abs += Math.abs(e);
    this.sq += e * e;
  }
  stats(): ErrorStats {
    const r = (x: number) => Math.round(x * 100) / 100;
    return { n: this.n, mae: this.n ? r(this.abs / this.n) : NaN, rmse: this.n ? r(Math.sqrt(this.sq / this.n)) : NaN };
  }
}

/**
 * Walk-forward over [from, to) (local dates): for each day D the forecast is made from prices known up to the end
 * of D (before D+1's auction result) and covers D+1 and D+2; the model's weights are whatever was trained before.
 */
export function evaluatePriceModel(model: LayersModel, prices: ReadonlyMap<number, number>, drivers: ReadonlyMap<number, DriverRow> | undefined, from: string, to: string, timezone = 'Europe/Madrid'): PriceEvaluation {
  const fromMs = localMidnightUtc(from, timezone);
  const toMs = localMidnightUtc(to, timezone);
  const rows: number[][] = [];
  const meta: Array<{ t: number; h: number; level: number; scale: number; drivers: boolean; actual: number; day: number | undefined; week: number | undefined }> = [];
  let origins = 0;
  for (let d = addDays(from, -2); d < to; d = addDays(d, 1)) {
    const lastKnownEnd = localMidnightUtc(addDays(d, 1), timezone);
    let f;
    try {
      f = buildPriceFeatures(prices, lastKnownEnd, drivers, timezone);
    } catch (error) {
      if (error instanceof MissingInputsError) continue;
      throw error;
    }
    let used = false;
    f.targets.forEach((t, i) => {
      const actual = prices.get(t);
      if (actual === undefined || t < fromMs || t >= toMs) return;
      const h = i + 1;
      const k = Math.ceil(h / 24);
      rows.push(f.rows[i]!);
      meta.push({ t, h, level: f.level, scale: f.scale, drivers: f.rows[i]!.at(-1) === 1, actual, day: prices.get(t - 24 * k * HOUR_MS), week: prices.get(t - 168 * HOUR_MS) });
      used = true;
    });
    if (used) origins++;
  }
  if (!rows.length) throw new MissingInputsError(`no hour between ${from} and ${to} has both a price and the week before it`);
  const out = tf.tidy(() => (model.predict(tf.tensor2d(rows)) as Tensor).arraySync() as number[][]);
  const bandAcc = HORIZON_BANDS.map(() => ({ model: new Acc(), naiveDay: new Acc(), naiveWeek: new Acc() }));
  const overall = { model: new Acc(), naiveDay: new Acc(), naiveWeek: new Acc() };
  const withDrivers = { model: new Acc(), naiveDay: new Acc(), naiveWeek: new Acc() };
  let inside = 0;
  meta.forEach((m, i) => {
    const q = [...out[i]!].sort((a, b) => a - b).map((x) => m.level + m.scale * x);
    const b = bandAcc[HORIZON_BANDS.findIndex((x) => m.h >= x.from && m.h <= x.to)]!;
    const day = m.day ?? m.level;
    const week = m.week ?? day;
    for (const acc of [b, overall, ...(m.drivers ? [withDrivers] : [])]) {
      acc.model.add(q[1]! - m.actual);
      acc.naiveDay.add(day - m.actual);
      acc.naiveWeek.add(week - m.actual);
    }
    if (m.actual >= q[0]! && m.actual <= q[2]!) inside++;
  });
  const stats = (a: typeof overall) => ({ model: a.model.stats(), naiveDay: a.naiveDay.stats(), naiveWeek: a.naiveWeek.stats() });
  const o = stats(overall);
  const best = Math.min(o.naiveDay.mae, o.naiveWeek.mae);
  return {
    from,
    to,
    origins,
    bands: HORIZON_BANDS.map((band, i) => ({ band: band.name, ...stats(bandAcc[i]!) })),
    overall: o,
    bandCoverage: Math.round((inside / meta.length) * 1000) / 1000,
    withDrivers: withDrivers.model.stats().n ? stats(withDrivers) : null,
    improvementVsBestBaseline: Math.round((1 - o.model.mae / best) * 1000) / 10,
  };
}

export function formatPriceEvaluation(e: PriceEvaluation): string {
  const line = (name: string, s: { model: ErrorStats; naiveDay: ErrorStats; naiveWeek: ErrorStats }) =>
    `${name.padEnd(12)} ${String(s.model.n).padStart(7)}  ${s.model.mae.toFixed(2).padStart(9)} ${s.model.rmse.toFixed(2).padStart(9)}  ${s.naiveDay.mae.toFixed(2).padStart(9)} ${s.naiveDay.rmse.toFixed(2).padStart(9)}  ${s.naiveWeek.mae.toFixed(2).padStart(9)} ${s.naiveWeek.rmse.toFixed(2).padStart(9)}`;
  return [
    `price forecaster, walk-forward ${e.from} → ${e.to} (${e.origins} forecast days), €/MWh`,
    `${'horizon'.padEnd(12)} ${'hours'.padStart(7)}  ${'model MAE'.padStart(9)} ${'RMSE'.padStart(9)}  ${'day MAE'.padStart(9)} ${'RMSE'.padStart(9)}  ${'week MAE'.padStart(9)} ${'RMSE'.padStart(9)}`,
    ...e.bands.map((b) => line(b.band, b)),
    line('all', e.overall),
    ...(e.withDrivers ? [line('with drivers', e.withDrivers)] : []),
    `10-90 % band coverage: ${(e.bandCoverage * 100).toFixed(1)} %; MAE ${e.improvementVsBestBaseline >= 0 ? 'better' : 'worse'} than the best baseline by ${Math.abs(e.improvementVsBestBaseline).toFixed(1)} %`,
    `overall: model_mae=${e.overall.model.mae.toFixed(2)} naive_day_mae=${e.overall.naiveDay.mae.toFixed(2)} naive_week_mae=${e.overall.naiveWeek.mae.toFixed(2)} unit=EUR/MWh`,
  ].join('\n');
}

