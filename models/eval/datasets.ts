import { QUARTER_HOUR_MS, type Slot } from '../../gateway/series/slots.js';
import { HOUR_MS, localDate } from '../../gateway/time/tz.js';
import { InputError, readInputText } from '../../gateway/config/cli-input.js';
import type { DriverRow } from '../../gateway/inference/price-features.js';

export { seededRandom } from '../../gateway/inference/seeded-random.js';

/** Reads a (gzipped) CSV with a header row into records. */
export function readCsv(path: string): Array<Record<string, string>> {
  const text = readInputText(path, 'data file');
  // A wrong kind of file is one sentence (InputError, exit 2), never a stack: binary, empty, JSON instead of CSV.
  if (text.includes('\u0000')) throw new InputError(`${path}: is not a CSV text file (it holds binary data)`);
  const [header, ...lines] = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (header === undefined) throw new InputError(`${path}: is empty (expected a CSV file with a header row)`);
  if (!header.includes(',')) throw new InputError(`${path}: is not a CSV file with a header row (its first line is ${JSON.stringify(header.slice(0, 60))})`);
  const cols = header.split(',');
  return lines.map((line) => {
    const f = line.split(',');
    return Object.fromEntries(cols.map((c, i) => [c, f[i] ?? '']));
  });
}

const PRICE_COLUMNS: Array<{ column: string; toEurMwh: number }> = [
  { column: 'price_es_eur_mwh', toEurMwh: 1 },
  { column: 'price_day_ahead_corrected', toEurMwh: 1 },
  { column: 'price_eur_mwh', toEurMwh: 1 },
  { column: 'pvpc_pcb_eur_kwh', toEurMwh: 1000 },
];

/** Hourly prices (€/MWh) keyed by UTC hour start, from the shared/data price files (15-min rows averaged per hour). */
export function loadHourlyPrices(path: string, column?: string): Map<number, number> {
  const rows = readCsv(path);
  const known = column ? { column, toEurMwh: column.endsWith('_eur_kwh') ? 1000 : 1 } : PRICE_COLUMNS.find((c) => rows[0] && c.column in rows[0]);
  if (!known) throw new InputError(`${path}: is not a price file: it has no price column (expected one of ${PRICE_COLUMNS.map((c) => c.column).join(', ')})`);
  const sums = new Map<number, { sum: number; n: number }>();
  for (const r of rows) {
    const t = Date.parse(r.datetime_utc!);
    const v = Number(r[known.column]) * known.toEurMwh;
    if (!Number.isFinite(t) || !Number.isFinite(v) || r[known.column] === '') continue;
    const h = Math.floor(t / 3_600_000) * 3_600_000;
    const acc = sums.get(h) ?? { sum: 0, n: 0 };
    acc.sum += v;
    acc.n++;
    sums.set(h, acc);
  }
  const out = new Map<number, number>();
  for (const [h, acc] of sums) out.set(h, Math.round((acc.sum / acc.n) * 10_000) / 10_000);
  if (!out.size) throw new InputError(`${path}: has no rows with datetime_utc and ${known.column}`);
  return out;
}

/** Weather from a Kaggle weather_features file (one city) or a Meteostat hourly file, by its header. */
export function loadWeather(path: string, city = 'Seville'): { temp: Map<number, number>; humidity: Map<number, number> } {
  const first = readCsv(path)[0] ?? {};
  if ('dt_iso' in first) return loadKaggleWeather(path, city);
  if ('time' in first && 'temp' in first) return loadMeteostat(path);
  throw new InputError(`${path}: is not a weather file: neither a Kaggle weather_features file (dt_iso, temp) nor a Meteostat hourly one (time, temp)`);
}

/** REE's D-1 demand, wind and PV forecasts (MW) keyed by UTC hour start. */
export function loadDrivers(path: string): Map<number, DriverRow> {
  const out = new Map<number, DriverRow>();
  const rows = readCsv(path);
  if (rows[0] && !('demand_forecast_d1_mw' in rows[0])) throw new InputError(`${path}: is not a drivers file: it has no demand_forecast_d1_mw column (expected REE's D-1 forecasts, like esios_d1_forecasts_spain_hourly.csv.gz)`);
  for (const r of rows) {
    const t = Date.parse(r.datetime_utc!);
    const demand = Number(r.demand_forecast_d1_mw);
    const wind = Number(r.wind_forecast_d1_mw);
    const solar = Number(r.solar_pv_forecast_d1_mw);
    if ([t, demand, wind, solar].every(Number.isFinite) && r.demand_forecast_d1_mw !== '') out.set(t, { demand, wind, solar });
  }
  return out;
}

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

/**
 * Price slots (€/MWh) at their native resolution from one or more shared/data price files (OMIE hourly, OMIE 15-min,
 * …): where files overlap, the finer slots win for that local day.
 *
 * A day's resolution comes from its rows' times, never from how many rows it has (a file sliced mid-day holds a
 * partial day): a day is quarter-hourly when one of its rows starts off the hour or two of its rows (or a row and
 * its neighbour in the file) are less than an hour apart; else hourly. Two rows of one file for the same instant
 * are an InputError naming both rows (data row numbers, 1 = first row after the header) and their prices.
 */
export function loadPriceSlots(paths: readonly string[], column?: string): Slot[] {
  const byDay = new Map<string, Slot[]>();
  for (const path of paths) {
    const rows = readCsv(path);
    const known = column ? { column, toEurMwh: column.endsWith('_eur_kwh') ? 1000 : 1 } : PRICE_COLUMNS.find((c) => rows[0] && c.column in rows[0]);
    if (!known) throw new InputError(`${path}: is not a price file: it has no price column (expected one of ${PRICE_COLUMNS.map((c) => c.column).join(', ')})`);
    const parsed: Array<{ t: number; v: number; day: string; row: number }> = [];
    rows.forEach((r, i) => {
      const t = Date.parse(r.datetime_utc!);
      const v = Number(r[known.column]) * known.toEurMwh;
      if (!Number.isFinite(t) || !Number.isFinite(v) || r[known.column] === '') return;
      parsed.push({ t, v, day: r.datetime_local?.slice(0, 10) || localDate(t), row: i + 1 });
    });
    parsed.sort((a, b) => a.t - b.t || a.row - b.row);
    const fileDays = new Map<string, { slots: Slot[]; fine: boolean; neighbourFine: boolean }>();
    for (let i = 0; i < parsed.length; i++) {
      const p = parsed[i]!;
      const prev = parsed[i - 1];
      if (prev && prev.t === p.t) {
        throw new InputError(`${path}: two rows for ${new Date(p.t).toISOString()} (data rows ${prev.row} and ${p.row}: ${prev.v} and ${p.v} €/MWh); a price file holds one row per period`);
      }
      const next = parsed[i + 1];
      const fine = p.t % HOUR_MS !== 0 || (prev !== undefined && p.t - prev.t < HOUR_MS) || (next !== undefined && next.t - p.t < HOUR_MS);
      const d = fileDays.get(p.day) ?? { slots: [], fine: false, neighbourFine: false };
      d.slots.push({ start: p.t, end: p.t, value: p.v });
      // A row whose neighbour is a quarter-hour away only in the next/previous day says nothing about its own day
      // when that day has other rows; so a day is fine if any of its rows starts off the hour or any two of its own
      // rows are less than an hour apart, and a one-row day takes its neighbours' spacing.
      d.fine ||= p.t % HOUR_MS !== 0 || (prev !== undefined && prev.day === p.day && p.t - prev.t < HOUR_MS);
      d.neighbourFine ||= fine;
      fileDays.set(p.day, d);
    }
    for (const d of fileDays.values()) {
      const fine = d.fine || (d.slots.length === 1 && d.neighbourFine);
      for (const s of d.slots) s.end = s.start + (fine ? QUARTER_HOUR_MS : HOUR_MS);
    }
    for (const [day, { slots }] of fileDays) {
      const had = byDay.get(day);
      if (!had || had[0]!.end - had[0]!.start > slots[0]!.end - slots[0]!.start) byDay.set(day, slots);
    }
  }
  const out = [...byDay.values()].flat().sort((a, b) => a.start - b.start);
  if (!out.length) throw new InputError(`${paths.join(', ')}: has no price rows (datetime_utc and a price on each row)`);
  return out;
}

/** REE's D-1 drivers as three series of hourly slots (MW). */
export function loadDriverSlots(path: string): { demand: Slot[]; wind: Slot[]; solar: Slot[] } {
  const out = { demand: [] as Slot[], wind: [] as Slot[], solar: [] as Slot[] };
  for (const [t, d] of loadDrivers(path)) {
    out.demand.push({ start: t, end: t + HOUR_MS, value: d.demand });
    out.wind.push({ start: t, end: t + HOUR_MS, value: d.wind });
    out.solar.push({ start: t, end: t + HOUR_MS, value: d.solar });
  }
  return out;
}
