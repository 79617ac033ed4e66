import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { formatLocalIso, formatUtcIso } from '../time/tz.js';
import { WEATHER_VARS, WeatherView, weatherPolicy, weatherSeriesId, weatherSourceNames, type WeatherVar } from '../weather/view.js';
import { currentPayload, forecastPayload } from '../weather/payloads.js';

/** A weather source's name as it appears in series ids. */
const SOURCE_NAME = '^[a-z0-9][a-z0-9_-]{0,40}$';
const Hours = Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 120, default: 48 }) });

export function registerWeatherRoutes(app: FastifyInstance, gw: HttpContext): void {
  const tz = gw.config.site.timezone;
  const view = () => new WeatherView(gw.store, weatherPolicy(gw.config), () => weatherSourceNames(gw.catalog()));

  app.get('/weather/current', { schema: { summary: 'Outdoor conditions now: per variable the freshest value, ties by source priority, with source and age', tags: ['weather'] } }, async () => {
    const now = gw.clock.now();
    const v = view();
    const current = await v.current(now);
    const sources = weatherSourceNames(gw.catalog());
    const comparison = sources.includes('aemet') && sources.includes('openweathermap') ? await v.compare(now, 7, 'aemet', 'openweathermap') : null;
    return { ...currentPayload(current, now), at_local: formatLocalIso(now, tz), sources, comparison };
  });

  app.get('/weather/forecast', { schema: { summary: 'Hourly outdoor forecast, combined from every source', tags: ['weather'], querystring: Hours } }, async (req) => {
    const { hours } = req.query as { hours: number };
    const now = gw.clock.now();
    return forecastPayload(await view().forecast(now, hours), now, tz);
  });

  app.get(
    '/weather/comparison',
    {
      schema: {
        summary: 'Bias and mean absolute difference between two sources over the same hours',
        tags: ['weather'],
        querystring: Type.Object({
          days: Type.Integer({ minimum: 1, maximum: 90, default: 7 }),
          a: Type.String({ default: 'aemet', pattern: SOURCE_NAME }),
          b: Type.String({ default: 'openweathermap', pattern: SOURCE_NAME }),
          variable: Type.Union(Object.keys(WEATHER_VARS).map((k) => Type.Literal(k)), { default: 'temp' }),
        }),
      },
    },
    async (req) => {
      const q = req.query as { days: number; a: string; b: string; variable: WeatherVar };
      return view().compare(gw.clock.now(), q.days, q.a, q.b, q.variable);
    },
  );

  /** The prototype's per-source contracts: plain keys, no emoji, UTC timestamps plus local ones. */
  const latestFrom = async (source: string) => {
    const now = gw.clock.now();
    const out: Record<string, unknown> = { source, available: false };
    for (const [v, key] of [
      ['temp', 'temperature_c'],
      ['rh', 'humidity_percent'],
      ['wind', 'wind_speed_ms'],
      ['pressure', 'pressure_hpa'],
      ['precip', 'precipitation_mm'],
    ] as const) {
      const latest = await gw.store.latest(weatherSeriesId('obs', source, v));
      out[key] = latest?.value ?? null;
      if (latest && v === 'temp') {
        Object.assign(out, {
          available: true,
          origin: latest.source,
          timestamp: formatUtcIso(latest.start),
          timestamp_local: formatLocalIso(latest.start, tz),
          age_s: Math.round((now - latest.start) / 1000),
          stale: now - latest.start > gw.config.weather.maxObservationAgeMinutes * 60_000,
        });
      }
    }
    out.health = gw.pluginHealth()[source] ?? null;
    return out;
  };
  app.get('/weather/openweather', { schema: { summary: 'Latest OpenWeatherMap observation (prototype contract)', tags: ['weather'] } }, () => latestFrom('openweathermap'));
  app.get('/aemet/weather', { schema: { summary: 'Latest AEMET station observation (prototype contract)', tags: ['weather'] } }, () => latestFrom('aemet'));

  app.get('/api/sensors', { schema: { summary: 'Latest reading per Modbus and OPC UA point with its health and protocol; per Modbus device the requests a poll cycle takes and the achieved poll rate, per OPC UA device its session, namespaces and faults', tags: ['sensors'] } }, async () => {
    const health = gw.pluginHealth()['modbus-sensors'];
    const opcua = gw.pluginHealth()['opcua-sensors'];
    const points = gw.sensorReadings() ?? {};
    const withProtocol = (devices: unknown, protocol: string) => Object.fromEntries(Object.entries((devices ?? {}) as Record<string, object>).map(([k, d]) => [k, { protocol, ...d }]));
    return {
      health: health ? { state: health.state, message: health.message } : null,
      opcua_health: opcua && opcua.state !== 'disabled' ? { state: opcua.state, message: opcua.message } : null,
      devices: { ...withProtocol(health?.details?.devices, 'modbus'), ...withProtocol(opcua?.details?.devices, 'opcua') },
      store: health?.details?.store ?? null,
      points: Object.entries(points).map(([name, r]) => ({ name, ...r, age_s: r.at ? Math.round((gw.clock.now() - Date.parse(r.at)) / 1000) : null })),
    };
  });
}
