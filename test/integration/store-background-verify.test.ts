import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway } from '../helpers/gateway.js';

/**
 * Issue #24: the open reads only what was written since the last verification, so a table garbled while the gateway
 * was stopped, holding only older ranges, is found by the background verification (here run at once with
 * `store.verify()`, the function its timer calls): /healthz turns 503 with the cause and the remedy, and the
 * STORE_DAMAGED alert is raised right then, not at the next health job. Real gateway, real LevelDB.
 */
const Q = 900_000;
const JAN = Date.parse('2025-01-01T00:00:00Z');

describe('damage in an old range of the running gateway\'s store', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    const config = testConfig(server.base, { sources: { esios: { enabled: false } } });
    const dir = join(config.dataDir, 'store');
    // Three months of two archived series, verified, in a table of their own (the second open flushes the log).
    const seed = await SeriesStore.open(dir, { sync: false, verify: false });
    for (let d = 0; d < 90; d++) for (const s of ['archive.a', 'archive.b']) await seed.write(s, 'kW', Array.from({ length: 96 }, (_, i) => ({ start: JAN + (d * 96 + i) * Q, end: JAN + (d * 96 + i + 1) * Q, value: d + i })), { source: 'test', fetchedAt: d });
    await seed.close();
    const again = await SeriesStore.open(dir, { verify: false });
    expect((await again.verify()).losses).toEqual([]);
    await again.close();
    const table = readdirSync(dir).filter((f) => f.endsWith('.ldb')).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0]!;
    const bytes = readFileSync(join(dir, table));
    for (let i = Math.floor(bytes.length / 3); i < Math.floor(bytes.length / 3) + 2048; i++) bytes[i] = (bytes[i]! * 31 + 7) & 0xff;
    writeFileSync(join(dir, table), bytes); // with the gateway stopped
    ({ gw } = await startGateway(config, '2025-10-26T12:30:00Z'));
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('starts (the open read only the recent ranges), then the background verification reports it: /healthz 503 and STORE_DAMAGED at once', async () => {
    const before = await (await fetch(`${gw.http!.url}/healthz`)).json();
    expect(before.store).toMatchObject({ state: 'ok', verification: { atOpen: 'pending ranges' } });
    expect(gw.alerts.recent().find((a) => a.code === 'STORE_DAMAGED')).toBeUndefined();
    const found = await gw.store.verify();
    expect(found.losses.join('\n')).toMatch(/background check failed: .*Corruption/);
    const res = await fetch(`${gw.http!.url}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.reasons[0]).toMatch(/^store damaged, data lost: .*reading every record in the background check failed: .*To fix: stop the gateway and run `choco-edge store repair`/);
    expect(gw.alerts.recent().find((a) => a.code === 'STORE_DAMAGED')).toMatchObject({ level: 'critical', message: body.store.message });
  });
});
