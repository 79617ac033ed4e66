import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { allowed, hashPassword, verifyPassword } from '../../gateway/mqtt/auth.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

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
    await other.publishAsync('choco-edge/lines/mixing/set', JSON.stringify({ command: 'stop' }), { qos: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toContain('choco-edge/lines/conching/set');
    expect(seen).not.toContain('choco-edge/lines/mixing/set');
    expect(gw.broker!.refused).toBeGreaterThan(0);
    await viewer.endAsync();
    await plc.endAsync();
    await other.endAsync(true);
  });
});
