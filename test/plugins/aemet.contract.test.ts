import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WeatherSource } from '../../gateway/sources/weather-source.js';
import { decodeAemetBody, parseAemetHourlyForecast, parseAemetObservations } from '../../plugins/aemet/parse.js';
import { aemetPlugin } from '../../plugins/aemet/index.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';
import { AEMET_KEY, FixtureServer, aemetRoutes, fixture, latin9, restoreAemetText } from '../helpers/fixture-server.js';

const NOW = '2021-01-09T12:30:00Z'; // half an hour after the last recorded observation at Madrid Retiro

describe('AEMET parsing (recorded Madrid Retiro observations and Getafe hourly forecast)', () => {
  it('decodes the second step as ISO-8859-15', () => {
    const bytes = latin9(restoreAemetText(fixture('aemet/homeassistant_town-28065-forecast-hourly-data.json')));
    const text = decodeAemetBody(bytes, 'text/plain;charset=ISO-8859-15');
    expect(JSON.parse(text)[0].origen.productor).toBe('Agencia Estatal de Meteorología - AEMET. Gobierno de España');
    expect(bytes.toString('utf8')).toContain('\uFFFD'); // what a UTF-8 decoder would have made of it
  });

  it('reads observations in UTC with missing fields left missing (no wind keys in this station answer)', () => {
    const { station, points } = parseAemetObservations(JSON.parse(fixture('aemet/homeassistant_station-3195-data.json')));
    expect(station).toBe('3195');
    expect(points).toHaveLength(23);
    expect(new Date(points[0]!.start).toISOString()).toBe('2021-01-08T14:00:00.000Z');
    expect(points[0]!.values).toEqual({ temp: 0.1, rh: 97, precip: 1.2, pressure: 929.9 });
    expect('wind' in points[0]!.values).toBe(false);
  });

  it('keeps a record with half its fields missing and refuses one without a time', () => {
    const records = JSON.parse(fixture('aemet/homeassistant_station-3195-data.json'));
    delete records[3].ta;
    delete records[3].hr;
    delete records[3].pres;
    const { points } = parseAemetObservations(records);
    expect(points[3]!.values).toEqual({ precip: records[3].prec });
    delete records[4].fint;
    expect(() => parseAemetObservations(records)).toThrow(/fint undefined is not a UTC time/);
  });

  it('maps forecast local hours to UTC, km/h wind to m/s and "Ip" to trace rain', () => {
    const { elaborado, points } = parseAemetHourlyForecast(JSON.parse(fixture('aemet/homeassistant_town-28065-forecast-hourly-data.json')));
    expect(elaborado).toBe('2021-01-09T11:47:45');
    expect(points).toHaveLength(17 + 24 + 7);
    expect(new Date(points[0]!.start).toISOString()).toBe('2021-01-09T06:00:00.000Z'); // 07 local, CET
    expect(points[0]!.values.temp).toBe(-1);
    expect(points[0]!.values.wind).toBe(Math.round((28 / 3.6) * 100) / 100);
    const raw = JSON.parse(fixture('aemet/homeassistant_town-28065-forecast-hourly-data.json'));
    const ipHours = raw[0].prediccion.dia.flatMap((d: { precipitacion: Array<{ value: string }> }) => d.precipitacion).filter((p: { value: string }) => p.value === 'Ip');
    expect(ipHours.length).toBeGreaterThan(0);
    expect(points.some((p) => p.values.precip === 0.05)).toBe(true);
  });
});

describe('aemet source contract (real local server, two steps, ISO-8859-15)', () => {
  const server = new FixtureServer();
  let ctx: TestContext;
  let source: WeatherSource;
  const config = (over: Record<string, unknown> = {}) =>
    testConfig(server.base, { sources: { aemet: { enabled: true, baseUrl: `${server.base}/opendata/api`, apiKey: AEMET_KEY, stations: ['3195'], municipality: '28065', ...over } } });

  beforeAll(async () => {
    await server.start();
    server.routes = aemetRoutes(server);
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    ctx = await pluginContext(config(), NOW);
    source = aemetPlugin.create(ctx) as WeatherSource;
    await source.start();
  });
  afterEach(() => ctx.close());

  it('ingests observations and forecast into UTC series with the station as source', async () => {
    const r = await source.ingest();
    expect(r.summary).toMatch(/obs: temp 23, rh 23, precip 23, pressure 23; fc: temp 4[0-9]/);
    const latest = await ctx.store.latest('obs.aemet.temp');
    expect(latest).toMatchObject({ start: Date.parse('2021-01-09T12:00:00Z'), value: -0.7, source: 'aemet/3195' });
    expect(await ctx.store.count('obs.aemet.wind')).toBe(0);
    expect((await ctx.store.read('fc.aemet.temp', Date.parse(NOW), Date.parse(NOW) + 3_600_000))[0]!.source).toBe('aemet/28065');
    expect(source.health().state).toBe('ok');
    expect(server.requests.find((r) => r.path.startsWith('/opendata/api'))!.query).not.toContain(AEMET_KEY);
  });

  it('refuses a bad key as a permanent error that names no key', async () => {
    const bad = await pluginContext(config({ apiKey: 'not-the-key-123' }), NOW);
    const s = aemetPlugin.create(bad) as WeatherSource;
    const error = (await s.ingest().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/API key refused|credentials refused/);
    expect(error.message).not.toContain('not-the-key-123');
    expect(s.health().code).toBe('auth_failed');
    await expect(s.jobs!.tokenCheck!()).rejects.toThrow();
    expect(s.health()).toMatchObject({ state: 'failed', code: 'auth_failed' });
    await bad.close();
  });

  it('on 429 waits for the next minute, then carries on', async () => {
    const limit = { status: 429, body: JSON.stringify({ descripcion: 'Límite de peticiones o caudal por minuto excedido para este usuario. Espere al siguiente minuto.', estado: 429 }) };
    server.script('/opendata/api/observacion', limit);
    let done = false;
    const running = source.ingest().finally(() => (done = true));
    await vi.waitFor(() => expect(ctx.clock.pendingTimers()).toBe(1), { timeout: 60_000, interval: 20 });
    expect(done).toBe(false);
    await ctx.clock.advance(29_000); // 12:30:00 → the wait runs to 12:31:01
    expect(done).toBe(false);
    await ctx.clock.advance(32_000);
    await expect(running).resolves.toMatchObject({ summary: expect.stringMatching(/obs: temp 23/) });
  });

  it('reports 500s, estado 404 on the first step, truncated JSON, and recovers', async () => {
    server.script('/opendata/api/observacion', ...Array(3).fill({ status: 500, body: 'Internal Server Error' }));
    server.script('/opendata/api/prediccion', { body: JSON.stringify({ descripcion: 'No hay datos que satisfagan esos criterios', estado: 404 }) });
    await expect(source.ingest()).rejects.toThrow(/HTTP 500.*no data \(estado 404/s);
    expect(source.health().message).toMatch(/^unreachable, retrying/);
    server.script('/opendata/sh/', { headers: { 'content-type': 'text/plain;charset=ISO-8859-15' }, body: latin9(fixture('aemet/homeassistant_station-3195-data.json').slice(0, 500)) });
    const partial = await source.ingest();
    expect(partial.summary).toMatch(/obs: aemet: no station answered usefully: .*invalid JSON/);
    expect(source.health().state).toBe('degraded');
    await source.ingest();
    expect(source.health().state).toBe('ok');
  });

  it('asks for a fresh datos URL once when the first one has expired', async () => {
    server.script('/opendata/sh/', { status: 404, headers: { 'content-type': 'text/html' }, body: '<html>expired</html>' });
    const before = server.countFor('/opendata/api/observacion');
    await source.ingest();
    expect(server.countFor('/opendata/api/observacion') - before).toBe(2);
    expect(await ctx.store.count('obs.aemet.temp')).toBe(23);
  });

  it('falls back to the backup station when the primary has nothing recent', async () => {
    const two = await pluginContext(config({ stations: ['5279X', '3195'] }), NOW);
    server.script('/opendata/api/observacion/convencional/datos/estacion/5279X', { body: JSON.stringify({ descripcion: 'No hay datos que satisfagan esos criterios', estado: 404 }) });
    const s = aemetPlugin.create(two) as WeatherSource;
    await s.ingest();
    expect((await two.store.latest('obs.aemet.temp'))!.source).toBe('aemet/3195');
    await two.close();
  });
});
