/**
 * The MQTT bridge requests (tester5 fault 12): `bridge/request/prices` took any range (`0000-01-01` to `9999-01-01`
 * returned the whole series) while HTTP caps one read at 400 days; and README's MQTT table did not name every request
 * the gateway answers (`plan/apply`, `models/reload`). Real gateway (aedes in-process, LevelDB in a temp dir).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../gateway/controller.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { silent, testConfig } from '../helpers/context.js';
import { subscriber, type Collected } from '../helpers/gateway.js';

let gw: Gateway;
let sub: Collected;
beforeAll(async () => {
  const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } } });
  gw = new Gateway({ config, clock: new FakeClock('2026-03-02T10:00:00Z'), log: silent });
  await gw.start();
  sub = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/bridge/response/#');
}, 60_000);
afterAll(async () => {
  await sub?.client.endAsync();
  await gw?.stop();
});

describe('bridge requests over MQTT', () => {
  it('prices: a range longer than 400 days is refused in one sentence, as over HTTP; 400 days are served', async () => {
    await gw.store.write('omie_es', 'EUR/MWh', [{ start: Date.parse('2026-03-01T00:00:00Z'), end: Date.parse('2026-03-01T01:00:00Z'), value: 61.5 }], { source: 'test', fetchedAt: 1 });
    await sub.client.publishAsync('choco-edge/bridge/request/prices', JSON.stringify({ transaction: 'r-1', series: 'omie_es', from: '0000-01-01T00:00:00Z', to: '9999-01-01T00:00:00Z' }));
    const refused = await sub.waitFor('choco-edge/bridge/response/prices', (p) => p.transaction === 'r-1');
    expect(refused).toMatchObject({ status: 'error' });
    expect(refused.error).toMatch(/^range longer than 400 days; ask for less/);
    await sub.client.publishAsync('choco-edge/bridge/request/prices', JSON.stringify({ transaction: 'r-2', series: 'omie_es', from: '2025-02-01T00:00:00Z', to: '2026-03-08T00:00:00Z' }));
    const served = await sub.waitFor('choco-edge/bridge/response/prices', (p) => p.transaction === 'r-2');
    expect(served.data).toEqual([{ start: '2026-03-01T00:00:00.000Z', end: '2026-03-01T01:00:00.000Z', value: 61.5, source: 'test' }]);
  });

  it("README's MQTT table names every request the gateway answers", () => {
    const controller = readFileSync(new URL('../../gateway/controller.ts', import.meta.url), 'utf8');
    const names = [...controller.matchAll(/this\.bridge\.handle\('([^']+)'/g)].map((m) => m[1]!);
    expect(names).toEqual(expect.arrayContaining(['prices', 'plan/apply', 'models/reload']));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `bridge/request/<name>`'));
    expect(row).toBeDefined();
    for (const n of names) expect(row, `bridge request ${n} missing from README's MQTT table`).toContain(`\`${n}`);
  });
});
