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
 * A real node-opcua server that answers CreateSubscription with BadTooManySubscriptions (a PLC at its subscription
 * limit). node-opcua's client emits 'error' on the subscription for that; with no listener it was an uncaught
 * exception that ended the whole gateway (vitest fails the run on it). Now the device is failed with its own code,
 * retried with backoff, and comes back once the server takes subscriptions again.
 */
const URI = 'urn:choco-edge:test:refused';

describe('OPC UA sensors when the server refuses the subscription', () => {
  it('reports subscription_refused, does not crash, and recovers', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-refused-'));
    const server = new TestOpcuaServer({ port: await freePort(), pkiDir: join(dir, 'plc'), namespaceUri: URI, secure: false, variables: [{ id: 'Floor.Temp', dataType: 'Double', value: 19.5 }] });
    await server.start();
    server.refuseSubscriptions();
    const config = testConfig('http://127.0.0.1:9', {
      opcua: {
        pkiDir: join(dir, 'client-pki'),
        devices: [{ name: 'plc', endpointUrl: server.endpointUrl, security: 'None', maxBackoffMs: 300, requestTimeoutMs: 2000, publishingIntervalMs: 50, storeMs: 100, points: [{ name: 'floor_temp', nodeId: `nsu=${URI};s=Floor.Temp`, samplingMs: 20 }] }],
      },
    });
    const store = await SeriesStore.open(join(config.dataDir, 'store'), { readings: { commitMs: 200 } });
    const sensors = createOpcuaSensors(realTimePluginContext(config, store));
    try {
      await sensors.start();
      const device = () => (sensors.health().details!.devices as Record<string, { state: string; code?: string }>).plc!;
      await vi.waitFor(() => expect(device()).toMatchObject({ state: 'failed', code: 'subscription_refused' }), { timeout: 60_000 });
      expect(sensors.readings().floor_temp).toMatchObject({ state: 'failed' });
      const caps = server.server!.engine.serverCapabilities as unknown as { maxSubscriptionsPerSession: number; maxSubscriptions: number };
      caps.maxSubscriptionsPerSession = 10;
      caps.maxSubscriptions = 50;
      await vi.waitFor(() => expect(sensors.readings().floor_temp).toMatchObject({ state: 'ok', value: 19.5 }), { timeout: 60_000 });
      expect(device().state).toBe('ok');
    } finally {
      await sensors.stop();
      await server.stop();
      await store.close();
    }
  });
});
