import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { codec, toNumber } from '../../plugins/sparkplug/index.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';
import mqtt from 'mqtt';

const NOW = '2018-04-02T10:00:00Z';

describe('Sparkplug B, Home Assistant discovery and notifications', () => {
  const hooks = new FixtureServer();
  let gw: Gateway;
  let url: string;
  const decoded: Array<{ topic: string; seq: number | null; metrics: Record<string, unknown> }> = [];
  let spy: mqtt.MqttClient;

  beforeAll(async () => {
    await hooks.start();
    hooks.routes = [() => ({ body: '{"ok":true}' })];
    const config = testConfig('http://127.0.0.1:9', {
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } },
      sparkplug: { enabled: true, groupId: 'plants' },
      homeAssistant: { enabled: true },
      notify: { minLevel: 'info', perMinute: 2, webhookUrl: `${hooks.base}/hook`, telegram: { baseUrl: hooks.base, token: 'bot-secret-token', chatId: '42' } },
    });
    ({ gw } = await startGateway(config, NOW));
    url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
    spy = await mqtt.connectAsync(url);
    spy.on('message', (topic, payload) => {
      const p = codec.decodePayload(payload);
      decoded.push({ topic, seq: p.seq === undefined || p.seq === null ? null : toNumber(p.seq), metrics: Object.fromEntries(p.metrics.map((m) => [m.name, m.value])) });
    });
    await spy.subscribeAsync('spBv1.0/plants/#');
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), { timeout: 60_000 });
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('predictions');
  });
  afterAll(async () => {
    await spy?.endAsync();
    await gw?.stop();
    await hooks.stop();
  });

  it('is born with a bdSeq, one DBIRTH per line and increasing seq; DDATA follows each plan', async () => {
    // Ask for a rebirth so that this subscriber sees the whole birth sequence.
    await spy.publishAsync('spBv1.0/plants/NCMD/linares', Buffer.from(codec.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })));
    await vi.waitFor(() => expect(decoded.filter((d) => d.topic.includes('/DBIRTH/')).length).toBeGreaterThanOrEqual(4), { timeout: 60_000 });
    const nbirth = decoded.find((d) => d.topic === 'spBv1.0/plants/NBIRTH/linares')!;
    expect(nbirth.seq).toBe(0);
    expect(typeof toNumber(nbirth.metrics.bdSeq)).toBe('number');
    const births = decoded.filter((d) => d.topic.startsWith('spBv1.0/plants/DBIRTH/linares/'));
    expect(births.map((d) => d.topic.split('/').at(-1)).sort()).toEqual(['conching', 'mixing', 'refining', 'tempering']);
    expect(births.map((d) => d.seq)).toEqual([1, 2, 3, 4]);
    await gw.scheduler.trigger('planning');
    await vi.waitFor(() => expect(decoded.some((d) => d.topic === 'spBv1.0/plants/DDATA/linares/conching')).toBe(true), { timeout: 60_000 });
    const ddata = decoded.find((d) => d.topic === 'spBv1.0/plants/DDATA/linares/conching')!;
    // DDATA carries what changed since the DBIRTH (report by exception): the two together give the line's state.
    const state = { ...births.find((d) => d.topic.endsWith('/conching'))!.metrics, ...ddata.metrics };
    expect(['run', 'idle', 'halt']).toContain(state.command);
    expect(Object.keys(ddata.metrics).length).toBeGreaterThan(0);
    expect(ddata.seq).toBeGreaterThan(4);
    // The line carries its batch id; the node the plan's recommendation for this hour, the same as on MQTT.
    expect(typeof toNumber(state.batch)).toBe('number');
    const plan = gw.planner()!.current()!;
    const hour = plan.hours.find((h) => Date.parse(h.start) <= gw.clock.now() && Date.parse(h.start) + 3_600_000 > gw.clock.now())!;
    await vi.waitFor(() => expect({ ...nbirth.metrics, ...Object.assign({}, ...decoded.filter((d) => d.topic === 'spBv1.0/plants/NDATA/linares').map((d) => d.metrics)) }['plan/recommendation']).toBe(hour.recommendation), { timeout: 60_000 });
  });

  it('announces Home Assistant sensors with availability on the bridge state', async () => {
    const sub = await subscriber(url, 'homeassistant/sensor/#');
    const cfg = await sub.waitFor('homeassistant/sensor/choco_edge_linares/recommendation/config');
    expect(cfg).toMatchObject({ state_topic: 'choco-edge/recommendation/current', availability_topic: 'choco-edge/bridge/state', unique_id: 'choco_edge_linares_recommendation' });
    expect((await sub.waitFor('homeassistant/sensor/choco_edge_linares/price/config')).state_topic).toBe('choco-edge/prices/omie_es');
    await sub.client.endAsync();
  });

  it('sends alerts to a webhook and a Telegram-style bot, rate-limited, with the stable code', async () => {
    await vi.waitFor(() => expect(hooks.requests.filter((r) => r.path === '/hook').length).toBeGreaterThan(0), { timeout: 60_000 });
    const hook = JSON.parse(hooks.requests.find((r) => r.path === '/hook')!.body);
    expect(hook).toMatchObject({ site: 'linares', code: expect.any(String), level: expect.stringMatching(/info|warning|critical/) });
    const bot = hooks.requests.find((r) => r.path === '/botbot-secret-token/sendMessage')!;
    expect(JSON.parse(bot.body)).toMatchObject({ chat_id: '42', text: expect.stringMatching(/^\[(INFO|WARNING|CRITICAL)\] [A-Z_]+ /) });
    for (let i = 0; i < 5; i++) gw.bus.emit('alert', { code: 'TEST', level: 'critical', message: `burst ${i}`, at: Date.parse(NOW) + i });
    // Wait until the burst has been handled (each of its 10 posts sent or dropped), not for a fixed time.
    const notify = gw.plugins.get('notify')!.plugin as unknown as { dropped(): number };
    await vi.waitFor(() => expect(notify.dropped()).toBeGreaterThanOrEqual(6), { timeout: 60_000 });
    expect(hooks.requests.filter((r) => r.path === '/hook').length).toBeLessThanOrEqual(2);
    expect(JSON.stringify(gw.pluginHealth().notify)).not.toContain('bot-secret-token');
  });

  it('announces NDEATH with the session bdSeq when it goes, and the next session is born with the next bdSeq', async () => {
    const born = toNumber(decoded.filter((d) => d.topic.endsWith('/NBIRTH/linares')).at(-1)!.metrics.bdSeq);
    const config = gw.config;
    await gw.stop();
    await vi.waitFor(() => expect(decoded.some((d) => d.topic === 'spBv1.0/plants/NDEATH/linares')).toBe(true), { timeout: 60_000 });
    expect(toNumber(decoded.find((d) => d.topic === 'spBv1.0/plants/NDEATH/linares')!.metrics.bdSeq)).toBe(born);
    await spy.endAsync();
    ({ gw } = await startGateway({ ...config, mqtt: { ...config.mqtt, embedded: { ...config.mqtt.embedded, port: gw.brokerPorts!.port } } }, NOW));
    spy = await mqtt.connectAsync(url);
    spy.on('message', (topic, payload) => {
      const p = codec.decodePayload(payload);
      decoded.push({ topic, seq: p.seq === undefined || p.seq === null ? null : toNumber(p.seq), metrics: Object.fromEntries(p.metrics.map((m) => [m.name, m.value])) });
    });
    await spy.subscribeAsync('spBv1.0/plants/#');
    await spy.publishAsync('spBv1.0/plants/NCMD/linares', Buffer.from(codec.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })));
    await vi.waitFor(() => expect(toNumber(decoded.filter((d) => d.topic.endsWith('/NBIRTH/linares')).at(-1)!.metrics.bdSeq)).toBe(born + 1), { timeout: 60_000 });
  });
});
