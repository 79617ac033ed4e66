import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { createModbusLines, lineStateAt } from '../../plugins/modbus-lines/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';

const H = 3_600_000;

/** Conching runs now to +4 h, tempering from +5 h to +7 h. */
const doc = (now: number) => planDocument(now, [{ ...lineRun('conching', now - H, now + 4 * H, 48), batch: 70_001 }, lineRun('tempering', now + 5 * H, now + 7 * H, 36)]);

describe('line commands from the plan', () => {
  it('says run with power until the run ends, idle until the next run, idle without a plan', () => {
    const now = Date.parse('2025-06-02T10:00:00Z');
    const kw = (p: string) => ({ conching: 48, tempering: 36 })[p] ?? 0;
    expect(lineStateAt(doc(now), 'conching', now, kw)).toEqual({ command: 'run', powerKw: 48, validUntil: now + 4 * H, batch: 70_001 });
    expect(lineStateAt(doc(now), 'tempering', now, kw)).toEqual({ command: 'idle', powerKw: 0, validUntil: now + 5 * H, batch: null });
    expect(lineStateAt(null, 'conching', now, kw).command).toBe('idle');
  });

  it('says halt in a Halt hour until that hour ends (a Unix time a PLC register can hold), or the next run if sooner', () => {
    const now = Date.parse('2025-07-02T13:20:00Z');
    const hourStart = Date.parse('2025-07-02T13:00:00Z');
    const halting = (runs: ReturnType<typeof lineRun>[]) => ({ ...planDocument(now, runs), hours: [{ start: '2025-07-02T13:00:00Z', recommendation: 'Halt' }] }) as unknown as PlanDocumentPayload;
    const kw = () => 36;
    const alone = lineStateAt(halting([]), 'tempering', now, kw);
    expect(alone).toMatchObject({ command: 'halt', powerKw: 0, validUntil: hourStart + H });
    // It once said min((now + 15 min) × 4, …): a time in the year 2200+, beyond the uint32 seconds of the register pair.
    expect(Math.floor(alone.validUntil / 1000)).toBeLessThan(2 ** 32);
    expect(lineStateAt(halting([lineRun('tempering', now + 20 * 60_000, now + 2 * H, 36)]), 'tempering', now, kw).validUntil).toBe(now + 20 * 60_000);
  });
});

describe('Modbus writes to a real Modbus TCP server standing in for the PLC', () => {
  let plc: FakePlc;
  let store: SeriesStore;
  let bus: EventBus;
  let plugin: ReturnType<typeof createModbusLines>;
  const alerts: Array<BusEvents['alert']> = [];
  const registers = { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104, batch: 105 };

  beforeAll(async () => {
    plc = new FakePlc(await freePort());
    await plc.start();
    const config = testConfig('http://127.0.0.1:9', { lines: [{ line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 100, timeoutMs: 5000, maxBackoffMs: 400, registers }] }); // timeouts are not the subject: 300 ms tripped on a busy box
    store = await SeriesStore.open(join(config.dataDir, 'store'));
    const clock = new SystemClock();
    bus = new EventBus();
    bus.on('alert', 'test', (a) => alerts.push(a));
    plugin = createModbusLines({ config, clock, log: silent, bus, store, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [] });
    await plugin.start();
  });
  afterAll(async () => {
    await plugin.stop();
    await plc.stop();
    await store.close();
  });

  it('writes what the plan says, verified by read-back, and the heartbeat advances as a watchdog', async () => {
    const now = Date.now();
    bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: doc(now) });
    await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(1), { timeout: 60_000 });
    expect(plc.holding.get(registers.powerSetpoint)).toBe(480);
    const seconds = Math.floor((now + 4 * H) / 1000);
    expect(plc.holding.get(registers.validUntil)! * 65536 + plc.holding.get(registers.validUntil + 1)!).toBe(seconds);
    // The batch the line runs, by its plant-unique id (uint32 over two registers, above 65535 on purpose).
    expect(plc.holding.get(registers.batch)! * 65536 + plc.holding.get(registers.batch + 1)!).toBe(70_001);
    const beat = plc.holding.get(registers.heartbeat)!;
    await vi.waitFor(() => expect(plc.holding.get(registers.heartbeat)).toBeGreaterThan(beat + 2), { timeout: 60_000 });
    // The heartbeat on the PLC is the write; 'ok' follows its read-back, a request later: waited for, not assumed.
    await vi.waitFor(() => expect(plugin.health().state).toBe('ok'), { timeout: 60_000, interval: 20 });
    expect(plugin.writers().conching!.failures).toBe(0);
  });

  it('reports a write that does not stick, never assuming it', async () => {
    plc.dropWrites.add(registers.heartbeat);
    await vi.waitFor(() => expect(plugin.health().state).toBe('failed'), { timeout: 60_000 });
    expect(plugin.health().message).toMatch(/read-back of register 104 gave \d+, wrote \d+/);
    expect(alerts.some((a) => a.code === 'PLC_WRITE_FAILED')).toBe(true);
    plc.dropWrites.clear();
    await vi.waitFor(() => expect(plugin.health().state).toBe('ok'), { timeout: 60_000 });
  });

  it('survives a PLC power cycle: failures are reported, then writing resumes by itself', async () => {
    const failures = plugin.writers().conching!.failures;
    await plc.stop();
    plc.holding.clear();
    await vi.waitFor(() => expect(plugin.writers().conching!.failures).toBeGreaterThan(failures), { timeout: 60_000 });
    await plc.start();
    await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(1), { timeout: 60_000 });
    await vi.waitFor(() => expect(plugin.health().state).toBe('ok'), { timeout: 60_000 });
  });
});

describe('one request per block of consecutive registers (real Modbus TCP server)', () => {
  it('a state on consecutive registers is one Write Multiple Registers request: the PLC never holds a new command beside an old setpoint', async () => {
    const plc = new FakePlc(await freePort());
    await plc.start();
    // Batch id, command, setpoint, valid-until and heartbeat on 98…104: one block; a map with gaps: one block per run.
    // Request counts are exact below, so no request may time out and be retried: a 10 s timeout, not 300 ms.
    const lines = [
      { line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 60_000, timeoutMs: 10_000, maxBackoffMs: 400, registers: { batch: 98, command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104 } },
      { line: 'tempering', host: '127.0.0.1', port: plc.port, watchdogMs: 60_000, timeoutMs: 10_000, maxBackoffMs: 400, registers: { command: 200, powerSetpoint: 201, validUntil: 210, heartbeat: 220 } },
    ];
    const config = testConfig('http://127.0.0.1:9', { lines });
    const store = await SeriesStore.open(join(config.dataDir, 'store'));
    const clock = new SystemClock();
    const bus = new EventBus();
    const plugin = createModbusLines({ config, clock, log: silent, bus, store, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [] });
    try {
      await plugin.start();
      const now = Date.now();
      bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: doc(now) });
      await vi.waitFor(() => expect(plugin.writers().conching!.writes).toBeGreaterThanOrEqual(1), { timeout: 60_000 });
      await vi.waitFor(() => expect(plugin.writers().tempering!.writes).toBeGreaterThanOrEqual(1), { timeout: 60_000 });
      // Each line wrote once (watchdog 60 s): the consecutive map in one request of 7 registers, the other in 3 blocks.
      const conching = plc.writes.filter((w) => w.address < 200);
      const tempering = plc.writes.filter((w) => w.address >= 200);
      expect(conching.map((w) => w.address)).toEqual([98, 99, 100, 101, 102, 103, 104]);
      expect(new Set(conching.map((w) => w.at)).size).toBe(1);
      expect(tempering.map((w) => w.address)).toEqual([200, 201, 210, 211, 220]);
      expect(plc.writeRequests).toBe(1 + 3);
      expect(plc.holding.get(100)).toBe(1);
      expect(plc.holding.get(98)! * 65536 + plc.holding.get(99)!).toBe(70_001);
    } finally {
      await plugin.stop();
      await plc.stop();
      await store.close();
    }
  });
});
