/**
 * The HTTP API's error answers, as a plant engineer met them on the demo: one shape `{error, message}`, the word
 * for the status, one readable sentence. Found on main: a 404 for a month without a bill or an unknown series said
 * `"error": "bad request"`; an unknown route answered Fastify's own shape (`statusCode`, `"Not Found"`); `?lang=fr`
 * gave "querystring/lang must be equal to constant, querystring/lang must be equal to constant, querystring/lang must
 * match a schema in anyOf"; a body number 1e309 was reported as "got null"; a day before the gateway ever ran "is not
 * closed (yet)". Real gateway (HTTP server, aedes, LevelDB in a temp dir, recorded OMIE answers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { schemaErrorText } from '../../gateway/http/error-answers.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';

describe('error answers of the HTTP API', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${gw.http!.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    const config = testConfig(server.base, {
      sources: { esios: { enabled: false } },
      energy: {
        contract: {
          tariff: '6.1TD',
          contractedKw: [100, 100, 100, 100, 100, 200],
          powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
          tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
          energy: { fixed: [0.2, 0.18, 0.15, 0.13, 0.11, 0.09] },
        },
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: await freePort() }],
      },
    });
    ({ gw } = await startGateway(config, '2025-10-26T12:30:00Z'));
  }, 90_000);
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('a 404 says "not found", whoever answers it: a month without a bill, an unknown series, an unknown route', async () => {
    const month = await get('/api/bill/month/2099-01');
    expect(month.status).toBe(404);
    expect(month.body).toEqual({ error: 'not found', message: expect.stringMatching(/^no bill for 2099-01: the month has not started/) });
    const series = await get('/api/prices?series=nope&from=2025-10-26T00:00:00Z&to=2025-10-27T00:00:00Z');
    expect(series.status).toBe(404);
    expect(series.body).toEqual({ error: 'not found', message: expect.stringMatching(/^unknown series "nope"/) });
    const route = await get('/api/nope?x=1');
    expect(route.status).toBe(404);
    expect(route.body).toEqual({ error: 'not found', message: 'no route GET /api/nope: the routes are listed at /openapi.json and browsable at /docs' });
  });

  it('a parameter that must be one of a few words says which words, once', async () => {
    const r = await get('/api/bill/month/2025-10/report?lang=fr');
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: 'bad request', message: 'querystring/lang must be one of: es, en' });
    // a single error keeps its own sentence
    expect((await get('/ree/prices?hours=0')).body).toEqual({ error: 'bad request', message: 'querystring/hours must be >= 1' });
  });

  it('a JSON number too large to be finite is named, not shown as null', async () => {
    const r = await get('/api/plan/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"quota":{"mixing":1e309}}' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('bad request');
    expect(r.body.message).toBe('body/quota/mixing: expected integer, got Infinity (a number too large to be finite)');
  });

  it('a body property the route does not take is named as unknown, with the ones it takes (was: "must be a JSON object, got 1")', async () => {
    const r = await get('/api/plan/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"quotas":{"mixing":2}}' });
    expect(r).toEqual({ status: 400, body: { error: 'bad request', message: 'body/quotas: unknown property; this object takes quota, contractedKw' } });
  });

  it('/api/export: a date is the plant\'s local day (the 25-hour 2025-10-26), a timestamp without offset is refused', async () => {
    // 25 hourly slots of the local day 2025-10-26 (00:00 CEST = 2025-10-25T22:00Z … 24:00 CET = 2025-10-26T23:00Z)
    const start = Date.parse('2025-10-25T22:00:00Z');
    const slots = Array.from({ length: 27 }, (_, i) => ({ start: start - 3_600_000 + i * 3_600_000, end: start + i * 3_600_000, value: 40 + i }));
    await gw.store.write('test_export', 'EUR/MWh', slots, { source: 'test', fetchedAt: start });
    const res = await fetch(`${gw.http!.url}/api/export?series=test_export&from=2025-10-26&to=2025-10-27`);
    expect(res.status).toBe(200);
    const rows = (await res.text()).trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(25);
    expect(rows[0]!.slice(0, 3)).toEqual(['2025-10-25T22:00:00Z', '2025-10-25T23:00:00Z', '2025-10-26T00:00:00+02:00']);
    expect(rows.at(-1)![2]).toBe('2025-10-26T23:00:00+01:00');
    const naive = await get('/api/export?series=test_export&from=2025-10-26T00:00:00&to=2025-10-27T00:00:00Z');
    expect(naive).toEqual({ status: 400, body: { error: 'bad request', message: 'from: expected a local date (YYYY-MM-DD, Europe/Madrid) or an ISO timestamp with offset or Z, got "2025-10-26T00:00:00"' } });
  });

  it('a day with no stored savings says why: not closed yet, or a day the gateway never closed', async () => {
    const before = await get('/api/savings/day/2020-01-01');
    expect(before).toEqual({ status: 404, body: { error: 'not found', message: 'no measured savings stored for 2020-01-01: the gateway did not close that day (it was not running then, or not yet installed)' } });
    const today = await get('/api/savings/day/2025-10-26');
    expect(today.body.message).toBe('no measured savings stored for 2025-10-26: it is not closed yet (today is 2025-10-26; a day closes an hour after its last run ended)');
  });
});

describe('schemaErrorText', () => {
  it('collapses anyOf/const into the allowed words and keeps other errors, each sentence once', () => {
    expect(
      schemaErrorText(
        [
          { keyword: 'const', instancePath: '/lang', message: 'must be equal to constant', params: { allowedValue: 'es' } },
          { keyword: 'const', instancePath: '/lang', message: 'must be equal to constant', params: { allowedValue: 'en' } },
          { keyword: 'anyOf', instancePath: '/lang', message: 'must match a schema in anyOf', params: {} },
          { keyword: 'minimum', instancePath: '/hours', message: 'must be >= 1', params: { limit: 1 } },
        ],
        'querystring',
      ),
    ).toBe('querystring/lang must be one of: es, en; querystring/hours must be >= 1');
  });
});
