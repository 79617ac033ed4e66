import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../../gateway/time/clock.js';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, fixture, recordedRoutes, type Reply } from '../helpers/fixture-server.js';
import { startGateway } from '../helpers/gateway.js';

describe('an hour of API faults on the fake clock', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  let clock: FakeClock;

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    // 14:30 Madrid on 2025-10-26: today's OMIE file is stored; tomorrow's is due and will fail for an hour.
    ({ gw, clock } = await startGateway(testConfig(server.base, { sources: { esios: { enabled: false }, ree: { enabled: false } }, fetch: { timeoutMs: 300, retries: 1 } }), '2025-10-26T13:30:00Z'));
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('keeps serving the last good prices, explains the faults in health, and recovers by itself', async () => {
    const good = await (await fetch(`${gw.http!.url}/api/prices?series=omie_es&from=2025-10-25T22:00:00Z&to=2025-10-26T23:00:00Z`)).json();
    expect(good.slots).toHaveLength(100);
    const wrongUnits = fixture('omie/marginalpdbc_20251026.1').replace(/2025;10;26;/g, '2025;10;27;').replace(/;(\d+\.?\d*);(\d+\.?\d*);/g, (_m, a: string, b: string) => `;${Number(a) * 1000};${Number(b) * 1000};`);
    const faults: Reply[] = [
      { status: 500, body: 'Internal Server Error' },
      { status: 429, headers: { 'retry-after': '0' }, body: '' },
      { delayMs: 800, body: 'late' },
      { headers: { 'content-type': 'application/octet-stream' }, body: 'MARGINALPDBC;\n2025;10;27;1;garbage;garbage;\n*\n' },
      { headers: { 'content-type': 'application/octet-stream' }, body: wrongUnits },
      { headers: { 'content-type': 'text/html' }, body: '<html>maintenance</html>' },
    ];
    let n = 0;
    server.routes = [(_req, url) => (url.searchParams.get('filename')?.includes('20251027') ? faults[n++ % faults.length] : undefined), ...recordedRoutes()];
    const messages = new Set<string>();
    const idle = () => vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'priceIngestion')!.running).toBe(false), { timeout: 60_000 });
    for (let step = 0; step < 8; step++) {
      await clock.advance(7.5 * 60_000);
      await idle();
      await gw.scheduler.trigger('priceIngestion');
      messages.add(String(gw.pluginHealth().omie!.code));
      const served = await (await fetch(`${gw.http!.url}/api/prices?series=omie_es&from=2025-10-25T22:00:00Z&to=2025-10-26T23:00:00Z`)).json();
      expect(served.slots).toEqual(good.slots);
      const current = await (await fetch(`${gw.http!.url}/api/series`)).json();
      expect(current.find((s: { id: string }) => s.id === 'omie_es').stale).toBe(false);
    }
    expect(n).toBeGreaterThanOrEqual(6);
    expect([...messages].some((c) => ['server_error', 'rate_limited', 'timeout', 'malformed_payload'].includes(c))).toBe(true);
    const health = gw.pluginHealth().omie!;
    expect(health.state).toBe('degraded');
    expect(health.message).toMatch(/HTTP|malformed|wrong unit|HTML|no answer|unreachable/);
    expect(await gw.store.count('omie_es', Date.parse('2025-10-26T23:00:00Z'), Date.parse('2025-10-27T23:00:00Z'))).toBe(0);
    // Back to normal: a well-formed 96-period file for the 27th (the 26th's values, re-dated: the recovery is what is tested).
    const recovered = fixture('omie/marginalpdbc_20251026.1')
      .split(/\r?\n/)
      .filter((l) => !/^2025;10;26;(9[7-9]|100);/.test(l))
      .map((l) => l.replace(/^2025;10;26;/, '2025;10;27;'))
      .join('\n');
    server.routes = [(_req, url) => (url.searchParams.get('filename')?.includes('20251027') ? { headers: { 'content-type': 'application/octet-stream' }, body: recovered } : undefined), ...recordedRoutes()];
    await clock.advance(15 * 60_000);
    await idle();
    await gw.scheduler.trigger('priceIngestion');
    await vi.waitFor(() => expect(gw.pluginHealth().omie!.state).toBe('ok'), { timeout: 60_000 });
    expect(await gw.store.count('omie_es', Date.parse('2025-10-26T23:00:00Z'), Date.parse('2025-10-27T23:00:00Z'))).toBe(96);
  });
});
