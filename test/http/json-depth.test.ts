/**
 * JSON bodies nested deeper than any route takes (tester5 fault 8): `POST /api/plan/preview` (no token needed) with
 * 30 KB nesting 5000 objects under `quota` answered 500 `Maximum call stack size exceeded` (a recursive walk of the
 * body). Now every route's JSON body is checked for depth before it is parsed or walked: 400 with one sentence, on
 * every route that takes a body, and the gateway keeps serving. Real gateway (HTTP server, aedes, LevelDB in a temp dir).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../gateway/controller.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { silent, testConfig } from '../helpers/context.js';

let gw: Gateway;
beforeAll(async () => {
  const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } } });
  gw = new Gateway({ config, clock: new FakeClock('2026-03-02T10:00:00Z'), log: silent });
  await gw.start();
}, 60_000);
afterAll(async () => {
  await gw?.stop();
});

const deep = (levels: number): string => `{"quota":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;
const post = (path: string, body: string, method = 'POST') => fetch(`${gw.http!.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: 'Bearer http-test-token' }, body });

describe('JSON body depth', () => {
  it("the tester's body: POST /api/plan/preview with 5000 nested objects → 400 in one sentence, not 500", async () => {
    const body = deep(5000);
    expect(body.length).toBeGreaterThan(25_000);
    const res = await post('/api/plan/preview', body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { message: string };
    expect(answer.message).toMatch(/^JSON body nested deeper than 64 levels; no route takes more$/);
    expect((await fetch(`${gw.http!.url}/health`)).status).toBe(200);
  });

  it('every route that takes a body answers 400 to it (none 500), and a body at the limit is parsed', async () => {
    const spec = (await (await fetch(`${gw.http!.url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).filter((m) => ['post', 'put', 'patch'].includes(m)).map((m) => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x')] as const));
    expect(routes.length).toBeGreaterThan(5);
    for (const [method, path] of routes) {
      const res = await post(path, deep(5000), method);
      expect(res.status, `${method} ${path}`).toBe(400);
    }
    // Arrays count as levels too; strings holding brackets do not.
    expect((await post('/api/plan/preview', `{"quota":${'['.repeat(100)}${']'.repeat(100)}}`)).status).toBe(400);
    const shallow = await post('/api/plan/preview', JSON.stringify({ quota: { mixing: 1 }, note: '{'.repeat(500) }));
    expect(shallow.status).not.toBe(500);
    expect(((await shallow.json()) as { message?: string }).message ?? '').not.toMatch(/nested deeper/);
  });
});
