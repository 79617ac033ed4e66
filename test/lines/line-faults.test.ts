/**
 * Faults found by breaking the shared line core (gateway/lines) with real PLCs: a real Modbus TCP server
 * (modbus-serial ServerTCP, test/helpers/plc.ts) and a real node-opcua server (test/helpers/opcua-server.ts).
 * - PLC_WRITE_FAILED was rate-limited per plugin, not per line: with two lines down, only the first line that
 *   failed was ever alerted (the second one's alert fell in the first one's minute, every minute).
 * - PLC_WRITE_FAILED was never resolved when the line wrote again: the same outage within the hour (same message)
 *   was dropped by the alert log's one-hour repeat window, and the old alert stayed open on a healthy line.
 * - Plans arriving faster than a cycle (a slow PLC, a burst of re-plans) stopped every cycle: no heartbeat reached the
 *   PLC for as long as the burst lasted (its watchdog trips and the line falls back), while health still said ok.
 * - The watchdog period ran from the end of one cycle to the start of the next: a slow PLC's cycle time was added to
 *   it (with a 400 ms PLC, 10 requests, watchdogMs 2000: a heartbeat every 6 s, measured on the built gateway).
 * - stop() while a cycle was opening the link (OPC UA session, Modbus socket) left that link open after stop:
 *   a session held on the PLC (an S7-1500 has a few) and a socket keeping the process alive.
 * No wall-clock waits: every wait is on a condition.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { Alerts } from '../../gateway/core/alerts.js';
import { AcceleratedClock, FakeClock, SystemClock, type Clock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { SeriesStore } from '../../gateway/series/store.js';
import type { Config } from '../../gateway/config/schema.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { createModbusLines } from '../../plugins/modbus-lines/index.js';
import { createOpcuaLines } from '../../plugins/opcua-lines/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const H = 3_600_000;
const conching = { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104 };
const tempering = { command: 200, powerSetpoint: 201, validUntil: 202, heartbeat: 204 };

async function context(config: Config, deviceClock?: Clock) {
  const store = await SeriesStore.open(join(config.dataDir, 'store'));
  const clock = new SystemClock();
  const bus = new EventBus();
  const alerts: Array<BusEvents['alert']> = [];
  bus.on('alert', 'test', (a) => alerts.push(a));
  const mqtt = new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent);
  const ctx: PluginContext = { config, clock, log: silent, bus, store, fetcher: new Fetcher(clock, config.fetch), mqtt, mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [], ...(deviceClock ? { deviceClock } : {}) };
  return { ctx, bus, alerts, clock, store };
}

const lineCfg = (name: string, port: number, registers: typeof conching) => ({ line: name, host: '127.0.0.1', port, watchdogMs: 60_000, timeoutMs: 10_000, maxBackoffMs: 1000, registers });
const plcAlerts = (alerts: Array<BusEvents['alert']>) => alerts.filter((a) => a.code === 'PLC_WRITE_FAILED');

describe('PLC_WRITE_FAILED, line by line (real Modbus TCP PLCs)', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('two lines whose PLCs are both off: each line raises its own PLC_WRITE_FAILED (not only the first)', async () => {
    // Two ports nobody listens on: both PLCs off (connection refused at once).
    const [a, b] = [await freePort(), await freePort()];
    const config = testConfig('http://127.0.0.1:9', { lines: [lineCfg('conching', a, conching), lineCfg('tempering', b, tempering)] });
    const { ctx, alerts, store } = await context(config);
    const plugin = createModbusLines(ctx);
    cleanup.push(() => store.close(), () => plugin.stop());
    await plugin.start();
    await vi.waitFor(() => expect(plugin.health().state).toBe('failed'), { timeout: 60_000 });
    // Both lines have failed three cycles in a row: both are failed in health…
    await vi.waitFor(() => expect(plugin.health().message).toMatch(/conching: .*3 cycles failed in a row.*tempering: .*3 cycles failed in a row/), { timeout: 60_000 });
    // …and both were alerted (before: only conching; tempering's alert fell in conching's minute).
    expect(plcAlerts(alerts).map((x) => x.message.split(':')[0]).sort()).toEqual(['line conching', 'line tempering']);
  });

  it('a line that writes again resolves its PLC_WRITE_FAILED, and the same outage later is raised again', async () => {
    const plc = new FakePlc(await freePort());
    await plc.start();
    // Device time 120x real: the one-alert-a-minute limit passes in half a second; the gateway's clock is real.
    const device = new AcceleratedClock(Date.now(), 120);
    const config = testConfig('http://127.0.0.1:9', { lines: [lineCfg('conching', plc.port, conching)] });
    const { ctx, bus, alerts, clock, store } = await context(config, device);
    const log = new Alerts(() => ({ publish: async () => undefined }), clock, silent);
    log.wire(bus, 'alerts');
    const plugin = createModbusLines(ctx);
    cleanup.push(() => store.close(), () => plc.stop(), () => plugin.stop());
    const state = () => plugin.health().state;
    await plugin.start();
    await vi.waitFor(() => expect(plugin.writers().conching!.writes).toBeGreaterThan(0), { timeout: 60_000 });

    const outage = async () => {
      await plc.stop();
      await vi.waitFor(() => expect(state()).toBe('failed'), { timeout: 60_000 });
      await plc.start();
      await vi.waitFor(() => expect(state()).toBe('ok'), { timeout: 60_000 });
    };
    const resolved: Array<BusEvents['alert.resolved']> = [];
    bus.on('alert.resolved', 'test', (e) => resolved.push(e));
    await outage();
    expect(plcAlerts(alerts)).toHaveLength(1);
    // The line wrote and read back again: its alert is resolved (before: it stayed open on a healthy line).
    await vi.waitFor(() => expect(log.recent().filter((x) => x.code === 'PLC_WRITE_FAILED')[0]!.resolvedAt).not.toBeNull(), { timeout: 60_000 });
    expect(resolved).toMatchObject([{ code: 'PLC_WRITE_FAILED', subject: 'line conching' }]);

    const after = device.now();
    await vi.waitFor(() => expect(device.now() - after).toBeGreaterThan(61_000), { timeout: 60_000 });
    await outage();
    // The same PLC off the same way: the same message, raised again (before: dropped for an hour as a repeat).
    const kept = log.recent().filter((x) => x.code === 'PLC_WRITE_FAILED');
    expect(kept).toHaveLength(2);
    expect(kept[0]!.message).toBe(kept[1]!.message);
    // …and resolved again when the PLC came back.
    await vi.waitFor(() => expect(log.recent().filter((x) => x.code === 'PLC_WRITE_FAILED').every((x) => x.resolvedAt !== null)).toBe(true), { timeout: 60_000 });
    expect(resolved).toHaveLength(2);
  });

  it('a line in the write-nothing mode does not resolve a PLC_WRITE_FAILED (nothing was verified written)', async () => {
    const plc = new FakePlc(await freePort());
    await plc.start();
    for (const r of Object.values(conching)) plc.holding.set(r, 0);
    plc.holding.set(conching.validUntil + 1, 0);
    const config = testConfig('http://127.0.0.1:9', { outputs: { dryRun: true }, lines: [lineCfg('conching', plc.port, conching)] });
    const { ctx, bus, store } = await context(config);
    const resolved: Array<BusEvents['alert.resolved']> = [];
    bus.on('alert.resolved', 'test', (e) => resolved.push(e));
    const plugin = createModbusLines(ctx);
    cleanup.push(() => store.close(), () => plc.stop(), () => plugin.stop());
    // The PLC off first: three failed dry cycles (no alert in the write-nothing mode), then back: readable, ok.
    await plc.stop();
    await plugin.start();
    await vi.waitFor(() => expect(plugin.writers().conching!.failures).toBeGreaterThanOrEqual(3), { timeout: 60_000 });
    await plc.start();
    await vi.waitFor(() => expect(plugin.writers().conching!.dryCycles).toBeGreaterThan(0), { timeout: 60_000 });
    expect(plugin.health().state).toBe('ok');
    expect(resolved).toEqual([]);
    expect(plc.writes).toEqual([]);
  });
});

describe('plans arriving faster than a write cycle (real Modbus TCP PLC, slow)', () => {
  it('a new plan after every request for longer than the watchdog period: the heartbeat still reaches the PLC, then the last plan', async () => {
    const plc = new FakePlc(await freePort());
    await plc.start();
    const config = testConfig('http://127.0.0.1:9', { lines: [{ ...lineCfg('conching', plc.port, conching), watchdogMs: 1000 }] });
    const { ctx, bus, store } = await context(config);
    const plugin = createModbusLines(ctx);
    try {
      await plugin.start();
      await vi.waitFor(() => expect(plugin.writers().conching!.writes).toBe(1), { timeout: 60_000 });
      const heartbeats = () => plc.writes.filter((x) => x.address === conching.heartbeat).length;
      const before = { heartbeats: heartbeats(), writes: plugin.writers().conching!.writes };
      // Every request answered after 100 ms: 40 requests take at least 4 s, four watchdog periods of device (real) time.
      plc.delayMs = 100;
      let seen = plc.writes.length + plc.requests;
      let end = 0;
      for (let v = 2; v < 42; v++) {
        // A newer plan as soon as the PLC got the next request: every cycle is overtaken between two requests.
        await vi.waitFor(() => expect(plc.writes.length + plc.requests).toBeGreaterThan(seen), { timeout: 60_000 });
        seen = plc.writes.length + plc.requests;
        const now = Date.now();
        end = now + v * H;
        bus.emit('plan.updated', { version: v, planId: `p#${v}`, doc: planDocument(now, [lineRun('conching', now - H, end, 48)], v) });
      }
      const w = plugin.writers().conching!;
      expect(w.supersededCycles).toBeGreaterThan(0); // a newer plan still stops a cycle while the heartbeat is fresh
      // Before: 0 and 0 (every cycle stopped, the PLC's watchdog starved for the whole burst).
      expect(heartbeats() - before.heartbeats).toBeGreaterThanOrEqual(1);
      expect(w.writes - before.writes).toBeGreaterThanOrEqual(1);
      expect(w.maxConcurrentCycles).toBe(1);
      // The last plan reaches the PLC once the burst is over.
      await vi.waitFor(() => expect(plc.holding.get(conching.validUntil)! * 65536 + plc.holding.get(conching.validUntil + 1)!).toBe(Math.floor(end / 1000)), { timeout: 60_000 });
      expect(w.failures).toBe(0);
    } finally {
      await plugin.stop();
      await plc.stop();
      await store.close();
    }
  });
});

describe('the watchdog period on a slow PLC (real Modbus TCP PLC, device time injected)', () => {
  it('runs from cycle start to cycle start: a cycle that took 900 ms of a 1000 ms period is rewritten 100 ms after it ends', async () => {
    const plc = new FakePlc(await freePort());
    await plc.start();
    plc.delayMs = 20;
    const device = new FakeClock(Date.parse('2026-12-07T08:00:00Z'));
    const config = testConfig('http://127.0.0.1:9', { lines: [{ ...lineCfg('conching', plc.port, conching), watchdogMs: 1000 }] });
    const { ctx, store } = await context(config, device);
    const plugin = createModbusLines(ctx);
    const heartbeats = () => plc.writes.filter((x) => x.address === conching.heartbeat).map((x) => x.value);
    try {
      await plugin.start();
      await device.advance(0); // the first cycle starts
      // The PLC got the first request: 900 ms of device time pass while the cycle runs (a slow PLC).
      await vi.waitFor(() => expect(plc.writes.length).toBeGreaterThan(0), { timeout: 60_000 });
      await device.advance(900);
      await vi.waitFor(() => expect(plugin.writers().conching!.writes).toBe(1), { timeout: 60_000 });
      expect(heartbeats()).toEqual([1]);
      // 100 ms after the cycle ended, a full period after it started: the rewrite (before: only at 1900 ms).
      await device.advance(100);
      await vi.waitFor(() => expect(heartbeats()).toEqual([1, 2]), { timeout: 60_000 });
      await vi.waitFor(() => expect(plugin.writers().conching!.writes).toBe(2), { timeout: 60_000 });
      // A cycle that took no device time waits the whole period.
      await device.advance(999);
      expect(heartbeats()).toEqual([1, 2]);
      await device.advance(1);
      await vi.waitFor(() => expect(heartbeats()).toEqual([1, 2, 3]), { timeout: 60_000 });
      expect(plugin.writers().conching!.failures).toBe(0);
    } finally {
      await plugin.stop();
      await plc.stop();
      await store.close();
    }
  });
});

describe('stop() while a cycle opens the link (real node-opcua server)', () => {
  it('the session the cycle was opening is closed once it is open: no session left on the PLC after stop', async () => {
    const URI = 'urn:choco-edge:test:breaker';
    const dir = mkdtempSync(join(tmpdir(), 'choco-breaker-'));
    const w = { writable: true };
    const server = new TestOpcuaServer({
      port: await freePort(),
      pkiDir: join(dir, 'plc'),
      namespaceUri: URI,
      variables: [
        { id: 'L.Command', dataType: 'UInt16', value: 0, ...w },
        { id: 'L.PowerSetpoint', dataType: 'Double', value: 0, ...w },
        { id: 'L.ValidUntil', dataType: 'DateTime', value: new Date(0), ...w },
        { id: 'L.Heartbeat', dataType: 'UInt16', value: 0, ...w },
      ],
    });
    await server.start();
    const nodes = { command: `nsu=${URI};s=L.Command`, powerSetpoint: `nsu=${URI};s=L.PowerSetpoint`, validUntil: `nsu=${URI};s=L.ValidUntil`, heartbeat: `nsu=${URI};s=L.Heartbeat` };
    const config = testConfig('http://127.0.0.1:9', {
      opcua: { pkiDir: join(dir, 'gw-pki'), lines: [{ line: 'conching', endpointUrl: server.endpointUrl, security: 'None', watchdogMs: 60_000, maxBackoffMs: 400, requestTimeoutMs: 2000, nodes }] },
    });
    const { ctx, store } = await context(config);
    const plugin = createOpcuaLines(ctx);
    const engine = server.server!.engine as unknown as { currentSessionCount: number; _sessions: Record<string, unknown> };
    const sessionsOnPlc = () => Object.keys(engine._sessions).length;
    try {
      // Stop the gateway the moment the PLC sees the session being created (the cycle is inside connect()).
      const created = new Promise<void>((resolve) => server.server!.on('create_session', () => resolve()));
      await plugin.start();
      await created;
      await plugin.stop();
      // The cycle that was opening the session ends (stopped: a superseded cycle, not a failure)…
      await vi.waitFor(() => expect(plugin.writers().conching!.supersededCycles).toBe(1), { timeout: 60_000 });
      // …and leaves no session on the PLC (before: the session stayed open, kept alive by the client, for good).
      await vi.waitFor(() => expect(sessionsOnPlc()).toBe(0), { timeout: 60_000 });
      expect(plugin.writers().conching!.writes).toBe(0);
      expect(server.writes).toBe(0);
    } finally {
      await plugin.stop();
      await server.stop();
      await store.close();
    }
  });
});
