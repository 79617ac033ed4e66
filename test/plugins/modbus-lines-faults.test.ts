import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { AcceleratedClock, SystemClock, type Clock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { COMMAND_CODES, createModbusLines } from '../../plugins/modbus-lines/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const H = 3_600_000;

/** A plan where line `conching` runs from `now - 1 h` to `runEnd`, or has nothing (idle) when runEnd is null. */
const plan = (now: number, version: number, runEnd: number | null) => planDocument(now, runEnd === null ? [] : [lineRun('conching', now - H, runEnd, 48)], version);

const conching = { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104 };
const tempering = { command: 200, powerSetpoint: 201, validUntil: 202, heartbeat: 204 };

/**
 * Two lines on one real Modbus TCP server (as in the demo), the plugin on `clock`, device timers in real time.
 * The Modbus request timeout is 10 s unless a test is about timeouts: these tests count failures and alerts, and a
 * 1 s timeout was met by a 150 ms PLC on a busy CI box (the answer waits for a CPU, not for the PLC).
 */
async function setup(opts: { clock?: Clock; timeoutMs?: number; watchdogMs?: number } = {}) {
  const plc = new FakePlc(await freePort());
  await plc.start();
  const line = (name: string, registers: typeof conching) => ({ line: name, host: '127.0.0.1', port: plc.port, watchdogMs: opts.watchdogMs ?? 60_000, timeoutMs: opts.timeoutMs ?? 10_000, maxBackoffMs: 1000, registers });
  const config = testConfig('http://127.0.0.1:9', { lines: [line('conching', conching), line('tempering', tempering)] });
  const store = await SeriesStore.open(join(config.dataDir, 'store'));
  const clock = opts.clock ?? new SystemClock();
  const bus = new EventBus();
  const alerts: Array<BusEvents['alert']> = [];
  bus.on('alert', 'test', (a) => alerts.push(a));
  const mqtt = new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent);
  const plugin = createModbusLines({ config, clock, log: silent, bus, store, fetcher: new Fetcher(clock, config.fetch), mqtt, mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [] });
  const stop = async () => {
    await plugin.stop();
    await plc.stop();
    await store.close();
  };
  return { plc, plugin, bus, alerts, clock, stop };
}

const seconds = (t: number) => Math.floor(t / 1000);
const validUntilOnPlc = (plc: FakePlc, r: typeof conching) => plc.holding.get(r.validUntil)! * 65536 + plc.holding.get(r.validUntil + 1)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('line writes against a slow, late or busy PLC (real modbus-serial ServerTCP)', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it('a PLC answering every request after 150 ms, three plan changes 300 ms apart: no overlap, no false alarm, the last plan wins', async () => {
    const s = await setup();
    stop = s.stop;
    s.plc.delayMs = 150;
    await s.plugin.start();
    const now = Date.now();
    const ends = [now + 4 * H, null, now + 6 * H];
    for (const [i, end] of ends.entries()) {
      if (i > 0) await sleep(300);
      s.bus.emit('plan.updated', { version: i + 1, planId: `p#${i + 1}`, doc: plan(now, i + 1, end) });
    }
    await vi.waitFor(() => expect(validUntilOnPlc(s.plc, conching)).toBe(seconds(now + 6 * H)), { timeout: 60_000, interval: 20 });
    await vi.waitFor(() => expect(s.plugin.writers().conching!.lastWritten).toMatchObject({ state: { command: 'run', validUntil: now + 6 * H } }), { timeout: 60_000, interval: 20 });
    // Health is 'ok' once BOTH lines have a verified write; tempering's first cycle queues behind conching's on the one
    // device, so it is waited for, not assumed (failures and alerts below still prove there was no false alarm).
    await vi.waitFor(() => expect(s.plugin.health().state).toBe('ok'), { timeout: 60_000, interval: 20 });
    expect(s.plc.holding.get(conching.command)).toBe(COMMAND_CODES.run);
    const w = s.plugin.writers();
    expect(s.plc.maxInFlight).toBe(1); // one request at a time on the device, across both lines' clients
    expect(w.conching!.maxConcurrentCycles).toBe(1);
    expect(w.tempering!.maxConcurrentCycles).toBe(1);
    expect(w.conching!.failures + w.tempering!.failures).toBe(0);
    expect(s.alerts.filter((a) => a.code === 'PLC_WRITE_FAILED')).toEqual([]);
  });

  it('a PLC answering one request after the timeout: retried on a fresh connection, no alert', async () => {
    // The late answer comes 3 timeouts after the request; every other request has the whole 2 s timeout to be answered.
    const s = await setup({ timeoutMs: 2000 });
    stop = s.stop;
    s.plc.lateOnce = { at: 3, ms: 6000 };
    await s.plugin.start();
    const now = Date.now();
    s.bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: plan(now, 1, now + 4 * H) });
    await vi.waitFor(() => expect(s.plc.lateAnswers).toBe(1), { timeout: 60_000, interval: 20 });
    await vi.waitFor(() => expect(s.plugin.writers().conching!.lastWritten).toMatchObject({ state: { command: 'run', validUntil: now + 4 * H } }), { timeout: 60_000, interval: 20 });
    await vi.waitFor(() => expect(s.plugin.writers().tempering!.writes).toBeGreaterThan(0), { timeout: 60_000, interval: 20 });
    const w = s.plugin.writers();
    expect(w.conching!.failures + w.tempering!.failures).toBe(1); // the timed-out cycle, and only it
    expect(s.alerts.filter((a) => a.code === 'PLC_WRITE_FAILED')).toEqual([]);
    await vi.waitFor(() => expect(s.plugin.health().state).toBe('ok'), { timeout: 60_000, interval: 20 });
  });

  it('a PLC answering exception 6 (busy) twice to every request: asked again, no failure, no alert', async () => {
    const s = await setup();
    stop = s.stop;
    s.plc.busyRun = 2;
    await s.plugin.start();
    const now = Date.now();
    s.bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: plan(now, 1, now + 4 * H) });
    await vi.waitFor(() => expect(s.plugin.writers().conching!.lastWritten).toMatchObject({ state: { command: 'run', validUntil: now + 4 * H } }), { timeout: 60_000, interval: 20 });
    expect(validUntilOnPlc(s.plc, conching)).toBe(seconds(now + 4 * H));
    // Conching's cycle is one FC16 write and one read-back (its registers are consecutive), each answered busy twice first.
    expect(s.plc.busyAnswers).toBeGreaterThanOrEqual(4);
    const w = s.plugin.writers();
    expect(w.conching!.failures + w.tempering!.failures).toBe(0);
    expect(s.alerts).toEqual([]);
  });

  it('a PLC that keeps every write away still raises PLC_WRITE_FAILED (a real fault is not hidden)', async () => {
    const s = await setup({ watchdogMs: 200 });
    stop = s.stop;
    const lineStates: string[] = [];
    s.bus.on('line.state', 'test', (e) => e.line === 'conching' && lineStates.push(e.state));
    s.plc.holding.set(conching.heartbeat, 0);
    s.plc.dropWrites.add(conching.heartbeat);
    await s.plugin.start();
    await vi.waitFor(() => expect(s.alerts.some((a) => a.code === 'PLC_WRITE_FAILED' && /read-back of register 104/.test(a.message))).toBe(true), { timeout: 60_000, interval: 20 });
    expect(s.plugin.health().state).toBe('failed');
    expect(lineStates).toEqual(['degraded', 'failed']); // what Sparkplug turns into a DDEATH
    s.plc.dropWrites.clear();
    await vi.waitFor(() => expect(lineStates.at(-1)).toBe('ok'), { timeout: 60_000, interval: 20 });
  });

  it('watchdog and heartbeat run on device time under the demo clock (3600x): heartbeats at the watchdog period, 0 failures', async () => {
    const clock = new AcceleratedClock(Date.parse('2018-04-02T10:00:00Z'), 3600);
    const s = await setup({ clock, watchdogMs: 1000 });
    stop = s.stop;
    const started = Date.now();
    await s.plugin.start();
    s.bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: plan(clock.now(), 1, clock.now() + 4 * H) });
    await vi.waitFor(() => expect(s.plugin.writers().conching!.writes).toBeGreaterThanOrEqual(3), { timeout: 60_000, interval: 20 });
    const elapsed = Date.now() - started;
    const w = s.plugin.writers().conching!;
    // The first write, the plan's write, then one per second of real time; at 3600x on the simulated clock it would be thousands.
    expect(w.writes).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 2);
    expect(w.failures).toBe(0);
    expect(s.alerts).toEqual([]);
  });
});
