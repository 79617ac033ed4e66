import { join } from 'node:path';
import mqttClient from 'mqtt';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { EmbeddedBroker } from '../../gateway/mqtt/broker.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { createModbusSensors } from '../../plugins/modbus-sensors/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

/**
 * Issue #27 fault 3: with `publish: device` the retained `devices/<device>/sensors` said "ok" 75 s after the sensor was
 * powered off. Real parts: a modbus-serial ServerTCP that goes away, the embedded (aedes) broker, a late subscriber.
 */
describe('retained device and point messages carry failure as soon as health knows it, whatever the publish mode', () => {
  const opened: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  });

  async function setup(publish: 'device' | 'point') {
    const plc = new FakePlc(await freePort());
    plc.holding.set(0, 215);
    plc.holding.set(1, 480);
    await plc.start();
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'test', allowAnonymous: true, users: [], internal: { username: 'i', password: 'i' }, reservedClientIds: [] }, silent);
    const { port } = await broker.start();
    const points = [
      { name: `${publish}_temp`, address: 0, type: 'int16', scale: 0.1, unit: 'degC' },
      { name: `${publish}_rh`, address: 1, type: 'int16', scale: 0.1, unit: 'percent' },
      { name: `${publish}_never`, address: 900, type: 'int16' }, // an address the sensor does not have: never a value
    ];
    const config = testConfig('http://127.0.0.1:9', { modbus: { devices: [{ name: 'sensor', host: '127.0.0.1', port: plc.port, pollMs: 200, timeoutMs: 300, maxBackoffMs: 400, maxGapRegisters: 0, publish, points }] } });
    const store = await SeriesStore.open(join(config.dataDir, 'store'), { readings: { commitMs: 200 } });
    const clock = new SystemClock();
    const mqtt = new MqttConnection({ url: `mqtt://127.0.0.1:${port}`, base: 'test', clientId: 'gw', reconnectMs: 200 }, clock, silent);
    await mqtt.start();
    const ctx: PluginContext = { config, clock, log: silent, bus: new EventBus(), store, fetcher: new Fetcher(clock, config.fetch), mqtt, mqttUrl: '', mqttCredentials: {}, catalog: () => [] };
    const plugin = createModbusSensors(ctx);
    await plugin.start();
    opened.push(() => plc.stop(), () => broker.stop(), () => mqtt.stop(), () => store.close(), () => plugin.stop());
    /**
     * What a subscriber connecting now reads as retained under `filter`: after a moment (150 ms), or, given `want`
     * (topics known to be retained by now), once each of them has arrived: on a busy box the retained messages can
     * come later than a moment after the SUBACK, and a single read (not retried by a waitFor) then found nothing.
     */
    const retained = async (filter: string, want: string[] = []): Promise<Record<string, any>> => {
      const late = await mqttClient.connectAsync(`mqtt://127.0.0.1:${port}`);
      const got: Record<string, any> = {};
      late.on('message', (topic, payload, packet) => {
        if (packet.retain && payload.length) got[topic] = JSON.parse(payload.toString());
      });
      await late.subscribeAsync(filter, { qos: 1 });
      if (want.length) await vi.waitFor(() => expect(Object.keys(got)).toEqual(expect.arrayContaining(want)), { timeout: 60_000, interval: 10 });
      else await new Promise((r) => setTimeout(r, 150));
      await late.endAsync();
      return got;
    };
    const device = () => (plugin.health().details!.devices as Record<string, { state: string }>).sensor!;
    return { plc, plugin, retained, device };
  }

  it('publish: device — the summary says each point failed with its reason within moments of the sensor going away', async () => {
    const { plc, plugin, retained, device } = await setup('device');
    const topic = 'test/devices/sensor/sensors';
    await vi.waitFor(async () => expect((await retained(topic))[topic]?.points?.device_temp).toMatchObject({ value: 21.5, state: 'ok' }), { timeout: 60_000 });
    const before = (await retained(topic, [topic]))[topic];
    expect(before.points.device_rh).toMatchObject({ value: 48, state: 'ok' });

    const off = Date.now();
    await plc.stop();
    await vi.waitFor(() => expect(device().state).toBe('failed'), { timeout: 60_000 });
    const healthKnewMs = Date.now() - off;
    await vi.waitFor(async () => expect((await retained(topic))[topic]?.points?.device_temp?.state).toBe('failed'), { timeout: 60_000 });
    const retainedSaidMs = Date.now() - off;
    const after = (await retained(topic, [topic]))[topic];
    expect(after.points.device_temp).toMatchObject({ value: 21.5, state: 'failed', error: expect.stringMatching(/^device unreachable: /) });
    expect(after.points.device_rh).toMatchObject({ value: 48, state: 'failed', error: expect.stringMatching(/^device unreachable: /) });
    expect(after.points.device_never).toMatchObject({ value: null, at: null, state: 'failed', error: expect.stringMatching(/^no value yet: device unreachable: /) });
    console.log(`publish: device — health failed after ${healthKnewMs} ms, retained summary failed after ${retainedSaidMs} ms (main: still "ok" 75 s later)`);

    // Back: the summary says ok again without waiting for a value to move beyond its deadband.
    await plc.start();
    await vi.waitFor(async () => expect((await retained(topic))[topic]?.points?.device_temp).toMatchObject({ value: 21.5, state: 'ok' }), { timeout: 60_000 });
    expect(plugin.readings().device_rh).toMatchObject({ state: 'ok', value: 48 });
    // The point that never got a value says so, with the device's answer.
    await vi.waitFor(async () => expect((await retained(topic))[topic]?.points?.device_never).toEqual({ value: null, unit: 'degC', at: null, state: 'failed', error: 'no value yet: Modbus exception 2 (illegal data address)' }), { timeout: 60_000 });
  });

  it('publish: point — each point topic says failed, and a point that never got a value says so instead of staying silent', async () => {
    const { plc, retained } = await setup('point');
    await vi.waitFor(async () => expect((await retained('test/sensors/#'))['test/sensors/point_never']).toMatchObject({ value: null, at: null, state: 'failed', error: 'no value yet: Modbus exception 2 (illegal data address)' }), { timeout: 60_000 });
    expect((await retained('test/sensors/#', ['test/sensors/point_temp']))['test/sensors/point_temp']).toMatchObject({ value: 21.5, state: 'ok' });
    await plc.stop();
    await vi.waitFor(async () => expect((await retained('test/sensors/#'))['test/sensors/point_temp']).toMatchObject({ value: 21.5, state: 'failed', error: expect.stringMatching(/^device unreachable: /) }), { timeout: 60_000 });
    await plc.start();
    await vi.waitFor(async () => expect((await retained('test/sensors/#'))['test/sensors/point_temp']).toMatchObject({ value: 21.5, state: 'ok' }), { timeout: 60_000 });
  });
});
