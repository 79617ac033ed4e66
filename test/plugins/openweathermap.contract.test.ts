import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeatherSource } from '../../gateway/sources/weather-source.js';
import { openWeatherMapPlugin } from '../../plugins/openweathermap/index.js';
import { parseOwmCurrent, parseOwmForecast } from '../../plugins/openweathermap/parse.js';
import { pluginContext, testConfig } from '../helpers/context.js';
import { FixtureServer, OWM_KEY, fixture, owmRoutes, toMetric } from '../helpers/fixture-server.js';

const NOW = '2022-08-30T15:10:00Z'; // 27 minutes after the recorded current weather (dt 1661870592 = 14:43:12Z)

describe('OpenWeatherMap parsing', () => {
  it('reads current weather (cod as a number) and the 5-day forecast (cod as a string) in metric units', () => {
    const current = parseOwmCurrent(toMetric(JSON.parse(fixture('openweathermap/pyopenweathermap_free_current.json'))));
    expect(current[0]).toMatchObject({ start: 1661870592000, values: { temp: 25.33, rh: 64, pressure: 1015, wind: 0.62, precip: 3.16 } });
    const forecast = parseOwmForecast(toMetric(JSON.parse(fixture('openweathermap/matthiasos_forecast_5day3h.json'))));
    expect(forecast).toHaveLength(40);
    expect(forecast[1]!.start - forecast[0]!.start).toBe(3 * 3_600_000);
    expect(forecast[0]!.end - forecast[0]!.start).toBe(3 * 3_600_000);
  });

  it('treats absent rain as 0 mm but absent temperature as an error', () => {
    const body = toMetric(JSON.parse(fixture('openweathermap/pyopenweathermap_free_current.json'))) as Record<string, any>;
    delete body.rain;
    expect(parseOwmCurrent(body)[0]!.values.precip).toBe(0);
    delete body.main.temp;
    expect(() => parseOwmCurrent(body)).toThrow(/no dt or main.temp/);
    expect(() => parseOwmForecast({ cod: '404', message: 'city not found' })).toThrow(/cod "404": city not found/);
  });
});

describe('openweathermap source contract (real local server that honours units=metric)', () => {
  const server = new FixtureServer();
  beforeAll(async () => {
    await server.start();
    server.routes = owmRoutes();
  });
  afterAll(() => server.stop());
  const make = async (apiKey = OWM_KEY) => {
    const ctx = await pluginContext(testConfig(server.base, { sources: { openweathermap: { enabled: true, baseUrl: server.base, apiKey } } }), NOW);
    return { ctx, source: openWeatherMapPlugin.create(ctx) as WeatherSource };
  };

  it('asks for metric units, keeps the key out of messages, and stores °C', async () => {
    const { ctx, source } = await make();
    await source.ingest();
    expect(server.requests.at(-1)!.query).toContain('units=metric');
    expect((await ctx.store.latest('obs.openweathermap.temp'))!.value).toBe(25.33);
    expect(await ctx.store.count('fc.openweathermap.temp')).toBe(40);
    await ctx.close();
  });

  it('calls a 401 permanent and says so; 429 and 500 are retried', async () => {
    const { ctx, source } = await make('wrong-key-xyz');
    const error = (await source.ingest().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/invalid API key \(401, permanent until the key is fixed\)/);
    expect(error.message).not.toContain('wrong-key-xyz');
    expect(source.health()).toMatchObject({ state: 'failed', code: 'auth_failed' });
    await ctx.close();
    const ok = await make();
    server.script('/data/2.5/weather', { status: 429, body: JSON.stringify({ cod: 429, message: 'Your account is temporary blocked' }) }, { status: 500, body: 'oops' });
    await ok.source.ingest();
    expect(ok.source.health().state).toBe('ok');
    await ok.ctx.close();
  });

  it('refuses Kelvin where °C was asked for, as a wrong unit, and stores nothing', async () => {
    const { ctx, source } = await make();
    const kelvin = JSON.parse(fixture('openweathermap/pyopenweathermap_free_current.json'));
    server.script('/data/2.5/weather', { body: JSON.stringify({ ...kelvin, coord: { lat: ctx.config.sources.openweathermap.lat, lon: ctx.config.sources.openweathermap.lon } }) });
    const r = await source.ingest();
    expect(r.summary).toMatch(/obs: openweathermap\/.*: temp = 298.48 degC .* wrong unit\?/);
    expect(source.health().code).toBe('wrong_unit');
    expect(await ctx.store.count('obs.openweathermap.temp')).toBe(0);
    await ctx.close();
  });
});
