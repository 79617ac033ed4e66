import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../gateway/bus.js';
import { SystemClock } from '../../gateway/clock.js';
import { Fetcher } from '../../gateway/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { Plugin, PluginContext } from '../../gateway/plugin.js';
import { SeriesStore } from '../../gateway/store/series-store.js';
import { decodeRegisters, encodeRegisters, type Order, type RegisterType } from '../../plugins/modbus-sensors/decode.js';
import { createModbusSensors, type PointReading } from '../../plugins/modbus-sensors/index.js';
import { silent, testConfig } from '../helpers/context.js';
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
            timeoutMs: 300,
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
    const clock = new SystemClock();
    const ctx: PluginContext = {
      config,
      clock,
      log: silent,
      bus: new EventBus(),
      store,
      fetcher: new Fetcher(clock, config.fetch),
      mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 'test', clientId: 'x', reconnectMs: 1000 }, clock, silent),
      mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [],
    };
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
    // A whole cycle (one fsynced store write per point) takes a while on a busy box: wait for its last point.
    await vi.waitFor(() => expect(plugin.readings().input_rh!.state).toBe('ok'), { timeout: 10_000 });
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
    await vi.waitFor(() => expect(plugin.readings().missing).toMatchObject({ state: 'failed', error: 'Modbus exception 2 (illegal data address)' }), { timeout: 10_000 });
    const devices = plugin.health().details!.devices as Record<string, { state: string; code?: string; message: string; polls: number }>;
    expect(devices.floor!.state).toBe('degraded');
    await vi.waitFor(() => expect((plugin.health().details!.devices as typeof devices).mute).toMatchObject({ state: 'failed', code: 'timeout', message: expect.stringMatching(/^Timed out; reconnecting in \d+ ms$/) }), { timeout: 5000 });
    const polls = (plugin.health().details!.devices as typeof devices).floor!.polls;
    await vi.waitFor(() => expect((plugin.health().details!.devices as typeof devices).floor!.polls).toBeGreaterThan(polls + 2), { timeout: 5000 });
  });

  it('survives a power cycle of the device and resumes without a restart', async () => {
    await plc.stop();
    await vi.waitFor(() => expect(plugin.readings().floor_temp!.state).toBe('failed'), { timeout: 5000 });
    expect((plugin.health().details!.devices as Record<string, { state: string }>).floor!.state).toBe('failed');
    put(0, 241, 'int16');
    const back = Date.now();
    await plc.start();
    await vi.waitFor(() => expect(plugin.readings().floor_temp).toMatchObject({ state: 'ok', value: 24.1 }), { timeout: 5000 });
    expect(Date.now() - back).toBeLessThan(3000);
    expect((plugin.health().details!.devices as Record<string, { reconnects: number }>).floor!.reconnects).toBeGreaterThanOrEqual(1);
  });
});
