import { GatewayError, MalformedPayloadError } from '../../gateway/util/errors.js';
import { HOUR_MS, localTimeToUtc } from '../../gateway/time/tz.js';
import type { WeatherPoint, WeatherVar } from '../../gateway/weather/view.js';

const SOURCE = 'aemet';

/** Step-2 bodies are ISO-8859-15 unless Content-Type says otherwise. */
export function decodeAemetBody(body: Buffer, contentType: string): string {
  const charset = /charset=([^;]+)/i.exec(contentType)?.[1]?.trim().toLowerCase() ?? 'iso-8859-15';
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return new TextDecoder('iso-8859-15').decode(body);
  }
}

export function parseAemetJson(text: string): unknown {
  if (text.trim() === '') throw new MalformedPayloadError(SOURCE, 'empty body (missing api_key header?)');
  if (text.trimStart().startsWith('<')) throw new MalformedPayloadError(SOURCE, 'got an HTML page where JSON was expected');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedPayloadError(SOURCE, `invalid JSON (${(error as Error).message}); ${text.length} characters received`);
  }
}

/** Checks the first answer's `estado` (AEMET can say 404 inside an HTTP 200) and returns the short-lived `datos` URL. */
export function parseAemetEnvelope(body: unknown): string {
  const env = body as { estado?: unknown; descripcion?: unknown; datos?: unknown } | null;
  if (!env || typeof env !== 'object') throw new MalformedPayloadError(SOURCE, 'envelope is not an object');
  const estado = Number(env.estado);
  const why = typeof env.descripcion === 'string' ? env.descripcion : '';
  if (estado === 401) throw new GatewayError('auth_failed', `aemet: API key refused (estado 401: ${why})`, false);
  if (estado === 429) throw new GatewayError('rate_limited', `aemet: rate limited (estado 429: ${why})`, true);
  if (estado === 404) throw new GatewayError('client_error', `aemet: no data (estado 404: ${why})`, false);
  if (estado !== 200) throw new MalformedPayloadError(SOURCE, `envelope estado ${String(env.estado)} (${why})`);
  if (typeof env.datos !== 'string' || !/^https?:\/\//.test(env.datos)) throw new MalformedPayloadError(SOURCE, 'envelope has no "datos" URL');
  return env.datos;
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/**
 * Station observations: `fint` is the end of the observation hour in UTC without an offset (AEMET's contract).
 * Wind arrives in m/s. A field that is absent stays absent.
 */
export function parseAemetObservations(body: unknown): { station: string | null; points: WeatherPoint[] } {
  if (!Array.isArray(body)) throw new MalformedPayloadError(SOURCE, 'observations: expected an array');
  let station: string | null = null;
  const points = body.map((r: Record<string, unknown>, i: number) => {
    if (!r || typeof r !== 'object') throw new MalformedPayloadError(SOURCE, `observation ${i} is not an object`);
    if (typeof r.fint !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(r.fint)) throw new MalformedPayloadError(SOURCE, `observation ${i}: fint ${JSON.stringify(r.fint)} is not a UTC time`);
    station ??= typeof r.idema === 'string' ? r.idema : null;
    const start = Date.parse(`${r.fint}Z`);
    const values: WeatherPoint['values'] = {};
    const set = (v: WeatherVar, x: number | undefined) => {
      if (x !== undefined) values[v] = x;
    };
    set('temp', num(r.ta));
    set('rh', num(r.hr));
    set('wind', num(r.vv));
    set('precip', num(r.prec));
    set('pressure', num(r.pres));
    return { start, end: start + HOUR_MS, values };
  });
  return { station, points: points.sort((a, b) => a.start - b.start) };
}

export const TRACE_PRECIPITATION_MM = 0.05;

/** Forecast values arrive as strings; "Ip" is trace precipitation (kept as 0.05 mm, not 0 and not missing). */
function forecastNumber(x: unknown, what: string): number | undefined {
  if (x === undefined || x === null || x === '') return undefined;
  if (x === 'Ip') return TRACE_PRECIPITATION_MM;
  const n = Number(String(x).replace(',', '.'));
  if (!Number.isFinite(n)) throw new MalformedPayloadError(SOURCE, `forecast ${what}: ${JSON.stringify(x)} is not a number`);
  return n;
}

/** Hourly municipal forecast: local days and local hours ("periodo") → UTC slots; wind km/h → m/s. */
export function parseAemetHourlyForecast(body: unknown, timezone = 'Europe/Madrid'): { elaborado: string | null; points: WeatherPoint[] } {
  const root = Array.isArray(body) ? body[0] : undefined;
  const dias = (root as { prediccion?: { dia?: unknown } } | undefined)?.prediccion?.dia;
  if (!Array.isArray(dias)) throw new MalformedPayloadError(SOURCE, 'forecast: expected [ { prediccion: { dia: [...] } } ]');
  const byStart = new Map<number, WeatherPoint>();
  const at = (date: string, periodo: unknown): number => {
    const hour = Number(periodo);
    if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new MalformedPayloadError(SOURCE, `forecast ${date}: periodo ${JSON.stringify(periodo)}`);
    return localTimeToUtc(date, hour, 0, timezone);
  };
  const put = (start: number, v: WeatherVar, value: number | undefined) => {
    if (value === undefined) return;
    const p = byStart.get(start) ?? { start, end: start + HOUR_MS, values: {} };
    p.values[v] = value;
    byStart.set(start, p);
  };
  for (const dia of dias as Array<Record<string, unknown>>) {
    const date = typeof dia.fecha === 'string' ? dia.fecha.slice(0, 10) : '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new MalformedPayloadError(SOURCE, `forecast: fecha ${JSON.stringify(dia.fecha)}`);
    const list = (key: string) => (Array.isArray(dia[key]) ? (dia[key] as Array<Record<string, unknown>>) : []);
    for (const e of list('temperatura')) put(at(date, e.periodo), 'temp', forecastNumber(e.value, 'temperatura'));
    for (const e of list('humedadRelativa')) put(at(date, e.periodo), 'rh', forecastNumber(e.value, 'humedadRelativa'));
    for (const e of list('precipitacion')) put(at(date, e.periodo), 'precip', forecastNumber(e.value, 'precipitacion'));
    for (const e of list('vientoAndRachaMax')) {
      if (!Array.isArray(e.velocidad)) continue; // the alternating gust entries
      const kmh = forecastNumber(e.velocidad[0], 'velocidad');
      put(at(date, e.periodo), 'wind', kmh === undefined ? undefined : Math.round((kmh / 3.6) * 100) / 100);
    }
  }
  const elaborado = typeof (root as { elaborado?: unknown }).elaborado === 'string' ? (root as { elaborado: string }).elaborado : null;
  return { elaborado, points: [...byStart.values()].sort((a, b) => a.start - b.start) };
}
