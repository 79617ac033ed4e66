import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLANT_TZ, addDays, localDayRange } from '../../gateway/time/tz.js';
import { loadDriverSlots, loadPriceSlots } from './datasets.js';
import { learHistory, type LearDayForecast, type LearHistory, type LearSettings } from '../../gateway/inference/price-lear.js';
import { marketPeriods } from '../../gateway/inference/price-profiles.js';
import { networkMember, rollingOrigins, warmupDays } from '../../gateway/inference/price-recalibrate.js';
import type { LayersModel } from '../../gateway/inference/tf.js';
import { initBackend, tf } from '../../gateway/inference/backend.js';
import { fileLoadHandler } from '../../gateway/inference/io.js';

/** Bump when the forecaster's arithmetic changes: cached rolling forecasts of older code are not reused. */
export const FORECASTER_CODE_VERSION = 8;

export interface RollingRun {
  h: LearHistory;
  /** D+1 and D+2 forecasts by origin (last known day). */
  byOrigin: Map<string, LearDayForecast[]>;
  computed: number;
  cached: number;
}

/**
 * The gateway's daily recalibration replayed over [from, to] origins, with the forecasts cached on disk (per data
 * files, settings and code version) so that a second report or `simulate` reuses them.
 */
export function rollingRun(pricePaths: readonly string[], driversPath: string | undefined, from: string, to: string, settings: LearSettings, options: { cacheDir?: string; tz?: string; progress?: (line: string) => void; network?: { model: LayersModel; id: string; after: string } | undefined } = {}): RollingRun {
  const tz = options.tz ?? PLANT_TZ;
  const h = learHistory(loadPriceSlots(pricePaths), driversPath ? loadDriverSlots(driversPath) : undefined, tz);
  const key = createHash('sha256')
    .update(JSON.stringify({ v: FORECASTER_CODE_VERSION, settings, tz, network: options.network ? `${options.network.id}>${options.network.after}` : null, files: [...pricePaths, driversPath ?? ''].map((p) => (p ? `${p}:${statSync(p).size}:${statSync(p).mtimeMs}` : '')) }))
    .digest('hex')
    .slice(0, 16);
  const dir = options.cacheDir ?? join(tmpdir(), 'choco-edge-price-eval');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${key}.jsonl`);
  const byOrigin = new Map<string, LearDayForecast[]>();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const o = JSON.parse(line) as { lastDay: string; forecasts: LearDayForecast[] };
      byOrigin.set(o.lastDay, o.forecasts);
    }
  }
  let computed = 0;
  let cached = 0;
  // Start early enough that the first origin of [from, to] has its whole state (see `warmupDays`: its adaptive band
  // replays the last `conformalDays` of bands, each from `conformalDays` of error-scaled residuals of forecasts
  // combined with weights from the `weightDays` before them). The origins before `from` lack some of that: they are
  // not cached, so that a later run starting earlier computes them whole.
  rollingOrigins(h, addDays(from, -warmupDays(settings)), to, settings, {
    tz,
    external: options.network ? networkMember(options.network.model, h, tz, options.network.after) : undefined,
    keep: false,
    cached: (last) => {
      const hit = byOrigin.get(last);
      if (hit) cached++;
      return hit;
    },
    onOrigin: (o) => {
      computed++;
      byOrigin.set(o.lastDay, o.forecasts);
      if (o.lastDay >= from) appendFileSync(file, `${JSON.stringify({ lastDay: o.lastDay, forecasts: o.forecasts })}\n`);
      if (computed % 30 === 0) options.progress?.(`recalibrated up to ${o.lastDay} (${computed} computed, ${cached} cached)`);
    },
  });
  return { h, byOrigin, computed, cached };
}

/** A shipped TF.js network (model.json + card.json) as the `net` member, used after the last day of its training data; undefined without that day. */
export async function networkMemberFrom(dir: string): Promise<{ model: LayersModel; id: string; after: string } | undefined> {
  if (!existsSync(join(dir, 'model.json')) || !existsSync(join(dir, 'card.json'))) return undefined;
  const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as { name?: string; version?: string; training?: { to?: string } };
  if (!card.training?.to) return undefined;
  await initBackend();
  return { model: await tf.loadLayersModel(fileLoadHandler(dir)), id: `${card.name ?? 'network'}@${card.version ?? '?'}`, after: card.training.to };
}

export const REPORT_BANDS = [
  { name: '1-12h', from: 1, to: 12 },
  { name: '13-24h', from: 13, to: 25 },
  { name: '25-48h', from: 26, to: 50 },
  { name: '1-48h', from: 1, to: 50 },
] as const;

interface Point {
  target: string;
  month: string;
  horizonH: number;
  k: number;
  actual: number;
  model: number;
  low: number;
  high: number;
  day: number;
  week: number;
  drivers: boolean;
}

/** Every scored slot: targets in [from, to), with the actual, the model and the two naive forecasts. */
export function scoredPoints(run: RollingRun, from: string, to: string, tz = PLANT_TZ): Point[] {
  const out: Point[] = [];
  for (const [last, forecasts] of run.byOrigin) {
    const end = localDayRange(last, tz).end;
    for (const f of forecasts) {
      if (f.date < from || f.date >= to) continue;
      const periods = marketPeriods(f.date);
      const actual = run.h.prices.profile(f.date, periods);
      const day = run.h.prices.profile(last, periods);
      const week = run.h.prices.profile(addDays(f.date, -7), periods);
      if (!actual || !day || !week) continue;
      for (const s of f.slots) {
        out.push({ target: f.date, month: f.date.slice(0, 7), horizonH: Math.ceil((s.end - end) / 3_600_000), k: f.k, actual: actual[s.period]!, model: s.value, low: s.low, high: s.high, day: day[s.period]!, week: week[s.period]!, drivers: f.driversUsed });
      }
    }
  }
  return out;
}

interface Metrics {
  n: number;
  mae: number;
  rmse: number;
  dayMae: number;
  dayRmse: number;
  weekMae: number;
  weekRmse: number;
  coverage: number;
}

export function metrics(points: readonly Point[]): Metrics {
  const n = points.length;
  const sum = (f: (p: Point) => number) => points.reduce((s, p) => s + f(p), 0);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    n,
    mae: r(sum((p) => Math.abs(p.model - p.actual)) / n),
    rmse: r(Math.sqrt(sum((p) => (p.model - p.actual) ** 2) / n)),
    dayMae: r(sum((p) => Math.abs(p.day - p.actual)) / n),
    dayRmse: r(Math.sqrt(sum((p) => (p.day - p.actual) ** 2) / n)),
    weekMae: r(sum((p) => Math.abs(p.week - p.actual)) / n),
    weekRmse: r(Math.sqrt(sum((p) => (p.week - p.actual) ** 2) / n)),
    coverage: Math.round((sum((p) => (p.actual >= p.low && p.actual <= p.high ? 1 : 0)) / n) * 1000) / 1000,
  };
}

/**
 * Diebold-Mariano test of equal absolute error, model vs `naive`, on daily mean loss differentials (one value per
 * target day and horizon day, so the intra-day correlation does not inflate it), with a Newey-West variance (lag 1:
 * D+2 forecasts overlap by a day). Negative statistic: the model's errors are smaller. Two-sided p-value, normal.
 */
export function dieboldMariano(points: readonly Point[], naive: 'day' | 'week'): { stat: number; p: number; days: number } {
  const byDay = new Map<string, { s: number; n: number }>();
  for (const p of points) {
    const key = `${p.target}/${p.k}`;
    const acc = byDay.get(key) ?? { s: 0, n: 0 };
    acc.s += Math.abs(p.model - p.actual) - Math.abs(p[naive] - p.actual);
    acc.n++;
    byDay.set(key, acc);
  }
  const d = [...byDay.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v.s / v.n);
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const gamma = (lag: number) => d.slice(lag).reduce((s, x, i) => s + (x - mean) * (d[i]! - mean), 0) / n;
  const variance = Math.max(1e-12, gamma(0) + 2 * (1 - 1 / 2) * gamma(1));
  const stat = mean / Math.sqrt(variance / n);
  return { stat: Math.round(stat * 100) / 100, p: Math.min(1, 2 * (1 - normalCdf(Math.abs(stat)))), days: n };
}

function normalCdf(x: number): number {
  // Abramowitz-Stegun 26.2.17.
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const y = 1 - (Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)) * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return x >= 0 ? y : 1 - y;
}

/** The evaluation table of `choco-edge eval` for the recalibrated forecaster. */
export function formatRollingReport(title: string, points: readonly Point[], withoutDrivers?: readonly Point[]): string {
  const f = (x: number) => x.toFixed(2).padStart(7);
  const ratio = (a: number, b: number) => (a / b).toFixed(3).padStart(6);
  const line = (name: string, m: Metrics) =>
    `${name.padEnd(14)} ${String(m.n).padStart(7)} ${f(m.mae)} ${f(m.rmse)} ${f(m.dayMae)} ${f(m.dayRmse)} ${f(m.weekMae)} ${f(m.weekRmse)} ${ratio(m.mae, m.dayMae)} ${ratio(m.mae, m.weekMae)} ${ratio(m.rmse, m.dayRmse)} ${(m.coverage * 100).toFixed(1).padStart(6)}`;
  const header = `${''.padEnd(14)} ${'slots'.padStart(7)} ${'MAE'.padStart(7)} ${'RMSE'.padStart(7)} ${'dayMAE'.padStart(7)} ${'dayRMSE'.padStart(7)} ${'wkMAE'.padStart(7)} ${'wkRMSE'.padStart(7)} ${'/day'.padStart(6)} ${'/week'.padStart(6)} ${'R/day'.padStart(6)} ${'cov%'.padStart(6)}`;
  const band = (pts: readonly Point[], b: (typeof REPORT_BANDS)[number]) => pts.filter((p) => p.horizonH >= b.from && p.horizonH <= b.to);
  const d1 = points.filter((p) => p.k === 1);
  const months = [...new Set(points.map((p) => p.month))].sort();
  const all = metrics(points);
  const better = all.dayMae <= all.weekMae ? 'day' : 'week';
  const dm = dieboldMariano(points, better);
  const losing = months.filter((m) => {
    const x = metrics(d1.filter((p) => p.month === m));
    return x.mae > Math.min(x.dayMae, x.weekMae);
  });
  const above = months.flatMap((m) => {
    const x = metrics(d1.filter((p) => p.month === m));
    return x.n && x.mae > 0.9 * x.dayMae ? [`${m} ${(x.mae / x.dayMae).toFixed(2)}`] : [];
  });
  const out = [
    title,
    'MAE/RMSE in €/MWh per market period; day = same period of the last published day, week = same period a week before the target; ratios are model / naive; cov% = share of prices inside the 10-90 % band',
    `by horizon (hours after the end of the last published day)`,
    header,
    ...REPORT_BANDS.map((b) => line(b.name, metrics(band(points, b)))),
    line('D+1', metrics(d1)),
    line('D+2', metrics(points.filter((p) => p.k === 2))),
    `D+1 by month`,
    header,
    ...months.map((m) => line(m, metrics(d1.filter((p) => p.month === m)))),
    `1-48 h by month`,
    header,
    ...months.map((m) => line(m, metrics(points.filter((p) => p.month === m)))),
  ];
  const drv = d1.filter((p) => p.drivers);
  if (drv.length) {
    out.push('D+1 with and without REE D-1 drivers (on the target days where they exist)', header, line('with drivers', metrics(drv)));
    if (withoutDrivers) {
      const days = new Set(drv.map((p) => p.target));
      out.push(line('prices only', metrics(withoutDrivers.filter((p) => p.k === 1 && days.has(p.target)))));
    }
    const without = d1.filter((p) => !p.drivers);
    if (without.length) out.push(line('no drivers', metrics(without)));
  }
  out.push(
    `Diebold-Mariano, 1-48 h vs same-${better === 'day' ? 'period-yesterday' : 'period-last-week'} (the better naive): DM=${dm.stat} p${dm.p < 1e-16 ? '<1e-16' : `=${dm.p < 1e-4 ? dm.p.toExponential(1) : dm.p.toFixed(4)}`} over ${dm.days} day-horizons (negative: model better)`,
    `1-48 h MAE ${((1 - all.mae / Math.min(all.dayMae, all.weekMae)) * 100).toFixed(1)} % better than the better naive; 10-90 % band coverage ${(all.coverage * 100).toFixed(1)} %`,
    `months where D+1 loses to the better naive: ${losing.length ? losing.join(', ') : 'none'}`,
    `months where D+1 MAE is above 0.90 × same-period-yesterday: ${above.length ? above.join(', ') : 'none'}`,
    `overall: model_mae=${all.mae.toFixed(2)} naive_day_mae=${all.dayMae.toFixed(2)} naive_week_mae=${all.weekMae.toFixed(2)} unit=EUR/MWh`,
  );
  return out.join('\n');
}
