import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../gateway/config/schema.js';
import type { Gateway } from '../../gateway/controller.js';
import { REJECTED_PUBLISH_STRIKES, dropRejectedPublishes } from '../../gateway/mqtt/rejected-publish.js';
import { signCommand } from '../../plugins/uplink/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';
import { MOSQUITTO, Mosquitto, freePort } from '../helpers/mosquitto.js';

const NOW = '2025-10-26T12:30:00Z';
const SECRET = 'fleet-secret';

/** Counts the internal requests a command turns into on the gateway's own broker: the executions. */
async function executions(gw: Gateway): Promise<{ count: () => number; stop: () => Promise<void> }> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, { reconnectPeriod: 0 });
  let n = 0;
  c.on('message', () => n++);
  await c.subscribeAsync('choco-edge/bridge/request/job/trigger', { qos: 1 });
  return { count: () => n, stop: () => c.endAsync() };
}

// Needs Debian's mosquitto; `npm test` alone skips this file when it is missing.
describe.skipIf(!MOSQUITTO)('upstream commands through a central Mosquitto', () => {
  let upstream: Mosquitto;
  let central: MqttClient;
  let config: Config;
  const responses: Array<{ topic: string; body: Record<string, unknown> }> = [];
  const forwarded: string[] = [];
  const answersTo = (tx: string) => responses.filter((r) => r.topic === `plants/linares/response/${tx}`).map((r) => r.body);
  const send = (body: unknown) => central.publishAsync('plants/linares/command/replan', typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
  const signed = (transaction: string, timestamp: string) => {
    const c = { transaction, command: 'replan', timestamp };
    return { ...c, signature: signCommand(SECRET, c) };
  };

  beforeAll(async () => {
    upstream = new Mosquitto(await freePort());
    await upstream.start();
    const url = `mqtt://127.0.0.1:${upstream.port}`;
    config = testConfig('http://127.0.0.1:9', { sources: { esios: { enabled: false } }, uplink: { enabled: true, url, reconnectMs: 300, commandSecret: SECRET } });
    central = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    central.on('message', (topic, payload) => {
      if (topic.includes('/response/')) responses.push({ topic, body: JSON.parse(payload.toString()) });
      else forwarded.push(topic);
    });
    await central.subscribeAsync('plants/linares/#', { qos: 1 });
  });
  afterAll(async () => {
    await central?.endAsync();
    await upstream?.stop();
  });

  it('runs a signed command once: a duplicate publish, and the same command after a restart, are refused; the reply echoes its transaction', async () => {
    let { gw } = await startGateway(config, NOW);
    let counter = await executions(gw);
    let total = 0;
    try {
      await vi.waitFor(() => expect(gw.pluginHealth().uplink!.state).toBe('ok'), { timeout: 60_000 });
      const command = signed('fleet-0001', NOW);
      await send(command);
      await send(command);
      await vi.waitFor(() => expect(answersTo('fleet-0001')).toHaveLength(2), { timeout: 60_000 });
      // The duplicate may be answered first: it needs no work.
      const [ran, duplicate] = [...answersTo('fleet-0001')].sort((a, b) => Number(Boolean(a.duplicate)) - Number(Boolean(b.duplicate)));
      expect(ran).toMatchObject({ transaction: 'fleet-0001', status: 'ok' });
      expect(duplicate).toMatchObject({ transaction: 'fleet-0001', status: 'error', duplicate: true });
      total += counter.count();
      await counter.stop();
      await gw.stop();

      ({ gw } = await startGateway(config, NOW));
      counter = await executions(gw);
      await vi.waitFor(() => expect(gw.pluginHealth().uplink!.state).toBe('ok'), { timeout: 60_000 });
      await send(command);
      await vi.waitFor(() => expect(answersTo('fleet-0001')).toHaveLength(3), { timeout: 60_000 });
      expect(answersTo('fleet-0001')[2]).toMatchObject({ transaction: 'fleet-0001', status: 'error', duplicate: true });

      const minutes = (m: number) => new Date(Date.parse(NOW) + m * 60_000).toISOString();
      await send(signed('fleet-stale', minutes(-6)));
      await send(signed('fleet-future', minutes(6)));
      await vi.waitFor(() => expect(answersTo('fleet-stale').length * answersTo('fleet-future').length).toBe(1), { timeout: 60_000 });
      expect(answersTo('fleet-stale')[0]).toMatchObject({ status: 'error', error: 'timestamp more than 300 s old' });
      expect(answersTo('fleet-future')[0]).toMatchObject({ status: 'error', error: 'timestamp more than 300 s in the future' });
      total += counter.count();
      const stats = gw.pluginHealth().uplink!.details as Record<string, number>;
      expect({ executions: total, duplicatesAfterRestart: stats.duplicateCommands }).toEqual({ executions: 1, duplicatesAfterRestart: 1 });
    } finally {
      await counter.stop();
      await gw.stop();
    }
  }, 90_000);

  it('refuses a transaction id that is no topic level ({"transaction":"#"} and others) with a logged reason; the uplink keeps forwarding', async () => {
    const { gw } = await startGateway(config, NOW);
    try {
      await vi.waitFor(() => expect(gw.pluginHealth().uplink!.state).toBe('ok'), { timeout: 60_000 });
      const hostile = ['#', '+', 'a/b', '', 'x\u0000y', 'ab\ud800'];
      for (const transaction of hostile) await send({ transaction });
      await send('{"transaction":"#","command":"replan","timestamp":"' + NOW + '","signature":"00"}');
      await send({ transaction: 'after-the-attack' });
      await vi.waitFor(() => expect(answersTo('after-the-attack')).toHaveLength(1), { timeout: 60_000 });
      expect(answersTo('after-the-attack')[0]).toMatchObject({ transaction: 'after-the-attack', status: 'error', error: 'timestamp missing or not a date' });
      const before = forwarded.length;
      await gw.scheduler.trigger('health');
      await vi.waitFor(() => expect(forwarded.slice(before)).toContain('plants/linares/bridge/health'), { timeout: 60_000 });
      const stats = gw.pluginHealth().uplink!.details as Record<string, number>;
      expect(stats.refusedCommands).toBe(hostile.length + 2);
      expect(stats.droppedRejectedSends).toBe(0);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('drops a publish the broker answers by closing the connection instead of resending it on every reconnect', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, { reconnectPeriod: 100, clientId: 'poison-test' });
    const guard = dropRejectedPublishes(client, silent);
    try {
      let sends = 0;
      client.on('packetsend', (p) => {
        if (p.cmd === 'publish' && p.topic === 'plants/linares/response/#') sends++;
      });
      // Bypasses the gateway's topic check on purpose: Mosquitto closes the connection on a wildcard topic name.
      const poisoned = client.publishAsync('plants/linares/response/#', 'x', { qos: 1 }).then(() => 'acked', (e: Error) => e.message);
      expect(await poisoned).toBe('Message removed');
      expect(guard.dropped).toBe(1);
      await vi.waitFor(() => expect(client.connected).toBe(true), { timeout: 60_000 });
      await client.publishAsync('plants/linares/after-poison', 'ok', { qos: 1 });
      await vi.waitFor(() => expect(forwarded).toContain('plants/linares/after-poison'), { timeout: 60_000 });
      expect(sends).toBe(REJECTED_PUBLISH_STRIKES);
    } finally {
      await client.endAsync(true);
    }
  }, 30_000);
});
