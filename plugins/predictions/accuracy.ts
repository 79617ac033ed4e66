import { HORIZON_BANDS } from '../../gateway/inference/price-eval.js';
import { hourly } from '../../gateway/series/slots.js';
import type { SeriesStore } from '../../gateway/series/store.js';
import { DAY_MS, HOUR_MS } from '../../gateway/time/tz.js';

/** The stored price forecasts of one horizon band, e.g. `forecast.omie_es.h1-12`. */
export const forecastSeriesId = (priceSeries: string, band: string) => `forecast.${priceSeries}.h${band.replace('h', '')}`;

export interface AccuracyRow {
  band: string;
  days7: { n: number; mae: number | null };
  days30: { n: number; mae: number | null };
}

/**
 * Forecast accuracy: MAE (EUR/MWh) of the forecasts that were made against the prices that arrived, per horizon
 * band, over 7 and 30 days. A forecast slot is scored against the price of the same slot; an hourly forecast
 * against the hourly mean of quarter-hour prices.
 */
export async function forecastAccuracy(store: Pick<SeriesStore, 'read'>, priceSeries: string, now: number): Promise<AccuracyRow[]> {
  const stored = await store.read(priceSeries, now - 31 * DAY_MS, now);
  const hourlyActual = new Map(hourly(stored).map((s) => [s.start, s.value]));
  const nativeActual = new Map(stored.map((s) => [`${s.start}/${s.end}`, s.value]));
  const actualOf = (f: { start: number; end: number }) => nativeActual.get(`${f.start}/${f.end}`) ?? (f.end - f.start === HOUR_MS ? hourlyActual.get(f.start) : undefined);
  const out: AccuracyRow[] = [];
  for (const band of HORIZON_BANDS) {
    const forecasts = await store.read(forecastSeriesId(priceSeries, band.name), now - 30 * DAY_MS, now);
    const errors = (days: number) => forecasts.filter((f) => f.start >= now - days * DAY_MS && actualOf(f) !== undefined).map((f) => Math.abs(f.value - actualOf(f)!));
    const mae = (e: number[]) => (e.length ? Math.round((e.reduce((s, x) => s + x, 0) / e.length) * 100) / 100 : null);
    const e7 = errors(7);
    const e30 = errors(30);
    out.push({ band: band.name, days7: { n: e7.length, mae: mae(e7) }, days30: { n: e30.length, mae: mae(e30) } });
  }
  return out;
}
