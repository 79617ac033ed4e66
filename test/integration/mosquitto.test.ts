import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';
import { MOSQUITTO, Mosquitto, freePort } from '../helpers/mosquitto.js';

// Needs Debian's mosquitto (.ci/run installs it); `npm test` alone skips this file.
describe.skipIf(!MOSQUITTO)('interop with an external Mosquitto broker', () => {
  const server = new FixtureServer();
  let broker: Mosquitto;
  let gw: Gateway;
  let url: string;

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    broker = new Mosquitto(await freePort());
    await broker.start();
    url = `mqtt://127.0.0.1:${broker.port}`;
    ({ gw } = await startGateway(testConfig(server.base, { mqtt: { external: { url } }, sources: { esios: { enabled: false } } }), '2025-10-26T12:30:00Z'));
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
    await server.stop();
  });

  it('publishes retained state and prices to Mosquitto, with no embedded broker running', async () => {
    expect(gw.broker).toBeUndefined();
    const sub = await subscriber(url, 'choco-edge/#');
    expect((await sub.waitFor('choco-edge/bridge/state')).state).toBe('online');
    const prices = await sub.waitFor('choco-edge/prices/omie_es', (p) => p.current !== null);
    expect(prices.horizon.length).toBeGreaterThan(0);
    await sub.client.endAsync();
  });

  it('Mosquitto delivers the LWT when the gateway connection dies', async () => {
    const sub = await subscriber(url, 'choco-edge/bridge/state');
    await sub.waitFor('choco-edge/bridge/state', (p) => p.state === 'online');
    (gw.mqtt as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    expect((await sub.waitFor('choco-edge/bridge/state', (p) => p.state === 'offline')).state).toBe('offline');
    await vi.waitFor(() => expect(gw.mqtt.connected).toBe(true), { timeout: 60_000 });
    await sub.client.endAsync();
  });

  it('after the broker restarts empty, the gateway reconnects and restores its retained state', async () => {
    await broker.stop();
    await vi.waitFor(() => expect(gw.mqtt.connected).toBe(false), { timeout: 60_000 });
    const health = await (await fetch(`${gw.http!.url}/healthz`)).json();
    expect(health.reasons).toContain('MQTT broker not connected; reconnecting');
    await broker.start();
    await vi.waitFor(() => expect(gw.mqtt.connected).toBe(true), { timeout: 60_000 });
    const sub = await subscriber(url, 'choco-edge/#');
    const prices = await sub.waitFor('choco-edge/prices/omie_es');
    expect(prices.series).toBe('omie_es');
    expect((await sub.waitFor('choco-edge/bridge/info')).plugins).toContain('omie');
    expect(sub.messages.every((m) => m.retain)).toBe(true);
    await sub.client.endAsync();
  });
});

describe.skipIf(!MOSQUITTO)('external Mosquitto over TLS with username and password', () => {
  it('connects with the configured CA and credentials, and refuses an untrusted server', async () => {
    const server = await new FixtureServer().start();
    server.routes = recordedRoutes();
    const port = await freePort();
    const probe = new Mosquitto(port);
    const tls = probe.makeTlsFiles();
    const passwords = probe.makePasswordFile('choco-edge', 's3cret-pass');
    const broker = new Mosquitto(port, [`cafile ${tls.ca}`, `certfile ${tls.cert}`, `keyfile ${tls.key}`, 'allow_anonymous false', `password_file ${passwords}`]);
    await broker.start();
    const external = { url: `mqtts://127.0.0.1:${port}`, username: 'choco-edge', password: 's3cret-pass', ca: tls.ca };
    const { gw } = await startGateway(testConfig(server.base, { mqtt: { external }, sources: { esios: { enabled: false } } }), '2025-10-26T12:30:00Z');
    try {
      await vi.waitFor(() => expect(gw.mqtt.connected).toBe(true), { timeout: 60_000 });
    } finally {
      await gw.stop();
    }
    const { gw: untrusted } = await startGateway(testConfig(server.base, { mqtt: { external: { ...external, ca: undefined } }, sources: { esios: { enabled: false } } }), '2025-10-26T12:30:00Z');
    try {
      expect(untrusted.mqtt.connected).toBe(false);
      const health = await (await fetch(`${untrusted.http!.url}/healthz`)).json();
      expect(health.mqtt.connected).toBe(false);
    } finally {
      await untrusted.stop();
      await broker.stop();
      await server.stop();
    }
  });
});

describe.skipIf(!MOSQUITTO)('the plan over a real Mosquitto', () => {
  it('subscribers get the retained plan and line commands, also after the broker restarts empty', async () => {
    const broker = new Mosquitto(await freePort());
    await broker.start();
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const config = testConfig('http://127.0.0.1:9', { mqtt: { external: { url } }, sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } } });
    const { gw } = await startGateway(config, '2018-04-02T10:00:00Z');
    try {
      await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), { timeout: 60_000 });
      await gw.scheduler.trigger('predictions');
      await gw.scheduler.trigger('planning');
      const first = await subscriber(url, 'choco-edge/#');
      const plan = await first.waitFor('choco-edge/plan');
      expect((await first.waitFor('choco-edge/lines/refining/command')).plan_id).toBe(plan.plan_id);
      await first.client.endAsync();
      await broker.stop();
      await broker.start();
      await vi.waitFor(() => expect(gw.mqtt.connected).toBe(true), { timeout: 60_000 });
      const later = await subscriber(url, 'choco-edge/#');
      expect((await later.waitFor('choco-edge/plan')).plan_id).toBe(plan.plan_id);
      expect((await later.waitFor('choco-edge/lines/tempering/command')).plan_id).toBe(plan.plan_id);
      await later.client.endAsync();
    } finally {
      await gw.stop();
      await broker.stop();
    }
  });
});

describe.skipIf(!MOSQUITTO)('fleet uplink to a central Mosquitto', () => {
  it('forwards under the site prefix with the pipeline version, keeps a backlog while upstream is down, drains it complete and in order, and answers signed commands', async () => {
    const { signCommand } = await import('../../plugins/uplink/index.js');
    const upstream = new Mosquitto(await freePort());
    await upstream.start();
    const url = `mqtt://127.0.0.1:${upstream.port}`;
    const server = await new FixtureServer().start();
    server.routes = recordedRoutes();
    const config = testConfig(server.base, { sources: { esios: { enabled: false } }, uplink: { enabled: true, url, reconnectMs: 1500, commandSecret: 'fleet-secret' } });
    const { gw, clock } = await startGateway(config, '2025-10-26T12:30:00Z');
    const received: Array<{ topic: string; seq: number; pipeline: string }> = [];
    const central = async () => {
      const c = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
      c.on('message', (topic, _payload, packet) => {
        const props = (packet.properties?.userProperties ?? {}) as Record<string, string>;
        received.push({ topic, seq: Number(props.seq), pipeline: props.pipeline ?? '' });
      });
      await c.subscribeAsync('plants/linares/#', { qos: 1 });
      return c;
    };
    try {
      let sub = await central();
      await vi.waitFor(() => expect(received.some((m) => m.topic === 'plants/linares/prices/omie_es')).toBe(true), { timeout: 60_000 });
      expect(received[0]!.pipeline).toMatch(/^\d+\.\d+\.\d+$/);
      await sub.endAsync();
      await upstream.stop();
      await vi.waitFor(() => expect((gw.pluginHealth().uplink!.details as { queued: number }).queued).toBeGreaterThan(0), { timeout: 60_000 });
      const before = received.length;
      for (let i = 0; i < 5; i++) {
        await clock.advance(15 * 60_000);
        await gw.scheduler.trigger('health');
      }
      await vi.waitFor(async () => expect(await gw.store.outboxCount()).toBeGreaterThanOrEqual(5), { timeout: 60_000 });
      const backlog = await gw.store.outboxCount();
      await upstream.start();
      sub = await central();
      await vi.waitFor(async () => expect(await gw.store.outboxCount()).toBe(0), { timeout: 60_000 });
      await vi.waitFor(() => expect(received.length - before).toBeGreaterThanOrEqual(backlog), { timeout: 60_000 });
      const seqs = received.slice(before).map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs.at(-1)! - seqs[0]! + 1).toBe(seqs.length);
      const responses: Record<string, { status: string; error?: string }> = {};
      const cmd = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
      cmd.on('message', (topic, payload) => (responses[topic.split('/').at(-1)!] = JSON.parse(payload.toString())));
      await cmd.subscribeAsync('plants/linares/response/#', { qos: 1 });
      const timestamp = new Date(clock.now()).toISOString();
      const good = { transaction: 't-ok', command: 'replan', timestamp };
      await cmd.publishAsync('plants/linares/command/replan', JSON.stringify({ ...good, signature: signCommand('fleet-secret', good) }), { qos: 1 });
      await cmd.publishAsync('plants/linares/command/replan', JSON.stringify({ ...good, transaction: 't-bad', signature: 'f'.repeat(64) }), { qos: 1 });
      await vi.waitFor(() => expect(Object.keys(responses).sort()).toEqual(['t-bad', 't-ok']), { timeout: 60_000 });
      expect(responses['t-ok']!.status).toBe('ok');
      expect(responses['t-bad']).toMatchObject({ status: 'error', error: 'bad signature' });
      await cmd.endAsync();
      await sub.endAsync();
    } finally {
      await gw.stop();
      await upstream.stop();
      await server.stop();
    }
  }, 60_000);
});
