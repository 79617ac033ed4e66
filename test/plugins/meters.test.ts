import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvents, Alert } from '../../gateway/core/event-bus.js';
import { alertSubject, healthResolutions } from '../../gateway/core/alerts.js';
import { SHIPPED_PROFILES, decodeRegister, planReads, registerResolution } from '../../gateway/meters/profile.js';
import { readMeterQuarterHours } from '../../gateway/meters/quarter-hours.js';
import type { MeterReading } from '../../gateway/meters/reading.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { realClock, type Clock } from '../../gateway/time/clock.js';
import { createMeters, type MetersPlugin } from '../../plugins/meters/index.js';
import { serveMeterProfile, serveMeterProfileRtu, type MeterServer, type MeterValues } from '../../plugins/replay/simulated-meter.js';
import { realTimePluginContext, testConfig } from '../helpers/context.js';

/** Real Modbus TCP servers (modbus-serial ServerTCP) answering only each profile's own registers; a real LevelDB. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function until<T>(what: string, get: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function serve(profile: string, values: () => MeterValues): Promise<MeterServer> {
  const server = await serveMeterProfile(SHIPPED_PROFILES[profile]!, values);
  cleanups.push(() => server.stop());
  return server;
}

async function start(meters: unknown[], options: { clock?: Clock; energy?: Record<string, unknown> } = {}) {
  const config = testConfig('http://127.0.0.1:1', { energy: { meters, ...options.energy } });
  const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-meters-')));
  const ctx = realTimePluginContext(config, store);
  if (options.clock) ctx.clock = options.clock;
  const readings: MeterReading[] = [];
  const alerts: Alert[] = [];
  const quarterHours: Array<BusEvents['meter.quarterHour']> = [];
  ctx.bus.on('meter.reading', 'test', (r) => readings.push(r));
  ctx.bus.on('alert', 'test', (a) => alerts.push(a));
  ctx.bus.on('meter.quarterHour', 'test', (q) => quarterHours.push(q));
  const plugin: MetersPlugin = createMeters(ctx, realClock);
  await plugin.start();
  cleanups.push(() => store.close());
  cleanups.push(() => plugin.stop());
  return { plugin, ctx, store, readings, alerts, quarterHours };
}

const meter = (name: string, profile: string, port: number, extra: Record<string, unknown> = {}) => ({ name, role: 'site', profile, host: '127.0.0.1', port, pollMs: 200, timeoutMs: 2000, ...extra });

describe('energy meters over a real Modbus TCP server, one per shipped profile', () => {
  it('reads import energy, power and reactive energy right from each profile, at the addresses its manual gives', async () => {
    const truth = { kw: 123.4, importKwh: 45_678.9, importKvarh: 1_234.5 };
    const servers: Record<string, MeterServer> = {};
    for (const p of Object.keys(SHIPPED_PROFILES)) servers[p] = await serve(p, () => truth);
    const { plugin, readings } = await start([
      meter('sdm630', 'eastron-sdm630', servers['eastron-sdm630']!.port),
      meter('em24', 'carlo-gavazzi-em24', servers['carlo-gavazzi-em24']!.port, { role: 'line', line: 'conching' }),
      meter('umg96', 'janitza-umg96rm-e', servers['janitza-umg96rm-e']!.port, { role: 'line', line: 'refining' }),
      meter('pm5000', 'schneider-pm5000', servers['schneider-pm5000']!.port, { role: 'line', line: 'mixing' }),
    ]);
    const got = await until('a reading from every meter', () => {
      const r = plugin.readings();
      return Object.values(r).every((x) => x && x.quality !== 'failed') && r;
    });
    // float32 keeps 24 bits (SDM630 kWh, Janitza Wh): a few Wh at 45 MWh; the integer registers are exact.
    expect(got.sdm630).toMatchObject({ role: 'site', quality: 'good' });
    expect(got.sdm630!.importKwh).toBeCloseTo(45_678.9, 2);
    expect(got.sdm630!.kw).toBeCloseTo(123.4, 3);
    expect(got.sdm630!.importKvarh).toBeCloseTo(1_234.5, 3);
    expect(got.em24).toMatchObject({ role: 'line', line: 'conching', importKwh: 45_678.9, kw: 123.4, importKvarh: 1_234.5 });
    expect(got.umg96!.importKwh).toBeCloseTo(45_678.9, 2);
    expect(got.umg96!.kw).toBeCloseTo(123.4, 3);
    expect(got.pm5000).toMatchObject({ line: 'mixing', importKwh: 45_678.9, importKvarh: 1_234.5 });
    expect(got.pm5000!.kw).toBeCloseTo(123.4, 3);
    // Schneider numbers registers from 1: its manual's 3060 and 3204 are read at addresses 3059 and 3203, function 3.
    expect(servers['schneider-pm5000']!.requests).toEqual(expect.arrayContaining([{ fc: 3, address: 3059, count: 2 }, { fc: 3, address: 3203, count: 4 }, { fc: 3, address: 3219, count: 4 }]));
    // The SDM630's input registers (function 4), power 0x34, and import energy 0x48 read in one request with nothing between.
    expect(servers['eastron-sdm630']!.requests).toEqual(expect.arrayContaining([{ fc: 4, address: 0x34, count: 2 }, { fc: 4, address: 0x48, count: 2 }, { fc: 4, address: 0x4c, count: 2 }]));
    expect(servers['carlo-gavazzi-em24']!.requests).toEqual(expect.arrayContaining([{ fc: 4, address: 0x28, count: 2 }, { fc: 4, address: 0x42, count: 2 }]));
    expect(readings.some((r) => r.quality === 'failed')).toBe(false);
  });

  it('word order and numbering are data: the EM24 read high word first, or the Schneider read at its manual number, are wrong', () => {
    const em24 = SHIPPED_PROFILES['carlo-gavazzi-em24']!;
    const words = [0xf855, 0x0006]; // 456789 = 0x0006F855 × 0.1 kWh, low word first
    expect(decodeRegister(words, em24.registers.importKwh)).toBe(45_678.9);
    expect(decodeRegister(words, { ...em24.registers.importKwh, wordOrder: 'big' })).not.toBeCloseTo(45_678.9, 0);
    // The counter's step: the scale of an integer register, a float32's spacing at its magnitude.
    expect(registerResolution(em24.registers.importKwh, 45_678.9)).toBe(0.1);
    expect(registerResolution(SHIPPED_PROFILES['eastron-sdm630']!.registers.importKwh, 133_457)).toBe(2 ** -6);
    const pm = SHIPPED_PROFILES['schneider-pm5000']!;
    expect(registerResolution(pm.registers.importKwh, 45_678.9)).toBe(0.001);
    expect(planReads(pm).map((r) => r.address)).toEqual([3059, 3203, 3219]);
  });

  it('a profile from config (a user meter) is read like a shipped one', async () => {
    const server = await serveMeterProfile(
      { model: 'plant PLC energy block', sources: ['our PLC program'], firstRegister: 1, registers: { kw: { register: 101, function: 3, type: 'int32', wordOrder: 'big', byteOrder: 'big', scale: 0.01, unit: 'kW' }, importKwh: { register: 103, function: 3, type: 'uint32', wordOrder: 'little', byteOrder: 'big', scale: 0.01, unit: 'kWh' } } },
      () => ({ kw: 42.25, importKwh: 9_876.54 }),
    );
    cleanups.push(() => server.stop());
    const { plugin } = await start([meter('plc-meter', 'our-plc', server.port)], {
      energy: { meterProfiles: { 'our-plc': { model: 'plant PLC energy block', firstRegister: 1, registers: { kw: { register: 101, function: 3, type: 'int32', scale: 0.01, unit: 'kW' }, importKwh: { register: 103, function: 3, type: 'uint32', wordOrder: 'little', scale: 0.01, unit: 'kWh' } } } } },
    });
    const r = await until('the user meter', () => plugin.readings()['plc-meter']);
    expect(r).toMatchObject({ kw: 42.25, importKwh: 9_876.54, quality: 'good' });
    expect(r!.importKvarh).toBeUndefined();
    expect(server.requests[0]).toEqual({ fc: 3, address: 100, count: 4 });
  });
});

describe('an energy meter on Modbus RTU', () => {
  it('reads an EM24 over a serial line (a pseudo-terminal pair, modbus-serial ServerSerial) through the shared client', async () => {
    const relay = spawn('python3', [fileURLToPath(new URL('../meters/pty-pair.py', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(async () => relay.stdin!.end());
    const [serverPath, clientPath] = await new Promise<string[]>((resolve) => relay.stdout!.once('data', (d) => resolve(JSON.parse(String(d)) as string[])));
    const server = await serveMeterProfileRtu(SHIPPED_PROFILES['carlo-gavazzi-em24']!, () => ({ kw: 41.7, importKwh: 3_210.4, importKvarh: 88.8 }), serverPath!);
    cleanups.push(() => server.stop());
    const { plugin } = await start([{ name: 'refining', role: 'line', line: 'refining', profile: 'carlo-gavazzi-em24', transport: 'rtu', path: clientPath, baudRate: 9600, unitId: 1, pollMs: 300, timeoutMs: 2000 }]);
    const r = await until('an RTU reading', () => plugin.readings().refining?.quality === 'good' && plugin.readings().refining);
    expect(r).toMatchObject({ kw: 41.7, importKwh: 3_210.4, importKvarh: 88.8, line: 'refining' });
    expect(server.requests).toEqual(expect.arrayContaining([{ fc: 4, address: 0x42, count: 2 }]));
  });
});

describe('counter faults from a live meter, named in health and alerts', () => {
  it('a frozen meter, a counter reset and a gap', async () => {
    let mode: 'live' | 'frozen' | 'reset' = 'live';
    let kwh = 5_000;
    let tick = 0;
    let at = Date.now();
    const server = await serve('eastron-sdm630', () => {
      tick++;
      if (mode === 'frozen') return { kw: 80, importKwh: kwh, importKvarh: 100 };
      const kw = 80 + (tick % 7);
      kwh += (kw * (Date.now() - at)) / 3_600_000; // the counter integrates the power on real time (the test's gateway clock)
      at = Date.now();
      return { kw, importKwh: mode === 'reset' ? kwh - 5_000 : kwh, importKvarh: 100 + tick * 0.01 };
    });
    const { plugin, alerts, readings } = await start([meter('site-main', 'eastron-sdm630', server.port, { frozenPolls: 4, gapSeconds: 1 })]);
    await until('live readings', () => readings.filter((r) => r.quality === 'good').length >= 3);
    mode = 'frozen';
    const frozen = await until('METER_FROZEN', () => alerts.find((a) => a.code === 'METER_FROZEN'));
    expect(frozen.message).toMatch(/^meter site-main: frozen: the import counter stays at .* every value identical for 4 polls/);
    expect(frozen.level).toBe('critical');
    let health = plugin.health();
    expect(health.state).toBe('degraded');
    expect(health.message).toMatch(/meter site-main: frozen/);
    expect((health.details!.meters as Record<string, { frozen: boolean }>)['site-main']!.frozen).toBe(true);
    expect(readings.at(-1)).toMatchObject({ quality: 'suspect', fault: 'frozen' });
    const resolved = () => healthResolutions({ series: [], plugins: { meters: plugin.health() }, store: { state: 'ok' } as never });
    expect(resolved()).not.toContainEqual({ code: 'METER_FROZEN', subject: 'meter site-main' });

    mode = 'reset';
    const reset = await until('METER_RESET', () => alerts.find((a) => a.code === 'METER_RESET'));
    expect(reset.message).toMatch(/^meter site-main: import counter reset from 50\d\d\.\d+ to \d+(\.\d+)? kWh/);
    await until('good again', () => plugin.health().state === 'ok');
    // The frozen condition is gone: the health job resolves its alert (the subject is the alert's "meter <name>").
    expect(resolved()).toContainEqual({ code: 'METER_FROZEN', subject: alertSubject(frozen.message) });

    await server.stop();
    const gap = await until('METER_GAP', () => alerts.find((a) => a.code === 'METER_GAP'));
    expect(gap.message).toMatch(/^meter site-main: no reading since \d{4}-/);
    health = plugin.health();
    expect(health.state).toBe('degraded');
    const details = (health.details!.meters as Record<string, { state: string; faults: Record<string, number> }>)['site-main']!;
    expect(details.state).toBe('failed');
    expect(details.faults).toMatchObject({ frozen: 1, reset: 1, gap: 1, rollback: 0, jump: 0 });
    expect(readings.at(-1)!.quality).toBe('failed');
  });
});

describe('quarter-hours of a live meter, in the store', () => {
  it('measured kWh and average kW per local quarter-hour with the tariff period, and the gateway restart bridged', async () => {
    // Gateway time moves 150 s per poll (a manual clock: no test timing depends on the machine's speed).
    let now = Date.UTC(2025, 0, 15, 7, 55); // 08:55 Madrid, a Wednesday in January (6.1TD: P2 before 09:00, P1 after)
    const clock: Clock = { now: () => now, setTimeout: realClock.setTimeout.bind(realClock), sleep: realClock.sleep.bind(realClock) };
    let kwh = 20_000;
    let last = now;
    const server = await serve('schneider-pm5000', () => {
      kwh += (200 * (now - last)) / 3_600_000; // exactly 200 kW on the gateway clock
      last = now;
      return { kw: 200, importKwh: kwh, importKvarh: kwh / 3 };
    });
    const contract = { tariff: '6.1TD', contractedKw: [450, 450, 450, 450, 450, 500], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002], energy: { indexed: { marginEurMwh: 6 } } };
    const { ctx, quarterHours, readings, plugin } = await start([meter('site-main', 'schneider-pm5000', server.port, { gapSeconds: 400 })], { clock, energy: { contract } });
    ctx.bus.on('meter.reading', 'clock', () => (now += 150_000));
    await until('three closed quarter-hours', () => quarterHours.length >= 3, 30_000);
    const stored = await readMeterQuarterHours(ctx.store, 'site-main', Date.UTC(2025, 0, 15, 7, 45), Date.UTC(2025, 0, 15, 9));
    expect(stored.slice(0, 3)).toEqual(quarterHours.slice(0, 3));
    // 07:45 UTC: the gateway began at 07:55, the quarter-hour is missing, not guessed; then 50 kWh = 200 kW average each.
    expect(stored[0]).toMatchObject({ start: Date.UTC(2025, 0, 15, 7, 45), quality: 'missing', kwh: null, period: 2 });
    expect(stored[1]).toMatchObject({ start: Date.UTC(2025, 0, 15, 8, 0), quality: 'measured', period: 1, role: 'site' });
    expect(stored[1]!.kwh).toBeCloseTo(50, 3);
    expect(stored[1]!.avgKw).toBeCloseTo(200, 2);
    expect(stored[1]!.kvarh).toBeCloseTo(50 / 3, 3);
    expect(readings.every((r) => r.quality !== 'failed')).toBe(true);

    // Restart: the counter's last trusted reading was stored; 10 minutes later the downtime is bridged, not lost.
    await plugin.stop();
    const closedBefore = quarterHours.length;
    now += 600_000;
    const again = createMeters(ctx, realClock);
    await again.start();
    cleanups.push(() => again.stop());
    await until('quarter-hours after the restart', () => quarterHours.length >= closedBefore + 3, 30_000);
    const after = quarterHours.slice(closedBefore);
    expect(after.map((q) => q.start)).toEqual(after.map((_, i) => quarterHours[closedBefore - 1]!.end + i * 900_000));
    expect(after[0]!.quality).toBe('interpolated');
    expect(after.every((q) => q.quality !== 'missing')).toBe(true);
    expect(after.reduce((s, q) => s + q.kwh!, 0)).toBeCloseTo(50 * after.length, 2);
  });
});

describe('a meter on MQTT', () => {
  it('publishes its last poll retained on meters/<name>, and says failed (with the last good values) once it stops answering', async () => {
    const { EmbeddedBroker } = await import('../../gateway/mqtt/broker.js');
    const { MqttConnection } = await import('../../gateway/mqtt/connection.js');
    const mqttClient = (await import('mqtt')).default;
    const { silent } = await import('../helpers/context.js');
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'test', allowAnonymous: true, users: [], internal: { username: 'i', password: 'i' }, reservedClientIds: [] }, silent);
    const { port } = await broker.start();
    cleanups.push(() => broker.stop());
    let kwh = 700;
    let at = Date.now();
    const server = await serve('carlo-gavazzi-em24', () => {
      kwh += (36 * (Date.now() - at)) / 3_600_000;
      at = Date.now();
      return { kw: 36, importKwh: Math.round(kwh * 10) / 10, importKvarh: 12.3 };
    });
    const config = testConfig('http://127.0.0.1:1', { energy: { meters: [meter('tempering', 'carlo-gavazzi-em24', server.port, { role: 'line', line: 'tempering' })] } });
    const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-meters-')));
    cleanups.push(() => store.close());
    const ctx = realTimePluginContext(config, store);
    const mqtt = new MqttConnection({ url: `mqtt://127.0.0.1:${port}`, base: 'test', clientId: 'gw', reconnectMs: 200 }, ctx.clock, silent);
    await mqtt.start();
    cleanups.push(() => mqtt.stop());
    ctx.mqtt = mqtt;
    const plugin = createMeters(ctx, realClock);
    await plugin.start();
    cleanups.push(() => plugin.stop());
    const sub = await mqttClient.connectAsync(`mqtt://127.0.0.1:${port}`);
    cleanups.push(() => sub.endAsync());
    const messages: Array<{ payload: Record<string, unknown>; retain: boolean }> = [];
    sub.on('message', (_topic, payload, packet) => messages.push({ payload: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain }));
    await sub.subscribeAsync('test/meters/tempering', { qos: 1 });
    const good = await until('a good reading on MQTT', () => messages.find((m) => m.payload.quality === 'good'));
    expect(good.payload).toMatchObject({ v: 1, meter: 'tempering', role: 'line', line: 'tempering', provenance: 'measured', kw: 36, import_kvarh: 12.3, fault: null });
    expect(good.payload.import_kwh).toBeGreaterThanOrEqual(700);
    await server.stop();
    const failed = await until('failed on MQTT', () => messages.find((m) => m.payload.quality === 'failed'));
    expect(failed.payload).toMatchObject({ meter: 'tempering', kw: 36 });
    // A subscriber that connects now reads the retained failed state, never ok.
    const late = await mqttClient.connectAsync(`mqtt://127.0.0.1:${port}`);
    cleanups.push(() => late.endAsync());
    const retained: Array<Record<string, unknown>> = [];
    late.on('message', (_t, payload, packet) => packet.retain && retained.push(JSON.parse(payload.toString()) as Record<string, unknown>));
    await late.subscribeAsync('test/meters/+', { qos: 1 });
    const first = await until('the retained message', () => retained[0]);
    expect(first.quality).toBe('failed');
  });
});
