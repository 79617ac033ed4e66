import { join } from 'node:path';
import { readdirSync, statSync, truncateSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { createModbusSensors } from '../../plugins/modbus-sensors/index.js';
import { realTimePluginContext, testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

const H = 3_600_000;

describe('a damaged store is reported in /healthz and bridge/health, with its cause and remedy', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    const config = testConfig(server.base, { sources: { esios: { enabled: false } } });
    const dir = join(config.dataDir, 'store');
    const seed = await SeriesStore.open(dir);
    const t0 = Date.parse('2025-10-01T00:00:00Z');
    for (let d = 0; d < 10; d++) await seed.write('omie_es', 'EUR/MWh', Array.from({ length: 24 }, (_, i) => ({ start: t0 + (d * 24 + i) * H, end: t0 + (d * 24 + i + 1) * H, value: 50 + i })), { source: 'omie', fetchedAt: d });
    await seed.close();
    const log = readdirSync(dir).find((f) => f.endsWith('.log'))!;
    truncateSync(join(dir, log), Math.floor(statSync(join(dir, log)).size / 2)); // with the gateway stopped
    ({ gw } = await startGateway(config, '2025-10-26T12:30:00Z'));
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('/healthz: 503, the loss first among the reasons, the store section with counts and losses', async () => {
    const res = await fetch(`${gw.http!.url}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.reasons[0]).toMatch(/^store damaged, data lost: \d{4}-\S+Z: \d+ of 241 records missing since the last clean shutdown .*choco-edge store repair/);
    expect(body.store).toMatchObject({ state: 'failed', code: 'store_failed', expectedRecords: 241 });
    expect(body.store.losses).toHaveLength(1);
    await vi.waitFor(() => expect(gw.alerts.recent().find((a) => a.code === 'STORE_DAMAGED')).toMatchObject({ level: 'critical' }), { timeout: 60_000 });
  });

  it('bridge/health over MQTT says the same', async () => {
    const url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
    const sub = await subscriber(url, 'choco-edge/bridge/response/health');
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await client.publishAsync('choco-edge/bridge/request/health', JSON.stringify({ transaction: 't1' }), { qos: 1 });
    const answer = await sub.waitFor('choco-edge/bridge/response/health', (p) => p.transaction === 't1');
    expect(answer.data.state).toBe('failed');
    expect(answer.data.store.losses[0]).toMatch(/records missing since the last clean shutdown/);
    await client.endAsync();
    await sub.client.endAsync();
  });
});

describe('a sensor plugin reports a store failure as a store failure, not as an unavailable device', () => {
  let plc: FakePlc;
  beforeAll(async () => {
    plc = new FakePlc(await freePort());
    plc.holding.set(0, 235);
    await plc.start();
  });
  afterAll(() => plc.stop());

  it('device answering, store refusing: degraded with store_failed, the Modbus connection kept', async () => {
    const config = testConfig('http://127.0.0.1:9', { modbus: { devices: [{ name: 'floor', host: '127.0.0.1', port: plc.port, pollMs: 100, timeoutMs: 300, maxBackoffMs: 400, points: [{ name: 'floor_temp', address: 0, type: 'int16', scale: 0.1 }] }] } });
    const store = await SeriesStore.open(join(config.dataDir, 'store'));
    await store.close(); // a real LevelDB store that refuses every write
    const ctx = realTimePluginContext(config, store);
    const plugin = createModbusSensors(ctx);
    await plugin.start();
    try {
      await vi.waitFor(() => expect((plugin.health().details!.devices as Record<string, { polls: number }>).floor!.polls).toBeGreaterThan(2), { timeout: 60_000 });
      const floor = (plugin.health().details!.devices as Record<string, { state: string; code?: string; message: string; reconnects: number }>).floor!;
      expect(floor).toMatchObject({ state: 'degraded', code: 'store_failed', reconnects: 0 });
      expect(floor.message).toMatch(/^device answers, but its readings are not stored: store: closed/);
      expect(plugin.readings().floor_temp).toMatchObject({ state: 'ok', value: 23.5 });
    } finally {
      await plugin.stop();
    }
  });
});
