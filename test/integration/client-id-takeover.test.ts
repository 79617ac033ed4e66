import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { hashPassword } from '../../gateway/mqtt/auth.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, type Collected } from '../helpers/gateway.js';

/** Issue #14.1: a user connecting with the gateway's client id used to kick the gateway (bridge/state flapped). */
describe('the embedded broker keeps the gateway’s client ids for the gateway', () => {
  let gw: Gateway;
  let url: string;
  let state: Collected;
  const connect = (opts: mqtt.IClientOptions) => mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  const users = [
    { username: 'conching-plc', passwordHash: hashPassword('plc-pass'), role: 'line', lines: ['conching'], clientIdPattern: 'conching-plc-[0-9]+' },
    { username: 'scada', passwordHash: hashPassword('scada-pass'), role: 'viewer' },
    { username: 'ops', passwordHash: hashPassword('ops-pass'), role: 'admin' },
  ];

  beforeAll(async () => {
    ({ gw } = await startGateway(
      testConfig('http://127.0.0.1:9', { mqtt: { embedded: { allowAnonymous: false, users } }, sparkplug: { enabled: true }, sources: { esios: { enabled: false } } }),
      '2025-10-26T12:30:00Z',
    ));
    url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
    state = await (async () => {
      const client = await connect({ username: 'ops', password: 'ops-pass', clientId: 'ops-watch' });
      const messages: Collected['messages'] = [];
      client.on('message', (topic, payload, packet) => messages.push({ topic, payload: JSON.parse(payload.toString()), retain: packet.retain }));
      await client.subscribeAsync('choco-edge/bridge/state', { qos: 1 });
      return { client, messages, last: () => messages.at(-1)?.payload, waitFor: async () => undefined };
    })();
    await vi.waitFor(() => expect(state.messages.at(-1)?.payload.state).toBe('online'), { timeout: 60_000 });
  }, 30_000);
  afterAll(async () => {
    await state?.client.endAsync();
    await gw?.stop();
  });

  it('refuses the gateway’s, Sparkplug’s, the uplink’s and the internal client id to line, viewer and admin users; bridge/state does not flap', async () => {
    await vi.waitFor(() => expect(gw.pluginHealth().sparkplug!.state).toBe('ok'), { timeout: 60_000 });
    const births = (gw.pluginHealth().sparkplug!.details as { births: number }).births;
    const reserved = ['choco-edge-gateway', 'choco-edge-linares-sparkplug', 'choco-edge-linares-uplink', 'choco-edge-internal'];
    const logins = [
      { username: 'conching-plc', password: 'plc-pass' },
      { username: 'scada', password: 'scada-pass' },
      { username: 'ops', password: 'ops-pass' },
    ];
    const refusedBefore = gw.broker!.refused;
    let attempts = 0;
    for (let round = 0; round < 2; round++) {
      for (const clientId of reserved) {
        for (const login of logins) {
          attempts++;
          await expect(connect({ ...login, clientId })).rejects.toThrow(/Identifier rejected/i);
        }
      }
    }
    expect(gw.broker!.refused - refusedBefore).toBe(attempts);
    // A round trip through the broker after the last attempt: anything it did to the gateway's session has happened.
    const probe = await connect({ username: 'ops', password: 'ops-pass', clientId: 'ops-probe' });
    await probe.endAsync();
    const flaps = state.messages.filter((m) => m.payload.state === 'offline').length;
    expect({ attempts, flaps, gatewayConnects: gw.mqtt.connects, sparkplugBirths: (gw.pluginHealth().sparkplug!.details as { births: number }).births }).toEqual({ attempts: 24, flaps: 0, gatewayConnects: 1, sparkplugBirths: births });
    expect(gw.mqtt.connected).toBe(true);
  });

  it('limits a user’s client ids to its configured pattern', async () => {
    await expect(connect({ username: 'conching-plc', password: 'plc-pass', clientId: 'anything' })).rejects.toThrow(/Identifier rejected/i);
    const plc: MqttClient = await connect({ username: 'conching-plc', password: 'plc-pass', clientId: 'conching-plc-7' });
    expect(plc.connected).toBe(true);
    await plc.endAsync();
  });

  it('the will says offline without claiming a time; the next online message carries the time of connecting', async () => {
    const before = state.messages.length;
    (gw.mqtt as unknown as { client: MqttClient }).client.stream.destroy();
    await vi.waitFor(() => expect(state.messages.slice(before).map((m) => m.payload.state)).toEqual(['offline', 'online']), { timeout: 60_000 });
    const [offline, online] = state.messages.slice(before).map((m) => m.payload);
    expect(offline).toEqual({ v: 1, state: 'offline', at: null });
    expect(online.at).toBe(new Date(gw.clock.now()).toISOString());
  });
});
