import { describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { CapturingBroker } from '../helpers/capturing-broker.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

/** Every outgoing MQTT client logs in with the credentials configured for its own connection, nothing else. */
describe('what each outgoing MQTT connection carries', () => {
  const leaks = (gw: Gateway, brokers: CapturingBroker[]) =>
    brokers.flatMap((b) => b.logins).filter((l) => l.username === gw.internalMqtt.username || l.password === gw.internalMqtt.password);

  it('with the embedded broker: Sparkplug on its own broker and the uplink get only their own logins, never the internal user', async () => {
    const sparkplugBroker = await new CapturingBroker().start();
    const central = await new CapturingBroker().start();
    const { gw } = await startGateway(
      testConfig('http://127.0.0.1:9', {
        sources: { esios: { enabled: false } },
        sparkplug: { enabled: true, url: sparkplugBroker.url, username: 'spb-node', password: 'spb-secret' },
        uplink: { enabled: true, url: central.url, username: 'plant-linares', password: 'uplink-secret' },
      }),
      '2025-10-26T12:30:00Z',
    );
    try {
      await vi.waitFor(() => expect(sparkplugBroker.logins.length * central.logins.length).toBeGreaterThan(0), { timeout: 60_000 });
      expect(sparkplugBroker.logins[0]).toEqual({ clientId: 'choco-edge-linares-sparkplug', username: 'spb-node', password: 'spb-secret', protocolVersion: 4 });
      expect(central.logins[0]).toEqual({ clientId: 'choco-edge-linares-uplink', username: 'plant-linares', password: 'uplink-secret', protocolVersion: 5 });
      expect(leaks(gw, [sparkplugBroker, central])).toEqual([]);
    } finally {
      await gw.stop();
      await sparkplugBroker.stop();
      await central.stop();
    }
  });

  it('with an external broker: the gateway carries the external login, the uplink its own, and Sparkplug on another broker with no login of its own sends none (not the external one)', async () => {
    const external = await new CapturingBroker().start();
    const sparkplugBroker = await new CapturingBroker().start();
    const central = await new CapturingBroker().start();
    const { gw } = await startGateway(
      testConfig('http://127.0.0.1:9', {
        sources: { esios: { enabled: false } },
        mqtt: { external: { url: external.url, username: 'gw-user', password: 'gw-secret' } },
        sparkplug: { enabled: true, url: sparkplugBroker.url },
        uplink: { enabled: true, url: central.url, username: 'plant-linares', password: 'uplink-secret' },
      }),
      '2025-10-26T12:30:00Z',
    );
    try {
      await vi.waitFor(() => expect(external.logins.length * sparkplugBroker.logins.length * central.logins.length).toBeGreaterThan(0), { timeout: 60_000 });
      expect(external.logins.filter((l) => l.clientId === 'choco-edge-gateway')).toEqual([{ clientId: 'choco-edge-gateway', username: 'gw-user', password: 'gw-secret', protocolVersion: 4 }]);
      expect(sparkplugBroker.logins[0]).toEqual({ clientId: 'choco-edge-linares-sparkplug', username: null, password: null, protocolVersion: 4 });
      expect(central.logins[0]).toEqual({ clientId: 'choco-edge-linares-uplink', username: 'plant-linares', password: 'uplink-secret', protocolVersion: 5 });
      expect(leaks(gw, [external, sparkplugBroker, central])).toEqual([]);
    } finally {
      await gw.stop();
      await external.stop();
      await sparkplugBroker.stop();
      await central.stop();
    }
  });
});
