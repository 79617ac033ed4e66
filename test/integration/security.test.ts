import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { allowed, hashPassword, verifyPassword } from '../../gateway/mqtt/auth.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, subscriber } from '../helpers/gateway.js';

describe('MQTT passwords and topic ACLs on the embedded broker', () => {
  let gw: Gateway;
  let url: string;
  const connect = (opts: mqtt.IClientOptions) => mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });

  beforeAll(async () => {
    const users = [
      { username: 'conching-plc', passwordHash: hashPassword('plc-pass'), role: 'line', lines: ['conching'] },
      { username: 'scada', passwordHash: hashPassword('scada-pass'), role: 'viewer' },
    ];
    ({ gw } = await startGateway(testConfig('http://127.0.0.1:9', { mqtt: { embedded: { allowAnonymous: false, users } }, sources: { esios: { enabled: false } } }), '2025-10-26T12:30:00Z'));
    url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
  });
  afterAll(() => gw?.stop());

  it('hashes with scrypt and verifies', () => {
    const h = hashPassword('x');
    expect(h).toMatch(/^scrypt:/);
    expect(verifyPassword('x', h)).toBe(true);
    expect(verifyPassword('y', h)).toBe(false);
    expect(allowed({ role: 'line', lines: ['a'] }, 'b', 'subscribe', 'b/lines/+/command')).toBe(false);
  });

  it('refuses anonymous clients and wrong passwords; the gateway itself keeps publishing', async () => {
    await expect(connect({})).rejects.toThrow(/Not authorized|Bad username|identifier|refused/i);
    await expect(connect({ username: 'scada', password: 'wrong' })).rejects.toThrow();
    expect(gw.mqtt.connected).toBe(true);
  });

  it('lets a line controller read only its own commands and write only its own acknowledgements', async () => {
    const plc = await connect({ username: 'conching-plc', password: 'plc-pass' });
    expect((await plc.subscribeAsync('choco-edge/lines/conching/command'))[0]!.qos).toBe(0);
    await expect(plc.subscribeAsync('choco-edge/lines/mixing/command')).rejects.toThrow(/Subscribe error/);
    await expect(plc.subscribeAsync('choco-edge/#')).rejects.toThrow(/Subscribe error/);
    const viewer = await connect({ username: 'scada', password: 'scada-pass' });
    const seen: string[] = [];
    viewer.on('message', (t) => seen.push(t));
    await viewer.subscribeAsync('choco-edge/lines/#');
    await plc.publishAsync('choco-edge/lines/conching/set', JSON.stringify({ command: 'ack', plan_id: 'p' }), { qos: 1 }).catch(() => undefined);
    const other = await connect({ username: 'conching-plc', password: 'plc-pass', clientId: 'plc-2' });
    const refusedBefore = gw.broker!.refused;
    await other.publishAsync('choco-edge/lines/mixing/set', JSON.stringify({ command: 'stop' }), { qos: 0 });
    // Wait for the broker's decisions (the allowed message delivered, the refused one counted), not for a fixed time.
    await vi.waitFor(() => expect(seen).toContain('choco-edge/lines/conching/set'), { timeout: 60_000 });
    await vi.waitFor(() => expect(gw.broker!.refused).toBeGreaterThan(refusedBefore), { timeout: 60_000 });
    expect(seen).not.toContain('choco-edge/lines/mixing/set');
    expect(gw.broker!.refused).toBeGreaterThan(0);
    await viewer.endAsync();
    await plc.endAsync();
    await other.endAsync(true);
  });
});

describe('the embedded broker under client churn', () => {
  it('serves 300 clients connecting and disconnecting while the gateway stays connected and publishing', async () => {
    // Churn, not a flood: all 300 come from 127.0.0.1, so this test lifts the per-address limits (test/integration/attack.test.ts holds them).
    const limits = { maxConnectionsPerAddress: 512, connectBurstPerAddress: 1000, connectsPerSecondPerAddress: 1000 };
    const { gw } = await startGateway(testConfig('http://127.0.0.1:9', { mqtt: { embedded: { limits } }, sources: { esios: { enabled: false } } }), '2025-10-26T12:30:00Z');
    try {
      const url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
      let ok = 0;
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `churn-${round}-${i}` });
            await c.subscribeAsync('choco-edge/bridge/state');
            if (i % 3 === 0) c.stream.destroy();
            else await c.endAsync();
            ok++;
          }),
        );
      }
      expect(ok).toBe(300);
      expect(gw.mqtt.connected).toBe(true);
      const sub = await subscriber(url, 'choco-edge/bridge/state');
      expect((await sub.waitFor('choco-edge/bridge/state')).state).toBe('online');
      await sub.client.endAsync();
      await vi.waitFor(() => expect(gw.broker!.connectedClients).toBeLessThanOrEqual(2), { timeout: 60_000 });
    } finally {
      await gw.stop();
    }
  });
});

describe('TLS on the embedded broker and HTTPS', () => {
  it('serves MQTT over TLS and the API over HTTPS with the configured certificate', async () => {
    const { Mosquitto, freePort } = await import('../helpers/mosquitto.js');
    const { get } = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const tls = new Mosquitto(await freePort()).makeTlsFiles();
    const { gw } = await startGateway(
      testConfig('http://127.0.0.1:9', { http: { tls: { cert: tls.cert, key: tls.key } }, mqtt: { embedded: { tls: { port: 0, cert: tls.cert, key: tls.key } } }, sources: { esios: { enabled: false } } }),
      '2025-10-26T12:30:00Z',
    );
    try {
      expect(gw.http!.url).toMatch(/^https:\/\//);
      const body = await new Promise<string>((resolve, reject) => {
        get(`${gw.http!.url}/health`, { ca: readFileSync(tls.ca) }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect(JSON.parse(body).status).toBe('ok');
      const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${gw.brokerPorts!.tlsPort}`, { ca: readFileSync(tls.ca), reconnectPeriod: 0 });
      const state = await new Promise<string>((resolve) => {
        client.on('message', (_t, p) => resolve(JSON.parse(p.toString()).state));
        void client.subscribeAsync('choco-edge/bridge/state');
      });
      expect(state).toBe('online');
      await client.endAsync();
      await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${gw.brokerPorts!.tlsPort}`, { reconnectPeriod: 0, connectTimeout: 2000 })).rejects.toThrow(/self.signed|certificate/i);
    } finally {
      await gw.stop();
    }
  });
});
