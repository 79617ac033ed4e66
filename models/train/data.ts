import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { DriverRow } from '../../gateway/inference/price-features.js';

/** Reads a (gzipped) CSV with a header row into records. */
export function readCsv(path: string): Array<Record<string, string>> {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const [header, ...lines] = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const cols = header!.split(',');
  return lines.map((line) => {
    const f = line.split(',');
    return Object.fromEntries(cols.map((c, i) => [c, f[i] ?? '']));
  });
}

/** Hourly prices (€/MWh) keyed by UTC hour start, from the shared/data price files. */
export function loadHourlyPrices(path: string, column = 'price_es_eur_mwh'): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of readCsv(path)) {
    const t = Date.parse(r.datetime_utc!);
    const v = Number(r[column]);
    if (Number.isFinite(t) && Number.isFinite(v) && r[column] !== '') out.set(t, v);
  }
  if (!out.size) throw new Error(`${path}: no rows with datetime_utc and ${column}`);
  return out;
}

/** REE's D-1 demand, wind and PV forecasts (MW) keyed by UTC hour start. */
export function loadDrivers(path: string): Map<number, DriverRow> {
  const out = new Map<number, DriverRow>();
  for (const r of readCsv(path)) {
    const t = Date.parse(r.datetime_utc!);
    const demand = Number(r.demand_forecast_d1_mw);
    const wind = Number(r.wind_forecast_d1_mw);
    const solar = Number(r.solar_pv_forecast_d1_mw);
    if ([t, demand, wind, solar].every(Number.isFinite) && r.demand_forecast_d1_mw !== '') out.set(t, { demand, wind, solar });
  }
  return out;
}

export { seededRandom } from '../../gateway/inference/random.js';

/** Kaggle weather_features for one city: temperature (Kelvin → °C) and humidity keyed by UTC hour; first row of duplicated hours kept. */
export function loadKaggleWeather(path: string, city: string): { temp: Map<number, number>; humidity: Map<number, number> } {
  const temp = new Map<number, number>();
  const humidity = new Map<number, number>();
  for (const r of readCsv(path)) {
    if (r.city_name?.trim() !== city) continue;
    const t = Date.parse(r.dt_iso!.replace(' ', 'T'));
    if (!Number.isFinite(t) || temp.has(t)) continue;
    temp.set(t, Math.round((Number(r.temp) - 273.15) * 100) / 100);
    humidity.set(t, Number(r.humidity));
  }
  return { temp, humidity };
}

/** Meteostat hourly (time in UTC, temp °C, rhum %). CC BY-NC: for evaluation only, never for training a shipped model. */
export function loadMeteostat(path: string): { temp: Map<number, number>; humidity: Map<number, number> } {
  const temp = new Map<number, number>();
  const humidity = new Map<number, number>();
  for (const r of readCsv(path)) {
    const t = Date.parse(`${r.time!.replace(' ', 'T')}Z`);
    if (!Number.isFinite(t) || r.temp === '') continue;
    temp.set(t, Number(r.temp));
    if (r.rhum !== '') humidity.set(t, Number(r.rhum));
  }
  return { temp, humidity };
}
