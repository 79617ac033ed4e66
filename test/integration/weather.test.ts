import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../../gateway/time/clock.js';
import type { Gateway } from '../../gateway/controller.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { WeatherView, weatherPolicy } from '../../gateway/weather/view.js';
import { testConfig } from '../helpers/context.js';
import { AEMET_KEY, FixtureServer, OWM_KEY, aemetRoutes, owmRoutes, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';

const H = 3_600_000;

describe('combined weather: freshness first, then priority', () => {
  it('prefers the trusted source when both are equally fresh, and the fresher one otherwise', async () => {
    const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-wx-')));
    const config = testConfig('http://127.0.0.1:9');
    const view = new WeatherView(store, weatherPolicy(config), () => ['aemet', 'openweathermap']);
    const now = Date.parse('2025-07-15T14:20:00Z');
    const write = (source: string, start: number, value: number) => store.write(`obs.${source}.temp`, 'degC', [{ start, end: start + H, value }], { source: `${source}/x`, fetchedAt: start + 600_000 });
    await write('aemet', now - 50 * 60_000, 31.2);
    await write('openweathermap', now - 40 * 60_000, 41.5);
    expect((await view.current(now)).values.temp).toMatchObject({ value: 31.2, source: 'aemet/x' });
    await write('openweathermap', now - 5 * 60_000, 41.9); // 45 min fresher than AEMET: beyond the 30-min tolerance
    expect((await view.current(now)).values.temp).toMatchObject({ value: 41.9, source: 'openweathermap/x' });
    expect((await view.current(now + 3 * H)).stale).toBe(true);
    const cmp = await view.compare(now, 1, 'aemet', 'openweathermap');
    expect(cmp).toMatchObject({ hours: 1, bias: -10.3, meanAbsDiff: 10.3 });
    await store.close();
  });
});

describe('weather through the whole gateway, with failover (real local servers replaying AEMET and OpenWeatherMap)', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  let clock: FakeClock;
  let http: string;
  // 27 min after the recorded OWM observation; AEMET's recording is from 2021, so AEMET has nothing current.
  const NOW = '2022-08-30T15:10:00Z';

  beforeAll(async () => {
    await server.start();
    server.routes = [...recordedRoutes(), ...aemetRoutes(server), ...owmRoutes()];
    const config = testConfig(server.base, {
      sources: {
        esios: { enabled: false },
        aemet: { enabled: true, baseUrl: `${server.base}/opendata/api`, apiKey: AEMET_KEY, stations: ['3195'], municipality: '28065' },
        openweathermap: { enabled: true, baseUrl: server.base, apiKey: OWM_KEY },
      },
    });
    ({ gw, clock } = await startGateway(config, NOW));
    http = gw.http!.url;
    await gw.scheduler.trigger('weatherIngestion');
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('uses OpenWeatherMap while AEMET has nothing current, and says where each value came from', async () => {
    const current = await (await fetch(`${http}/weather/current`)).json();
    expect(current.stale).toBe(false);
    expect(current.values.temp).toMatchObject({ value: 25.33, unit: 'degC', source: expect.stringMatching(/^openweathermap\//) });
    expect(current.sources).toEqual(['aemet', 'openweathermap']);
    expect(gw.pluginHealth().aemet!.message).toMatch(/too old/);
    const owm = await (await fetch(`${http}/weather/openweather`)).json();
    expect(owm).toMatchObject({ available: true, temperature_c: 25.33, humidity_percent: 64, wind_speed_ms: 0.62, stale: false });
    const aemet = await (await fetch(`${http}/aemet/weather`)).json();
    expect(aemet).toMatchObject({ available: false, temperature_c: null });
  });

  it('publishes the combined view retained on MQTT', async () => {
    const sub = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/weather/#');
    const current = await sub.waitFor('choco-edge/weather/current', (p) => p.values.temp !== undefined);
    expect(current.values.temp.source).toMatch(/^openweathermap/);
    expect((await sub.waitFor('choco-edge/weather/forecast')).v).toBe(1);
    await sub.client.endAsync();
  });

  it('with both sources down goes stale, and health fails after the configured age', async () => {
    // The scheduled runs paused and finished: the test runs what it needs itself, so that no trigger is skipped
    // because a scheduled run of a slow machine is still going.
    for (const job of gw.scheduler.status()) gw.scheduler.pause(job.id);
    await vi.waitFor(() => expect(gw.scheduler.status().filter((j) => j.running)).toEqual([]), { timeout: 60_000 });
    server.routes = recordedRoutes();
    await clock.advance(2 * H);
    await gw.scheduler.trigger('weatherIngestion');
    let body = await (await fetch(`${http}/healthz`)).json();
    expect(body.series.find((s: { id: string }) => s.id === 'obs.combined.temp').stale).toBe(false);
    await clock.advance(2 * H);
    await gw.scheduler.trigger('weatherIngestion');
    const current = await (await fetch(`${http}/weather/current`)).json();
    expect(current.stale).toBe(true);
    expect(current.reason).toMatch(/no temperature observation younger than 120 min/);
    const res = await fetch(`${http}/healthz`);
    expect(res.status).toBe(503);
    body = await res.json();
    expect(body.reasons.join('\n')).toMatch(/series obs\.combined\.temp stale/);
    expect(gw.pluginHealth().openweathermap!.state).toBe('failed');
  });

  it('serves the forecast route with a bounded horizon and refuses a bad one', async () => {
    const forecast = await (await fetch(`${http}/weather/forecast?hours=6`)).json();
    expect(forecast.slots).toHaveLength(6);
    expect((await fetch(`${http}/weather/forecast?hours=1000`)).status).toBe(400);
    expect((await (await fetch(`${http}/api/sensors`)).json()).health).toMatchObject({ state: 'disabled' });
  });
});
