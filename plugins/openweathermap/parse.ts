import { GatewayError, MalformedPayloadError } from '../../gateway/util/errors.js';
import { HOUR_MS } from '../../gateway/time/tz.js';
import type { WeatherPoint } from '../../gateway/weather/view.js';

const SOURCE = 'openweathermap';

/** `cod` is a number on some answers and a string on others; anything but 200 is an error whatever the HTTP status said. */
export function checkOwmCod(body: unknown): void {
  const cod = Number((body as { cod?: unknown } | null)?.cod);
  const message = String((body as { message?: unknown } | null)?.message ?? '');
  if (cod === 200) return;
  if (cod === 401) throw new GatewayError('auth_failed', `openweathermap: invalid API key (401, permanent until the key is fixed): ${message}`, false);
  if (cod === 429) throw new GatewayError('rate_limited', `openweathermap: rate limited (429): ${message}`, true);
  throw new MalformedPayloadError(SOURCE, `cod ${JSON.stringify((body as { cod?: unknown } | null)?.cod)}: ${message}`);
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

function point(start: number, span: number, item: Record<string, any>, rainKey: '1h' | '3h'): WeatherPoint {
  const values: WeatherPoint['values'] = {};
  const set = (k: keyof WeatherPoint['values'], x: number | undefined) => {
    if (x !== undefined) values[k] = x;
  };
  set('temp', num(item.main?.temp));
  set('rh', num(item.main?.humidity));
  set('pressure', num(item.main?.pressure));
  set('wind', num(item.wind?.speed));
  // rain/snow keys are absent when it does not rain: that is 0 mm, unlike a missing temperature.
  set('precip', (num(item.rain?.[rainKey]) ?? 0) + (num(item.snow?.[rainKey]) ?? 0));
  return { start, end: start + span, values };
}

/** `/data/2.5/weather` with units=metric: °C, m/s, hPa. */
export function parseOwmCurrent(body: unknown): WeatherPoint[] {
  checkOwmCod(body);
  const b = body as Record<string, any>;
  if (typeof b.dt !== 'number' || typeof b.main?.temp !== 'number') throw new MalformedPayloadError(SOURCE, 'current: no dt or main.temp');
  return [point(b.dt * 1000, HOUR_MS, b, '1h')];
}

/** `/data/2.5/forecast`: 3-hour slots from `dt` (UTC). */
export function parseOwmForecast(body: unknown): WeatherPoint[] {
  checkOwmCod(body);
  const list = (body as { list?: unknown }).list;
  if (!Array.isArray(list)) throw new MalformedPayloadError(SOURCE, 'forecast: no list');
  return list.map((item: Record<string, any>, i: number) => {
    if (typeof item.dt !== 'number') throw new MalformedPayloadError(SOURCE, `forecast item ${i}: no dt`);
    return point(item.dt * 1000, 3 * HOUR_MS, item, '3h');
  });
}
