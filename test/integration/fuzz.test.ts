import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { seededRandom } from '../../gateway/inference/seeded-random.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';

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
