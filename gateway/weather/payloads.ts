import { PAYLOAD_VERSION, type Payloads } from '../mqtt/topics.js';
import { formatLocalIso, formatUtcIso } from '../time/tz.js';
import { WEATHER_VARS, type CurrentWeather, type ForecastSlot } from './view.js';

export function currentPayload(current: CurrentWeather, now: number): Payloads['weather/current'] {
  return {
    v: PAYLOAD_VERSION,
    at: formatUtcIso(now),
    stale: current.stale,
    reason: current.reason,
    values: Object.fromEntries(
      Object.entries(current.values).map(([v, c]) => [v, { value: c.value, unit: WEATHER_VARS[v as keyof typeof WEATHER_VARS], source: c.source, at: formatUtcIso(c.at), age_s: Math.round((now - c.at) / 1000) }]),
    ),
  };
}

export function forecastPayload(slots: ForecastSlot[], now: number, tz: string): Payloads['weather/forecast'] {
  return {
    v: PAYLOAD_VERSION,
    at: formatUtcIso(now),
    slots: slots.map((s) => ({
      start: formatUtcIso(s.start),
      end: formatUtcIso(s.end),
      start_local: formatLocalIso(s.start, tz),
      values: Object.fromEntries(Object.entries(s.values).map(([v, c]) => [v, { value: c.value, source: c.source }])),
    })),
  };
}

