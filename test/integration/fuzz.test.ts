import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { seededRandom } from '../../gateway/inference/seeded-random.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';

/** Bounded fuzzing with a seeded generator: malformed JSON, huge bodies, wrong types, path tricks. */
const random = seededRandom(20251125);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const junkValues = ['Infinity', '-Infinity', 'x/y', '',  'null', '-1', '1e309', 'NaN', '../../etc/passwd', '%00', '%2e%2e%2f', "' OR 1=1 --", '<script>alert(1)</script>', '2025-13-45T99:99:99Z', 'x'.repeat(5000), '{"a":', '[]', 'true', '😀', '9'.repeat(40)];
const junkBodies = ['{', '{"quota":{"conching":"many"}}', '{"quota":{"__proto__":{"x":1}}}', '[1,2,3]', 'null', '"string"', '{"price_eur_kwh":"cheap","temperature":[],"humidity":{}}', '{"contractedKw":-5}', JSON.stringify({ quota: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`p${i}`, i])) }), 'x'.repeat(200_000)];

describe('fuzzing the HTTP API and the MQTT request topics (bounded)', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  let http: string;

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    ({ gw } = await startGateway(testConfig(server.base, { sources: { esios: { enabled: false } } }), '2025-10-26T12:30:00Z'));
    http = gw.http!.url;
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('never crashes or answers 5xx, refuses bad input with a message, and writes nothing', async () => {
    const doc = await (await fetch(`${http}/openapi.json`)).json();
    const routes = Object.entries(doc.paths as Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
    const before = await gw.store.count('omie_es');
    const metaBefore = JSON.stringify(await gw.store.listSeries());
    const started = Date.now();
    let requests = 0;
    while (Date.now() - started < 8_000 && requests < 600) {
      const r = pick(routes);
      if (r.path === '/api/events' || r.path === '/api/store/backup') continue;
      const path = r.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(pick(junkValues)));
      const query = new URLSearchParams();
      for (const p of r.op.parameters ?? []) if (p.in === 'query' && random() < 0.8) query.set(p.name, pick(junkValues));
      if (random() < 0.3) query.set(pick(['series', 'from', 'to', 'hours', 'x']), pick(junkValues));
      const body = r.method === 'POST' ? pick(junkBodies) : undefined;
      const res = await fetch(`${http}${path}${query.size ? `?${query}` : ''}`, { method: r.method, headers: body ? { 'content-type': 'application/json' } : {}, body });
      requests++;
      if (!(r.path === '/healthz' && res.status === 503)) expect(res.status, `${r.method} ${path}?${query} → ${res.status}`).toBeLessThan(500);
      if (res.status >= 400 && r.path !== '/healthz' && res.headers.get('content-type')?.includes('json')) {
        const answer = await res.json();
        expect(typeof answer.message === 'string' || typeof answer.reason === 'string', JSON.stringify(answer)).toBe(true);
      } else await res.arrayBuffer();
    }
    expect(requests).toBeGreaterThan(50);
    expect((await fetch(`${http}/health`)).status).toBe(200);
    expect(await gw.store.count('omie_es')).toBe(before);
    expect(JSON.stringify(await gw.store.listSeries())).toBe(metaBefore);
    const huge = await fetch(`${http}/api/plan/preview`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ quota: { conching: 1 }, pad: 'x'.repeat(300_000) }) });
    expect(huge.status).toBe(413);
    const infinite = await fetch(`${http}/api/store/verify?days=1e309`);
    expect(infinite.status).toBe(400);
    expect((await infinite.json()).message).toMatch(/days must be a finite number/);
  });

  it('every route and every parameter of /openapi.json, each junk value in turn (with the bearer token): 0 × 5xx', async () => {
    const doc = await (await fetch(`${http}/openapi.json`)).json();
    const failures: string[] = [];
    let requests = 0;
    const send = async (method: string, path: string, query: URLSearchParams, body?: string) => {
      const res = await fetch(`${http}${path}${query.size ? `?${query}` : ''}`, {
        method,
        headers: { authorization: 'Bearer http-test-token', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body,
      });
      requests++;
      await res.arrayBuffer();
      if (res.status >= 500 && !(path === '/healthz' && res.status === 503)) failures.push(`${method} ${path}?${query} ${body?.slice(0, 60) ?? ''} → ${res.status}`);
    };
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>)) {
      if (path === '/api/events' || path === '/api/store/backup') continue;
      for (const [m, op] of Object.entries(methods)) {
        const method = m.toUpperCase();
        const params = op.parameters ?? [];
        const fill = (p: string) => p.replace(/\{[^}]+\}/g, 'x');
        for (const param of params) {
          for (const junk of junkValues.slice(0, 12)) {
            const query = new URLSearchParams();
            let target = fill(path);
            if (param.in === 'query') query.set(param.name, junk);
            else if (param.in === 'path') target = path.replace(`{${param.name}}`, encodeURIComponent(junk)).replace(/\{[^}]+\}/g, 'x');
            await send(method, target, query, method === 'POST' ? '{}' : undefined);
          }
        }
        if (method === 'POST') for (const body of [...junkBodies.slice(0, 8), '{"quota":{}}', '{"quota":{"conching":0}}']) await send(method, fill(path), new URLSearchParams(), body);
      }
    }
    expect(requests).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });

  it('answers garbage on the MQTT request topics with errors and stays up', async () => {
    const url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
    const sub = await subscriber(url, 'choco-edge/bridge/response/#');
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const names = ['health', 'jobs', 'job/trigger', 'prices', 'plan/apply', 'models/reload', 'nope', '../../x', '+', 'a/b/c/d'];
    for (let i = 0; i < 150; i++) {
      const name = pick(names).replace(/[+#]/g, 'x');
      const payload = random() < 0.5 ? pick(junkBodies).slice(0, 20_000) : JSON.stringify({ transaction: `f${i}`, id: pick(junkValues), series: pick(junkValues), from: pick(junkValues), to: pick(junkValues), quota: pick([null, 'x', { a: 'b' }]) });
      await client.publishAsync(`choco-edge/bridge/request/${name}`, payload, { qos: 0 });
    }
    await client.publishAsync('choco-edge/bridge/request/health', JSON.stringify({ transaction: 'final' }), { qos: 1 });
    expect((await sub.waitFor('choco-edge/bridge/response/health', (p) => p.transaction === 'final')).status).toBe('ok');
    expect(sub.messages.filter((m) => m.payload?.status === 'error').length).toBeGreaterThan(10);
    expect(sub.messages.every((m) => m.payload?.status === 'error' ? typeof m.payload.error === 'string' : true)).toBe(true);
    expect(gw.mqtt.connected).toBe(true);
    await client.endAsync();
    await sub.client.endAsync();
  });
});

describe('the cases found by hand: 4xx for bad input, 409 for a valid request the state cannot serve', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  let http: string;
  beforeAll(async () => {
    await server.start(); // no routes: every source answers 404, so there are no prices at all
    ({ gw } = await startGateway(testConfig(server.base, { sources: { esios: { enabled: false } } }), '2026-12-01T09:00:00Z'));
    http = gw.http!.url;
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it.each([
    ['/weather/forecast?hours=Infinity', 400, /querystring\/hours must be a finite number, got "Infinity"/],
    ['/api/store/verify?days=Infinity', 400, /querystring\/days must be a finite number/],
    ['/api/store/verify?days=-Infinity', 400, /querystring\/days must be a finite number/],
    ['/weather/comparison?a=x%2Fy', 400, /querystring\/a must match pattern/],
  ])('GET %s → %i', async (path, status, message) => {
    const res = await fetch(`${http}${path}`);
    expect(res.status).toBe(status);
    expect((await res.json()).message).toMatch(message);
  });

  it('POST /api/plan/apply {"quota":{}} with no prices → 409 with the reason, and the plan state is unchanged', async () => {
    const res = await fetch(`${http}/api/plan/apply`, { method: 'POST', headers: { authorization: 'Bearer http-test-token', 'content-type': 'application/json' }, body: '{"quota":{}}' });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'conflict', message: expect.stringMatching(/planner: .*price/i) });
    expect((await fetch(`${http}/api/plan`)).status).toBe(404);
  });
});

/**
 * Impossible calendar dates (and times of day) in every parameter of every route, with the bill on (a contract and a
 * site meter, so the bill and savings routes answer rather than 409): each is refused with 400 and a message, never
 * a 500 (`/api/savings/day/2018-02-30` once threw "no such date" as an internal error) nor rolled over to 2 March.
 */
const impossibleDates = ['2018-02-30', '2018-13-01', '2017-02-29', '2018-04-31', '2018-00-10', '2018-01-00', '2018-02-30T00:00:00Z', '2018-01-01T24:30:00Z', '2018-01-01T10:61:00+01:00'];

describe('fuzzing every date parameter with impossible calendar dates (bill on)', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  let http: string;

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    const config = testConfig(server.base, {
      sources: { esios: { enabled: false } },
      energy: {
        contract: { tariff: '6.1TD', contractedKw: [100, 100, 100, 100, 100, 200], powerPriceEurKwYear: [30, 25, 15, 10, 5, 2], tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002], energy: { fixed: [0.2, 0.18, 0.15, 0.13, 0.11, 0.09] } },
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: await freePort() }],
      },
    });
    ({ gw } = await startGateway(config, '2025-10-26T12:30:00Z'));
    http = gw.http!.url;
  }, 90_000);
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('answers 400 with a message for each, on every route and parameter of /openapi.json', async () => {
    const doc = await (await fetch(`${http}/openapi.json`)).json();
    const failures: string[] = [];
    let dated = 0;
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>)) {
      if (path === '/api/events' || path === '/api/store/backup') continue;
      for (const [m, op] of Object.entries(methods)) {
        if (m !== 'get') continue;
        for (const param of op.parameters ?? []) {
          for (const date of impossibleDates) {
            const query = new URLSearchParams();
            let target = path.replace(/\{[^}]+\}/g, 'x');
            if (param.in === 'query') {
              query.set(param.name, date);
              // the other half of a range is a real date, so only the impossible one can be refused
              for (const other of ['from', 'to', 'series']) if (other !== param.name && (op.parameters ?? []).some((p) => p.name === other)) query.set(other, other === 'series' ? 'omie_es' : other === 'from' ? '2018-01-01' : '2018-06-01');
            } else if (param.in === 'path') target = path.replace(`{${param.name}}`, encodeURIComponent(date)).replace(/\{[^}]+\}/g, 'x');
            else continue;
            const res = await fetch(`${http}${target}${query.size ? `?${query}` : ''}`, { headers: { authorization: 'Bearer http-test-token' } });
            const text = await res.text();
            if (res.status >= 500) failures.push(`GET ${target}?${query} → ${res.status} ${text.slice(0, 120)}`);
            // a parameter that takes dates (from, to, date, month…) must refuse the impossible one, not read it as another day
            if (/^(from|to|date|day|month|start|end)$/.test(param.name)) {
              dated++;
              if (res.status !== 400 && res.status !== 404) failures.push(`GET ${target}?${query} → ${res.status} (expected 400) ${text.slice(0, 120)}`);
              if (res.status === 400 && !/no such|expected|must/.test(text)) failures.push(`GET ${target}?${query} → 400 without a clear message: ${text.slice(0, 120)}`);
            }
          }
        }
      }
    }
    expect(dated).toBeGreaterThan(20);
    expect(failures).toEqual([]);
    const one = await fetch(`${http}/api/savings/day/2018-02-30`);
    expect(one.status).toBe(400);
    expect((await one.json()).message).toBe('params/date "2018-02-30": no such date: February 2018 has 28 days');
  });
});

