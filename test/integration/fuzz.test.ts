import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { seededRandom } from '../../gateway/inference/random.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';

/** Bounded fuzzing with a seeded generator: malformed JSON, huge bodies, wrong types, path tricks. */
const random = seededRandom(20251125);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const junkValues = ['', 'null', '-1', '1e309', 'NaN', '../../etc/passwd', '%00', '%2e%2e%2f', "' OR 1=1 --", '<script>alert(1)</script>', '2025-13-45T99:99:99Z', 'x'.repeat(5000), '{"a":', '[]', 'true', '😀', '9'.repeat(40)];
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
