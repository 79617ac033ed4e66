import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { codec } from '../../plugins/sparkplug/index.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, subscriber, type Collected } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

const NOW = '2018-04-02T10:00:00Z';
const TOKEN = 'http-test-token';
const registers = { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104 };

/**
 * The write-nothing mode (outputs.dryRun) end to end: the gateway plans against the replayed prices, its line
 * output talks to a real Modbus TCP server (modbus-serial ServerTCP) that records every write, Sparkplug and the
 * MQTT line commands go through the embedded broker. While the mode is on the PLC receives no write at all and
 * no line command is published; switched off through the authenticated API it writes what it had shown.
 */
describe('outputs.dryRun: plan and show every write, send none, until switched off', () => {
  let plc: FakePlc;
  let gw: Gateway;
  let http: string;
  let lines: Collected;
  let spy: mqtt.MqttClient;
  const births: Array<{ topic: string; metrics: Record<string, unknown> }> = [];

  beforeAll(async () => {
    plc = new FakePlc(await freePort());
    // A real PLC has these registers from power-on.
    for (const a of [100, 101, 102, 103, 104]) plc.holding.set(a, 0);
    await plc.start();
    const config = testConfig('http://127.0.0.1:9', {
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } },
      sparkplug: { enabled: true, groupId: 'plants' },
      outputs: { dryRun: true },
      lines: [{ line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 100, timeoutMs: 500, maxBackoffMs: 400, registers }],
    });
    ({ gw } = await startGateway(config, NOW));
    http = gw.http!.url;
    const url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
    lines = await subscriber(url, 'choco-edge/#');
    spy = await mqtt.connectAsync(url);
    spy.on('message', (topic, payload) => {
      if (topic.includes('BIRTH')) births.push({ topic, metrics: Object.fromEntries(codec.decodePayload(payload).metrics.map((m) => [m.name, m.value])) });
    });
    await spy.subscribeAsync('spBv1.0/plants/#');
    await gw.scheduler.trigger('predictions');
    await gw.scheduler.trigger('planning');
  }, 120_000);
  afterAll(async () => {
    await spy?.endAsync();
    await lines?.client.endAsync();
    await gw?.stop();
    await plc?.stop();
    if (gw) rmSync(gw.config.dataDir, { recursive: true, force: true });
  });

  const writers = () => (gw.plugins.get('modbus-lines')!.plugin as unknown as { writers(): Record<string, { writes: number; dryCycles: number; lastWritten: { state: { command: string; powerKw: number; validUntil: number } } | null }> }).writers();
  const status = async () => (await fetch(`${http}/api/outputs`)).json() as Promise<{ dry_run: boolean; would_write: Array<{ via: string; target: string; values: Record<string, unknown> }>; switches: Array<{ dry_run: boolean; by: string; reason: string }> }>;
  const post = (body: unknown, token?: string) =>
    fetch(`${http}/api/outputs/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

  it('writes nothing to the PLC and publishes no line command, but shows each one (API, page, MQTT, Sparkplug)', async () => {
    // Several watchdog cycles of the line output have run in the mode (each one reads the PLC, writes nothing).
    await vi.waitFor(() => expect(writers().conching!.dryCycles).toBeGreaterThanOrEqual(5), { timeout: 60_000 });
    const shown = await status();
    expect(shown.dry_run).toBe(true);
    const vias = shown.would_write.map((w) => w.via).sort();
    expect(vias).toEqual(expect.arrayContaining(['modbus', 'mqtt', 'sparkplug']));
    const modbus = shown.would_write.find((w) => w.via === 'modbus')!;
    expect(Object.keys(modbus.values)).toEqual(['100 command', '101 power_setpoint_kw_x10', '102 valid_until_hi', '103 valid_until_lo']);
    expect(shown.would_write.filter((w) => w.via === 'mqtt').map((w) => w.target).sort()).toEqual(['lines/conching/command', 'lines/mixing/command', 'lines/refining/command', 'lines/tempering/command']);

    expect(plc.writes).toEqual([]);
    expect(writers().conching!.writes).toBe(0);
    expect(plc.requests).toBeGreaterThan(0); // it did talk to the PLC: reads only
    // An empty payload is the clearing of a retained command (nothing retained from an earlier live run), not a command.
    expect(lines.messages.filter((m) => /\/lines\/[^/]+\/command$/.test(m.topic) && m.payload !== '')).toEqual([]);
    const retained = await lines.waitFor('choco-edge/outputs/dry-run', (p) => p.dry_run === true && p.would_write.length >= 3);
    expect(retained.would_write.map((w: { via: string }) => w.via)).toEqual(expect.arrayContaining(['modbus', 'mqtt', 'sparkplug']));
    expect((await lines.waitFor('choco-edge/lines/conching/state')).state).toBe('dry_run');

    // Sparkplug: no `command` metric is born, only what it would be.
    await spy.publishAsync('spBv1.0/plants/NCMD/linares', Buffer.from(codec.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })));
    await vi.waitFor(() => expect(births.some((b) => b.topic.endsWith('/DBIRTH/linares/conching'))).toBe(true), { timeout: 30_000 });
    const birth = births.find((b) => b.topic.endsWith('/DBIRTH/linares/conching'))!;
    expect(birth.metrics).not.toHaveProperty('command');
    expect(birth.metrics).toHaveProperty('would/command');
    expect(births.find((b) => b.topic.endsWith('/NBIRTH/linares'))!.metrics['outputs/dry_run']).toBe(true);

    const page = (await (await fetch(`${http}/api/status`)).json()) as { outputs: { dry_run: boolean; held_back: number } };
    expect(page.outputs).toMatchObject({ dry_run: true });
    expect(page.outputs.held_back).toBeGreaterThanOrEqual(3);
  });

  it('refuses a switch without the token or without a reason, and still writes nothing', async () => {
    expect((await post({ dry_run: false, reason: 'going live' })).status).toBe(401);
    expect((await post({ dry_run: false, reason: 'going live' }, 'wrong-token-000')).status).toBe(401);
    expect((await post({ dry_run: false }, TOKEN)).status).toBe(400);
    expect((await post({ dry_run: 'no', reason: 'going live' }, TOKEN)).status).toBe(400);
    // Only a JSON boolean switches the plant: no type coercion of null, 0, "false" (they once switched it live).
    for (const wrong of [null, 0, 1, 'false', 'true', '', [false]]) {
      const res = await post({ dry_run: wrong, reason: 'script with an unset variable' }, TOKEN);
      expect(res.status, JSON.stringify(wrong)).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/^body\/dry_run must be a JSON boolean \(true or false\), got /);
    }
    expect((await post({ dry_run: true, reason: 12345 }, TOKEN)).status).toBe(400);
    expect((await post({ dry_run: true, reason: 'ok reason', line: 7 }, TOKEN)).status).toBe(400);
    // One line live while the whole gateway is in dry run: refused with the way out, not a silent 200.
    const held = await post({ dry_run: false, reason: 'conching commissioned', line: 'conching' }, TOKEN);
    expect(held.status).toBe(409);
    expect(((await held.json()) as { message: string }).message).toMatch(/switch the global mode off first/);
    // The other bodies that change the plant are not coerced either: the plan's quota and contracted power.
    const plan = (path: string, body: unknown) => fetch(`${http}/api/plan/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    for (const path of ['apply', 'preview']) {
      for (const body of [{ contractedKw: '500' }, { contractedKw: null }, { quota: { conching: '3' } }, { quota: { conching: true } }, { quota: { conching: null } }]) {
        const res = await plan(path, body);
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect(((await res.json()) as { message: string }).message).toMatch(/^body\/(contractedKw|quota\/conching) must be a JSON (number|integer)/);
      }
    }
    expect((await post({ dry_run: false, reason: 'going live', extra: 1 }, TOKEN)).status).toBe(400);
    // The same change over MQTT (bridge/request/plan/apply, also the uplink's "quota" command): exact types too.
    const bridge = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/bridge/response/#');
    for (const [i, quota] of [{ conching: '3' }, { conching: null }, { conching: 2.5 }, { conching: 99 }].entries()) {
      await bridge.client.publishAsync('choco-edge/bridge/request/plan/apply', JSON.stringify({ transaction: `typed-${i}`, quota }), { qos: 1 });
      const answer = await bridge.waitFor('choco-edge/bridge/response/plan/apply', (p) => p.transaction === `typed-${i}`);
      expect(answer, JSON.stringify(quota)).toMatchObject({ status: 'error' });
      expect(answer.error).toMatch(/^quota of "conching" must be a JSON integer from 0 to 24 \(batches per day\), got /);
    }
    await bridge.client.endAsync();
    const cycles = writers().conching!.dryCycles;
    await vi.waitFor(() => expect(writers().conching!.dryCycles).toBeGreaterThan(cycles + 2), { timeout: 30_000 });
    expect(plc.writes).toEqual([]);
    expect((await status()).dry_run).toBe(true);
  });

  it('switched off through the API: writes exactly what it had shown, publishes the line command, audits the switch', async () => {
    const shown = (await status()).would_write.find((w) => w.via === 'modbus')!.values;
    const res = await post({ dry_run: false, reason: 'conching PLC fallback tested, going live' }, TOKEN);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ changed: true, dry_run: false, would_write: [] });
    await vi.waitFor(() => expect(writers().conching!.writes).toBeGreaterThanOrEqual(2), { timeout: 30_000 });
    // The PLC now holds what the dry run showed (the clock is a fake one: the plan's state has not moved).
    for (const [key, value] of Object.entries(shown)) expect(plc.holding.get(Number(key.split(' ')[0]))).toBe(value);
    const addresses = new Set(plc.writes.map((w) => w.address));
    expect([...addresses].sort()).toEqual([100, 101, 102, 103, 104]);
    const heartbeats = plc.writes.filter((w) => w.address === 104).map((w) => w.value);
    // The watchdog's heartbeat advances with each write (a cycle cut short by the fresh plan may skip one).
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < heartbeats.length; i++) expect(heartbeats[i]!).toBeGreaterThan(heartbeats[i - 1]!);
    const command = await lines.waitFor('choco-edge/lines/conching/command');
    expect(command.line).toBe('conching');
    expect((await lines.waitFor('choco-edge/lines/conching/state', (p) => p.state === 'ok')).written).not.toBeNull();

    const audit = (await status()).switches;
    expect(audit.at(-1)).toMatchObject({ dry_run: false, by: 'http 127.0.0.1', reason: 'conching PLC fallback tested, going live' });
    expect(audit.at(-2)).toMatchObject({ dry_run: true, by: 'config' });
    expect(gw.alerts.recent().some((a) => a.code === 'OUTPUTS_LIVE' && a.message.includes('going live'))).toBe(true);
    expect(await gw.store.getValue<unknown[]>('outputs.dryRun.history')).toHaveLength(audit.length);
  });

  it('switched on again: the writes stop at once (nothing reaches the PLC after the switch)', async () => {
    const res = await post({ dry_run: true, reason: 'line maintenance' }, TOKEN);
    expect(res.status).toBe(200);
    const before = plc.writes.length;
    const cycles = writers().conching!.dryCycles;
    await vi.waitFor(() => expect(writers().conching!.dryCycles).toBeGreaterThan(cycles + 3), { timeout: 30_000 });
    // At most the one request already on the wire when the switch came may have landed.
    expect(plc.writes.length - before).toBeLessThanOrEqual(1);
    const settled = plc.writes.length;
    await vi.waitFor(() => expect(writers().conching!.dryCycles).toBeGreaterThan(cycles + 6), { timeout: 30_000 });
    expect(plc.writes.length).toBe(settled);
    expect(await (await post({ dry_run: true, reason: 'again' }, TOKEN)).json()).toMatchObject({ changed: false });
    // Back in dry run, no command of the live window stays retained: a PLC connecting now is told nothing.
    const late = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/lines/+/command');
    const probe = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/outputs/dry-run');
    await probe.waitFor('choco-edge/outputs/dry-run'); // retained topics have been delivered to a new subscriber by now
    await late.client.subscribeAsync('choco-edge/outputs/dry-run', { qos: 1 });
    await late.waitFor('choco-edge/outputs/dry-run');
    expect(late.messages.filter((m) => m.topic.endsWith('/command'))).toEqual([]);
    await late.client.endAsync();
    await probe.client.endAsync();
  });
});

/** Commissioning one line while another runs: `lines[].dryRun` holds back only that line's writes. */
describe('lines[].dryRun: one line in the write-nothing mode while the others are written', () => {
  let plc: FakePlc;
  let gw: Gateway;
  let http: string;
  let topics: Collected;

  beforeAll(async () => {
    plc = new FakePlc(await freePort());
    for (const a of [100, 101, 102, 103, 104, 200, 201, 202, 203, 204]) plc.holding.set(a, 0);
    await plc.start();
    const config = testConfig('http://127.0.0.1:9', {
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } },
      lines: [
        { line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 100, timeoutMs: 500, maxBackoffMs: 400, registers, dryRun: true },
        { line: 'mixing', host: '127.0.0.1', port: plc.port, watchdogMs: 100, timeoutMs: 500, maxBackoffMs: 400, registers: { command: 200, powerSetpoint: 201, validUntil: 202, heartbeat: 204 } },
      ],
    });
    ({ gw } = await startGateway(config, NOW));
    http = gw.http!.url;
    topics = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/lines/#');
    await gw.scheduler.trigger('predictions');
    await gw.scheduler.trigger('planning');
  }, 120_000);
  afterAll(async () => {
    await topics?.client.endAsync();
    await gw?.stop();
    await plc?.stop();
  });

  const post = (body: unknown) =>
    fetch(`${http}/api/outputs/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });

  it('writes the live line, holds the commissioned one back, then writes it once switched off for that line alone', async () => {
    await vi.waitFor(() => expect(plc.writes.filter((w) => w.address === 204).length).toBeGreaterThanOrEqual(3), { timeout: 60_000 });
    expect(plc.writes.filter((w) => w.address < 200)).toEqual([]);
    await topics.waitFor('choco-edge/lines/mixing/command');
    expect(topics.messages.filter((m) => m.topic === 'choco-edge/lines/conching/command' && m.payload !== '')).toEqual([]);
    const shown = (await (await fetch(`${http}/api/outputs`)).json()) as { dry_run: boolean; lines: Array<{ line: string; by: string }>; would_write: Array<{ target: string }> };
    expect(shown.dry_run).toBe(false);
    expect(shown.lines).toEqual([expect.objectContaining({ line: 'conching', by: 'config' })]);
    expect(shown.would_write.map((w) => w.target).sort()).toEqual(['line conching (127.0.0.1:' + plc.port + ' unit 1)', 'lines/conching/command']);

    expect((await post({ dry_run: false, reason: 'typo', line: 'conche' })).status).toBe(400);
    const res = await post({ dry_run: false, reason: 'conching commissioned', line: 'conching' });
    expect(await res.json()).toMatchObject({ changed: true, dry_run: false, lines: [] });
    await vi.waitFor(() => expect(plc.writes.filter((w) => w.address === 104).length).toBeGreaterThanOrEqual(2), { timeout: 60_000 });
    await topics.waitFor('choco-edge/lines/conching/command');
    const audit = ((await (await fetch(`${http}/api/outputs`)).json()) as { switches: Array<{ line?: string; dry_run: boolean; reason: string }> }).switches;
    expect(audit.at(-1)).toMatchObject({ line: 'conching', dry_run: false, reason: 'conching commissioned' });
  });
});
