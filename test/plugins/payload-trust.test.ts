import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DaySource } from '../../gateway/sources/day-source.js';
import type { WeatherSource } from '../../gateway/sources/weather-source.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { aemetPlugin } from '../../plugins/aemet/index.js';
import { esiosDriversPlugin } from '../../plugins/esios/drivers.js';
import { esiosPlugin } from '../../plugins/esios/index.js';
import { omiePlugin } from '../../plugins/omie/index.js';
import { openWeatherMapPlugin } from '../../plugins/openweathermap/index.js';
import { reePlugin } from '../../plugins/ree/index.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';
import { AEMET_KEY, FixtureServer, OWM_KEY, aemetRoutes, fixture, owmRoutes, recordedRoutes } from '../helpers/fixture-server.js';

/**
 * Payloads built from the recorded fixtures, relabelled the way a source got them wrong in the field:
 * another day, another indicator or region, another resolution or unit, another place.
 */

/** The recorded REE apidatos day (2021-10-31, 25 hours) relabelled to 24 hours of `day` at `offset`, values shifted by `add`. */
function reeDay(day: string, offset: string, add = 0, mutate: (item: Record<string, any>) => void = () => undefined): string {
  const body = JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json'));
  for (const item of body.included) {
    item.attributes.values = item.attributes.values.slice(0, 24).map((v: { value: number }, h: number) => ({ ...v, value: v.value + add, datetime: `${day}T${String(h).padStart(2, '0')}:00:00.000${offset}` }));
    mutate(item);
  }
  return JSON.stringify(body);
}

/** The recorded ESIOS 1001 day (2024-03-09) as indicator `id`, relabelled to `day` (+01:00), geo kept or replaced. */
function esiosDay(id: number, day: string, geo?: { geo_id: number; geo_name: string }): string {
  const body = JSON.parse(fixture('esios/aiopvpc_PRICES_ESIOS_1001_2024_03_09.json'));
  body.indicator.id = id;
  body.indicator.values = body.indicator.values
    .filter((v: { geo_id: number }) => v.geo_id === 8741)
    .map((v: { datetime: string }) => ({ ...v, ...(geo ?? {}), datetime: v.datetime.replace('2024-03-09', day) }));
  return JSON.stringify(body);
}

describe('day sources accept only the day, series, region, resolution and unit they asked for', () => {
  const server = new FixtureServer();
  let ctx: TestContext;
  beforeAll(async () => {
    await server.start();
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    server.routes = recordedRoutes();
  });
  afterEach(() => ctx?.close());

  it('REE: an answer for 2026-11-30 to a request for 2026-12-01 is refused, the stored day is kept, health names the mismatch', async () => {
    ctx = await pluginContext(testConfig(server.base), '2026-12-01T09:00:00Z');
    const ree = reePlugin.create(ctx) as DaySource;
    await ree.start();
    server.script('/es/datos', { body: reeDay('2026-12-01', '+01:00') });
    await ree.ingestDay('2026-12-01');
    const { start, end } = localDayRange('2026-12-01');
    const good = await ctx.store.read('pvpc', start, end);
    expect(good).toHaveLength(24);

    server.script('/es/datos', { body: reeDay('2026-11-30', '+01:00', 100) });
    await expect(ree.ingestDay('2026-12-01')).rejects.toThrow(/not what was asked for: pvpc: asked for 2026-12-01 \(Europe\/Madrid\), got 24 of 24 values outside it, 2026-11-30T00:00:00\+01:00/);
    expect(await ctx.store.read('pvpc', start, end)).toEqual(good);
    expect(await ctx.store.count('pvpc')).toBe(24);
    const h = ree.health();
    expect(h).toMatchObject({ state: 'degraded', code: 'payload_mismatch' });
    expect(h.message).toContain('2026-12-01: ree: not what was asked for');
    // The failed day is asked for again on the next poll even though its slots are all there.
    const before = server.countFor('/es/datos');
    server.script('/es/datos', { body: reeDay('2026-12-01', '+01:00') });
    expect((await ree.poll()).summary).toContain('2026-12-01: pvpc 24');
    expect(server.countFor('/es/datos')).toBe(before + 1);
    expect(ree.health().state).toBe('ok');
  });

  it('REE: a day that straddles midnight (one hour too late) and 15-minute values when hours were asked for are refused', async () => {
    ctx = await pluginContext(testConfig(server.base), '2026-12-01T09:00:00Z');
    const ree = reePlugin.create(ctx) as DaySource;
    server.script('/es/datos', { body: reeDay('2026-12-01', '+00:00') });
    await expect(ree.ingestDay('2026-12-01')).rejects.toThrow(/got 1 of 24 values outside it, 2026-12-02T00:00:00\+01:00/);
    const quarter = JSON.parse(reeDay('2026-12-01', '+01:00'));
    for (const item of quarter.included) item.attributes.values = item.attributes.values.map((v: { datetime: string }, i: number) => ({ ...v, datetime: `2026-12-01T${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}:00.000+01:00` }));
    server.script('/es/datos', { body: JSON.stringify(quarter) });
    // PVPC (1001) is hourly: its quarter-hours are refused; the spot price (600) is quarter-hourly since 2025-10-01 and is kept.
    await expect(ree.ingestDay('2026-12-01')).rejects.toThrow(/pvpc: ree: not what was asked for: series 1001: comes in 60-minute values, got 15-minute values/);
    expect(await ctx.store.count('spot_es')).toBe(24);
    server.script('/es/datos', { body: reeDay('2026-12-01', '+01:00', 0, (item) => Object.assign(item, { type: 'PVPC (MW)', attributes: { ...item.attributes, title: 'PVPC (MW)' } })) });
    await expect(ree.ingestDay('2026-12-01')).rejects.toThrow(/expected a price in €\/MWh or €\/kWh, the payload says PVPC \(MW\)/);
    expect(await ctx.store.count('pvpc')).toBe(0);
  });

  it('ESIOS: another indicator, another day; drivers: another region', async () => {
    ctx = await pluginContext(testConfig(server.base), '2026-12-01T09:00:00Z');
    const esios = esiosPlugin.create(ctx) as DaySource;
    server.script('/indicators/1001', { body: esiosDay(600, '2026-12-01') });
    server.script('/indicators/600', { body: esiosDay(600, '2026-11-30', { geo_id: 3, geo_name: 'España' }) });
    const error = (await esios.ingestDay('2026-12-01').catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/indicator 1001: esios: not what was asked for: asked for indicator 1001, got 600/);
    expect(error.message).toMatch(/indicator 600: esios: not what was asked for: indicator 600 spot_es: asked for 2026-12-01/);
    expect(await ctx.store.count('pvpc')).toBe(0);
    expect(await ctx.store.count('spot_es')).toBe(0);

    await ctx.close();
    ctx = await pluginContext(testConfig(server.base), '2025-06-10T09:00:00Z');
    const drivers = esiosDriversPlugin.create(ctx) as DaySource;
    const d = JSON.parse(fixture('esios-drivers/esios_1775_2025_06_10.json'));
    d.indicator.values = d.indicator.values.map((v: object) => ({ ...v, geo_id: 8742, geo_name: 'Canarias' }));
    server.script('/indicators/1775', { body: JSON.stringify(d) });
    server.routes = [
      (_req, url) => {
        const m = /^\/indicators\/(177[79])$/.exec(url.pathname);
        return m ? { body: fixture(`esios-drivers/esios_${m[1]}_2025_06_10.json`) } : undefined;
      },
    ];
    const r = (await drivers.ingestDay('2025-06-10').catch((e: Error) => e)) as Error;
    expect(r.message).toMatch(/indicator 1775: esios: not what was asked for: indicator 1775: asked for geo 8741, got geo 8742/);
    // The other two drivers were still asked for and stored.
    expect(await ctx.store.count('drivers.wind_d1')).toBe(24);
    expect(await ctx.store.count('drivers.demand_d1')).toBe(0);
    expect(drivers.health()).toMatchObject({ code: 'payload_mismatch' });
  });

  it('ESIOS: each indicator is fetched and judged on its own; the failed one is asked again until it comes', async () => {
    ctx = await pluginContext(testConfig(server.base), '2026-12-01T09:00:00Z');
    const esios = esiosPlugin.create(ctx) as DaySource;
    await esios.start();
    const attempts = ctx.config.fetch.retries + 1;
    const [spotBefore, injectionBefore] = [server.countFor('/indicators/600'), server.countFor('/indicators/1739')];
    server.script('/indicators/1001', ...Array(attempts).fill({ status: 502, body: 'bad gateway' }));
    server.script('/indicators/600', { body: esiosDay(600, '2026-12-01', { geo_id: 3, geo_name: 'España' }) });
    server.script('/indicators/1739', { body: esiosDay(1739, '2026-12-01') });
    await expect(esios.ingestDay('2026-12-01')).rejects.toThrow(/indicator 1001: .*HTTP 502.*\(stored spot_es 24, injection 24\)/);
    expect(server.countFor('/indicators/600') - spotBefore).toBe(1);
    expect(server.countFor('/indicators/1739') - injectionBefore).toBe(1);
    expect(await ctx.store.count('spot_es')).toBe(24);
    expect(await ctx.store.count('injection')).toBe(24);
    expect(esios.health()).toMatchObject({ state: 'degraded', code: 'server_error' });
    expect(esios.health().message).toMatch(/^unreachable, retrying: 2026-12-01: indicator 1001/);

    server.script('/indicators/1001', { body: esiosDay(1001, '2026-12-01') });
    server.script('/indicators/600', { body: esiosDay(600, '2026-12-01', { geo_id: 3, geo_name: 'España' }) });
    server.script('/indicators/1739', { body: esiosDay(1739, '2026-12-01') });
    expect((await esios.poll()).summary).toContain('2026-12-01: pvpc 24');
    expect(esios.health().state).toBe('ok');
  });

  it('a failure is not forgotten in the same poll: today HTML, tomorrow "not published" → health keeps today\'s cause', async () => {
    ctx = await pluginContext(testConfig(server.base), '2026-11-30T20:00:00Z'); // 21:00 in Madrid: today and tomorrow are wanted
    const ree = reePlugin.create(ctx) as DaySource;
    await ree.start();
    expect(ree.wantedDays()).toEqual(['2026-11-30', '2026-12-01']);
    server.script('/es/datos', { headers: { 'content-type': 'text/html' }, body: '<html><body>Servicio en mantenimiento</body></html>' });
    await expect(ree.poll()).rejects.toThrow(/2026-11-30: ree: malformed payload: got an HTML page.*2026-12-01: not published yet/);
    const h = ree.health();
    expect(h).toMatchObject({ state: 'degraded', code: 'malformed_payload' }); // the source answered for tomorrow: not stale
    expect(h.message).toBe('2026-11-30: ree: malformed payload: got an HTML page where JSON was expected');
    expect((h.details as { consecutiveFailures: number }).consecutiveFailures).toBe(1);
    expect((h.details as { days: Record<string, string> }).days).toMatchObject({ '2026-12-01': 'not published yet' });
    // Still failed after a second poll where tomorrow is again not published; fixed only when today comes.
    server.script('/es/datos', { body: 'not json' });
    await expect(ree.poll()).rejects.toThrow();
    expect(ree.health().message).toMatch(/^2026-11-30: ree: malformed payload: invalid JSON/);
    expect((ree.health().details as { consecutiveFailures: number }).consecutiveFailures).toBe(2);
    server.script('/es/datos', { body: reeDay('2026-11-30', '+01:00') });
    await ree.poll();
    expect(ree.health().state).toBe('ok');
  });

  it('OMIE: a file for another day is refused (its own date check), nothing stored', async () => {
    ctx = await pluginContext(testConfig(server.base), '2025-10-01T09:00:00Z');
    const omie = omiePlugin.create(ctx) as DaySource;
    server.script('/es/file-download', { headers: { 'content-type': 'application/octet-stream' }, body: fixture('omie/marginalpdbc_20251026.1') });
    await expect(omie.ingestDay('2025-10-01')).rejects.toThrow(/date 2025-10-26 in a file for 2025-10-01/);
    expect(await ctx.store.count('omie_es')).toBe(0);
  });
});

describe('weather sources accept only the place, station, municipality and time window they asked for', () => {
  const server = new FixtureServer();
  let ctx: TestContext;
  beforeAll(async () => {
    await server.start();
  });
  afterAll(() => server.stop());
  afterEach(() => ctx?.close());

  it('OpenWeatherMap: an answer for another place is refused as a mismatch; nothing stored', async () => {
    server.routes = owmRoutes();
    ctx = await pluginContext(testConfig(server.base, { sources: { openweathermap: { enabled: true, baseUrl: server.base, apiKey: OWM_KEY } } }), '2022-08-30T15:10:00Z');
    const owm = openWeatherMapPlugin.create(ctx) as WeatherSource;
    const zocca = JSON.parse(fixture('openweathermap/pyopenweathermap_free_current.json'));
    server.script('/data/2.5/weather', { body: JSON.stringify({ ...zocca, main: { ...zocca.main, temp: 25 } }) });
    const r = await owm.ingest();
    expect(r.summary).toMatch(/obs: openweathermap: not what was asked for: asked for 38.151107,-3.629453, got 44.34,10.99/);
    expect(owm.health().code).toBe('payload_mismatch');
    expect(await ctx.store.count('obs.openweathermap.temp')).toBe(0);
    expect(await ctx.store.count('fc.openweathermap.temp')).toBe(40);
  });

  it('AEMET: another station, another municipality, and observations from the future are refused', async () => {
    server.routes = aemetRoutes(server);
    const config = (over: Record<string, unknown> = {}) => testConfig(server.base, { sources: { aemet: { enabled: true, baseUrl: `${server.base}/opendata/api`, apiKey: AEMET_KEY, stations: ['3195'], municipality: '28065', ...over } } });
    ctx = await pluginContext(config({ stations: ['5279X'], municipality: '23055' }), '2021-01-09T12:30:00Z');
    const aemet = aemetPlugin.create(ctx) as WeatherSource;
    const r = (await aemet.ingest().catch((e: Error) => e)) as Error;
    expect(r.message).toMatch(/obs: aemet: not what was asked for: asked for station 5279X, got "3195"/);
    expect(r.message).toMatch(/fc: aemet: not what was asked for: asked for municipality 23055, got "28065"/);
    expect(aemet.health()).toMatchObject({ state: 'failed', code: 'payload_mismatch' });
    await ctx.close();

    ctx = await pluginContext(config(), '2021-01-08T12:30:00Z'); // a day before the recorded observations
    const early = aemetPlugin.create(ctx) as WeatherSource;
    const e = await early.ingest().catch((x: Error) => x);
    expect(String((e as Error).message ?? (e as { summary: string }).summary)).toMatch(/obs: aemet\/3195: not what was asked for: observations: value at 2021-01-08T.* is outside the requested window/);
    expect(await ctx.store.count('obs.aemet.temp')).toBe(0);
  });
});
