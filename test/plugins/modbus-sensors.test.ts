import { join } from 'node:path';
import mqttClient from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { EmbeddedBroker } from '../../gateway/mqtt/broker.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { Plugin, PluginContext } from '../../gateway/core/plugin-api.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { decodeRegisters, encodeRegisters, type Order, type RegisterType } from '../../plugins/modbus-sensors/decode.js';
import { createModbusSensors, type PointReading } from '../../plugins/modbus-sensors/index.js';
import { realTimePluginContext, silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

describe('register decoding', () => {
  it('round-trips every type in every byte and word order', () => {
    const cases: Array<[RegisterType, number]> = [['int16', -1234], ['uint16', 54321], ['int32', -123456789], ['uint32', 3_000_000_000], ['float32', 21.5]];
    for (const [type, value] of cases) {
      for (const byteOrder of ['big', 'little'] as Order[]) {
        for (const wordOrder of ['big', 'little'] as Order[]) {
          expect(decodeRegisters(encodeRegisters(value, type, byteOrder, wordOrder), type, byteOrder, wordOrder)).toBe(value);
        }
      }
    }
    expect(decodeRegisters([0x41ac, 0x0000], 'float32', 'big', 'big')).toBe(21.5);
    expect(decodeRegisters([0x0000, 0x41ac], 'float32', 'big', 'little')).toBe(21.5);
    expect(decodeRegisters([0xac41, 0x0000], 'float32', 'little', 'big')).toBe(21.5);
    expect(decodeRegisters([0xff38], 'int16', 'big', 'big')).toBe(-200);
  });
});

describe('modbus sensors against a real Modbus TCP server', () => {
  let plc: FakePlc;
  let slow: FakePlc;
  let plugin: Plugin & { readings(): Record<string, PointReading> };
  let store: SeriesStore;
  const put = (addr: number, value: number, type: RegisterType, b: Order = 'big', w: Order = 'big') => encodeRegisters(value, type, b, w).forEach((r, i) => plc.holding.set(addr + i, r));

  beforeAll(async () => {
    plc = new FakePlc(await freePort());
    slow = new FakePlc(await freePort());
    await plc.start();
    await slow.start();
    put(0, 235, 'int16'); // 23.5 °C ×10
    put(1, 512, 'uint16'); // 51.2 %
    put(2, 123456, 'uint32');
    put(4, -4321, 'int32', 'big', 'little');
    put(6, 21.75, 'float32');
    put(8, 1013.25, 'float32', 'little', 'little');
    plc.input.set(0, 600);
    slow.holding.set(0, 1);
    slow.silent.add(0);
    const config = testConfig('http://127.0.0.1:9', {
      modbus: {
        devices: [
          {
            name: 'floor',
            host: '127.0.0.1',
            port: plc.port,
            pollMs: 100,
            // Not the subject here ('mute' is): a 300 ms budget was met by a busy CI box, turning 'floor' failed.
            timeoutMs: 5000,
            maxBackoffMs: 400,
            points: [
              { name: 'floor_temp', address: 0, type: 'int16', scale: 0.1 },
              { name: 'floor_rh', address: 1, type: 'uint16', scale: 0.1, unit: 'percent' },
              { name: 'energy', address: 2, type: 'uint32', unit: 'kWh' },
              { name: 'power', address: 4, type: 'int32', wordOrder: 'little', unit: 'kW', scale: 0.001 },
              { name: 'tank_temp', address: 6, type: 'float32' },
              { name: 'pressure', address: 8, type: 'float32', byteOrder: 'little', wordOrder: 'little', unit: 'hPa' },
              { name: 'input_rh', register: 'input', address: 0, type: 'uint16', scale: 0.1, unit: 'percent' },
              { name: 'missing', address: 500, type: 'int16' },
            ],
          },
          { name: 'mute', host: '127.0.0.1', port: slow.port, pollMs: 100, timeoutMs: 200, maxBackoffMs: 400, points: [{ name: 'mute_temp', address: 0, type: 'int16' }] },
        ],
      },
    });
    store = await SeriesStore.open(join(config.dataDir, 'store'));
    const ctx = realTimePluginContext(config, store);
    plugin = createModbusSensors(ctx);
    await plugin.start();
  });
  afterAll(async () => {
    await plugin.stop();
    await plc.stop();
    await slow.stop();
    await store.close();
  });

  it('reads every data type and byte order, scaled, from holding and input registers, into the store', async () => {
    await vi.waitFor(() => expect((plugin.health().details!.devices as Record<string, { polls: number }>).floor!.polls).toBeGreaterThanOrEqual(1), { timeout: 60_000 });
    const r = plugin.readings();
    expect(r.floor_temp!.value).toBe(23.5);
    expect(r.floor_rh!.value).toBe(51.2);
    expect(r.energy!.value).toBe(123456);
    expect(r.power!.value).toBe(-4.321);
    expect(r.tank_temp!.value).toBe(21.75);
    expect(r.pressure!.value).toBe(1013.25);
    expect(r.input_rh!.value).toBe(60);
    expect((await store.latest('sensor.floor_temp'))!).toMatchObject({ value: 23.5, source: 'modbus/floor' });
  });

  it('marks a point that answers with an exception, and a device that times out, while the others keep polling', async () => {
    await vi.waitFor(() => expect(plugin.readings().missing).toMatchObject({ state: 'failed', error: 'Modbus exception 2 (illegal data address)' }), { timeout: 60_000 });
    const devices = plugin.health().details!.devices as Record<string, { state: string; code?: string; message: string; polls: number }>;
    expect(devices.floor!.state).toBe('degraded');
    await vi.waitFor(() => expect((plugin.health().details!.devices as typeof devices).mute).toMatchObject({ state: 'failed', code: 'timeout', message: expect.stringMatching(/^Timed out; reconnecting in \d+ ms$/) }), { timeout: 60_000 });
    const polls = (plugin.health().details!.devices as typeof devices).floor!.polls;
    await vi.waitFor(() => expect((plugin.health().details!.devices as typeof devices).floor!.polls).toBeGreaterThan(polls + 2), { timeout: 60_000 });
  });

  it('survives a power cycle of the device and resumes without a restart', async () => {
    await plc.stop();
    await vi.waitFor(() => expect(plugin.readings().floor_temp!.state).toBe('failed'), { timeout: 60_000 });
    const floor = () => (plugin.health().details!.devices as Record<string, { state: string; message: string; reconnects: number }>).floor!;
    expect(floor().state).toBe('failed');
    // It retries on its own, at most maxBackoffMs (400) apart: asserted on what the plugin schedules, not by a
    // wall-clock bound on the reconnect (was < 3000 ms of Date.now(), at the mercy of a busy CI box).
    await vi.waitFor(() => expect(floor().message).toMatch(/; reconnecting in 400 ms$/), { timeout: 60_000, interval: 20 });
    put(0, 241, 'int16');
    await plc.start();
    await vi.waitFor(() => expect(plugin.readings().floor_temp).toMatchObject({ state: 'ok', value: 24.1 }), { timeout: 60_000 });
    expect(floor().reconnects).toBeGreaterThanOrEqual(1);
  });
});

describe('modbus sensors at scale: blocks, fixed rate, report by exception', () => {
  const opened: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of opened.reverse()) await close();
  });

  async function setup(deviceConfig: Record<string, unknown>, plcSetup: (plc: FakePlc) => void = () => undefined) {
    const plc = new FakePlc(await freePort());
    plcSetup(plc);
    await plc.start();
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'test', allowAnonymous: true, users: [], internal: { username: 'i', password: 'i' }, reservedClientIds: [] }, silent);
    const { port } = await broker.start();
    const config = testConfig('http://127.0.0.1:9', { modbus: { devices: [{ name: 'line', host: '127.0.0.1', port: plc.port, timeoutMs: 2000, maxBackoffMs: 400, ...deviceConfig }] } });
    const store = await SeriesStore.open(join(config.dataDir, 'store'), { readings: { commitMs: 200 } });
    const clock = new SystemClock();
    const mqtt = new MqttConnection({ url: `mqtt://127.0.0.1:${port}`, base: 'test', clientId: 'gw', reconnectMs: 200 }, clock, silent);
    await mqtt.start();
    const sub = await mqttClient.connectAsync(`mqtt://127.0.0.1:${port}`);
    const messages: Array<{ topic: string; payload: Record<string, unknown>; retain: boolean }> = [];
    sub.on('message', (topic, payload, packet) => messages.push({ topic, payload: JSON.parse(payload.toString()), retain: packet.retain }));
    await sub.subscribeAsync('test/#', { qos: 1 });
    const ctx: PluginContext = { config, clock, log: silent, bus: new EventBus(), store, fetcher: new Fetcher(clock, config.fetch), mqtt, mqttUrl: '', mqttCredentials: {}, catalog: () => [] };
    const plugin = createModbusSensors(ctx);
    await plugin.start();
    opened.push(() => plc.stop(), () => broker.stop(), () => mqtt.stop(), () => sub.endAsync(), () => store.close(), () => plugin.stop());
    // Closed in reverse: the plugin first, the PLC last.
    const device = () => (plugin.health().details!.devices as Record<string, Record<string, unknown>>).line!;
    return { plc, plugin, store, messages, device, port };
  }

  it('reads 100 contiguous registers in one request per cycle, and says so in health', async () => {
    const points = Array.from({ length: 100 }, (_, i) => ({ name: `t${i}`, address: 1000 + i, type: 'int16' }));
    const { plc, plugin, device } = await setup({ pollMs: 200, points }, (p) => points.forEach((_, i) => p.holding.set(1000 + i, i)));
    await vi.waitFor(() => expect(device().polls).toBeGreaterThanOrEqual(3), { timeout: 60_000 });
    const polls = device().polls as number;
    // Today's main asks one request per point: 100 requests a cycle.
    expect(plc.requests).toBeLessThanOrEqual(polls + 1);
    expect(plc.registersRead / plc.requests).toBe(100);
    expect(device()).toMatchObject({ requests_per_cycle: 1, registers_per_cycle: 100, points: 100 });
    expect(plugin.readings().t42).toMatchObject({ value: 42, state: 'ok' });
  });

  it('bridges a gap up to maxGapRegisters, and falls back to point by point when the gap answers with an exception', async () => {
    const points = [{ name: 'a', address: 0, type: 'int16' }, { name: 'b', address: 5, type: 'float32' }, { name: 'c', address: 40, type: 'int16' }];
    const { plc, plugin, device } = await setup({ pollMs: 200, maxGapRegisters: 4, points }, (p) => [0, 1, 2, 3, 4, 5, 6, 40].forEach((a) => p.holding.set(a, a)));
    await vi.waitFor(() => expect(device().polls).toBeGreaterThanOrEqual(2), { timeout: 60_000 });
    expect(device().requests_per_cycle).toBe(2);
    expect(plugin.readings().a).toMatchObject({ value: 0, state: 'ok' });
    expect(plugin.readings().c).toMatchObject({ value: 40, state: 'ok' });
    plc.holding.delete(2); // a hole inside the bridged gap: the device refuses the whole block
    await vi.waitFor(() => expect(device().requests_per_cycle).toBe(3), { timeout: 60_000 });
    plc.holding.set(0, 7);
    await vi.waitFor(() => expect(plugin.readings().a).toMatchObject({ value: 7, state: 'ok' }), { timeout: 60_000 });
    // Point by point, every point answers: no point failed, and health reports no exception. It may still say
    // 'overrun' (a busy CI box missed a 200 ms start: seen failing 1 of 1 runs with 2 busy loops), which is true and
    // not what this test is about; any other reason fails.
    expect(['a', 'b', 'c'].map((n) => plugin.readings()[n]!.state)).toEqual(['ok', 'ok', 'ok']);
    const d = device();
    expect(d.state === 'ok' || (d.state === 'degraded' && d.code === 'overrun'), JSON.stringify(d)).toBe(true);
  });

  it('keeps a fixed schedule: a device slower than the period counts overruns and turns degraded with the achieved rate', async () => {
    const { plc, device } = await setup({ pollMs: 100, points: [{ name: 'slow', address: 0, type: 'int16' }] }, (p) => p.holding.set(0, 1));
    plc.delayMs = 250;
    await vi.waitFor(() => expect(device()).toMatchObject({ state: 'degraded', code: 'overrun' }), { timeout: 60_000 });
    const d = device();
    expect(d.overruns as number).toBeGreaterThanOrEqual(2);
    expect(d.message).toMatch(/^overrunning: [\d.?]+ polls\/s of 10\.00 wanted \(\d+ missed starts\)/);
    expect(d.achieved_polls_per_s === null || (d.achieved_polls_per_s as number) < 10).toBe(true);
  });

  it('publishes one retained message per device per cycle with a change beyond the deadband, with every point as last reported', async () => {
    const points = [
      { name: 'temp', address: 0, type: 'int16', scale: 0.1, deadband: 0.5, maxSilenceMs: 0 },
      { name: 'load', address: 1, type: 'int16', deadbandPercent: 10, maxSilenceMs: 0 },
    ];
    const { plc, messages, plugin, port } = await setup({ pollMs: 100, publish: 'device', points }, (p) => (p.holding.set(0, 200), p.holding.set(1, 100)));
    const sent = () => messages.filter((m) => m.topic === 'test/devices/line/sensors');
    await vi.waitFor(() => expect(sent()).toHaveLength(1), { timeout: 60_000 });
    expect(sent()[0]!.payload).toMatchObject({ device: 'line', points: { temp: { value: 20, state: 'ok' }, load: { value: 100, state: 'ok' } } });
    const polls = () => (plugin.health().details!.devices as Record<string, { polls: number }>).line!.polls;
    plc.holding.set(0, 204); // +0.4 °C: inside the deadband
    plc.holding.set(1, 109); // +9 %: inside the deadband
    const p0 = polls();
    await vi.waitFor(() => expect(polls()).toBeGreaterThan(p0 + 3), { timeout: 60_000 });
    expect(sent()).toHaveLength(1);
    expect(messages.filter((m) => m.topic.startsWith('test/sensors/'))).toEqual([]);
    plc.holding.set(1, 111); // +11 %: beyond
    await vi.waitFor(() => expect(sent()).toHaveLength(2), { timeout: 60_000 });
    // The retained device message holds the last reported value of every point, including the one that did not move enough.
    expect(sent()[1]!.payload).toMatchObject({ points: { temp: { value: 20 }, load: { value: 111 } } });
    const late = await mqttClient.connectAsync(`mqtt://127.0.0.1:${port}`);
    const retained = new Promise<Record<string, unknown>>((resolve) => late.on('message', (_t, payload) => resolve(JSON.parse(payload.toString()))));
    await late.subscribeAsync('test/devices/line/sensors');
    expect(await retained).toMatchObject({ points: { temp: { value: 20 }, load: { value: 111 } } });
    await late.endAsync();
  });
});
