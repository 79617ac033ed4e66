import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { createOpcuaSensors } from '../../plugins/opcua-sensors/index.js';
import { realTimePluginContext, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';

/**
 * The plugin's health names each device that is not ok with its own fault code: a real node-opcua server for the
 * first device (answering), nothing listening on the second's port. The message once took the code of the device at
 * the same place in the list of all devices, so with the first device ok it said `away (ok)`.
 */
const URI = 'urn:choco-edge:test:health';

describe('OPC UA sensors health with one device ok and one away', () => {
  it('says which device is away and why, not the code of another device', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-health-'));
    const server = new TestOpcuaServer({ port: await freePort(), pkiDir: join(dir, 'plc'), namespaceUri: URI, secure: false, variables: [{ id: 'Floor.Temp', dataType: 'Double', value: 21.5 }] });
    await server.start();
    const device = (name: string, endpointUrl: string) => ({
      name,
      endpointUrl,
      security: 'None',
      maxBackoffMs: 400,
      requestTimeoutMs: 2000,
      publishingIntervalMs: 50,
      storeMs: 100,
      points: [{ name: `${name}_temp`, nodeId: `nsu=${URI};s=Floor.Temp`, samplingMs: 20 }],
    });
    const config = testConfig('http://127.0.0.1:9', { opcua: { pkiDir: join(dir, 'client-pki'), devices: [device('good', server.endpointUrl), device('away', `opc.tcp://127.0.0.1:${await freePort()}`)] } });
    const store = await SeriesStore.open(join(config.dataDir, 'store'), { readings: { commitMs: 200 } });
    const sensors = createOpcuaSensors(realTimePluginContext(config, store));
    try {
      await sensors.start();
      const devices = () => sensors.health().details!.devices as Record<string, { state: string; code?: string }>;
      // A value received: the subscription is up (the device says ok), so stopping later never races its creation.
      await vi.waitFor(() => expect(sensors.readings().good_temp).toMatchObject({ state: 'ok', value: 21.5 }), { timeout: 60_000 });
      await vi.waitFor(() => expect(devices().good!.state).toBe('ok'), { timeout: 60_000 });
      await vi.waitFor(() => expect(devices().away).toMatchObject({ state: 'failed', code: expect.any(String) }), { timeout: 60_000 });
      const h = sensors.health();
      expect(h.state).toBe('degraded');
      expect(h.message).toBe(`not ok: away (${devices().away!.code})`);
      expect(h.message).not.toContain('(ok)');
    } finally {
      await sensors.stop();
      await server.stop();
      await store.close();
    }
  });
});
