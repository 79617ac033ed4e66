import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SystemClock } from '../../gateway/time/clock.js';
import { Gateway } from '../../gateway/controller.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

const BASE = 'choco-edge';
const LINE_STATE = `${BASE}/lines/conching/state`;
const SENSOR = `${BASE}/sensors/floor_temp`;
const HEALTH = `${BASE}/bridge/health`;

/** What a subscriber connecting now reads: the retained message of each topic (waits until all are there). */
async function retainedNow(url: string, wanted: string[]): Promise<Record<string, any>> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const got: Record<string, any> = {};
  client.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length) got[topic] = JSON.parse(payload.toString());
  });
  try {
    await client.subscribeAsync(`${BASE}/#`, { qos: 1 });
    await vi.waitFor(() => expect(Object.keys(got)).toEqual(expect.arrayContaining(wanted)), { timeout: 60_000 });
    return got;
  } finally {
    await client.endAsync();
  }
}

describe('retained state carries failure: a late subscriber never reads "ok" for a device that is gone (Mosquitto, real Modbus servers)', () => {
  let broker: Mosquitto;
  let plc: FakePlc;
  let sensor: FakePlc;
  let gw: Gateway;
  let url: string;

  beforeAll(async () => {
    broker = new Mosquitto(await freePort());
    await broker.start();
    url = `mqtt://127.0.0.1:${broker.port}`;
    plc = new FakePlc(await freePort());
    await plc.start();
    sensor = new FakePlc(await freePort());
    sensor.holding.set(0, 215);
    await sensor.start();
    const config = testConfig('http://127.0.0.1:9', {
      mqtt: { base: BASE, external: { url } },
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } },
      lines: [{ line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 300, timeoutMs: 300, maxBackoffMs: 400, registers: { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104 } }],
      modbus: { devices: [{ name: 'floor', host: '127.0.0.1', port: sensor.port, pollMs: 300, timeoutMs: 300, maxBackoffMs: 500, points: [{ name: 'floor_temp', address: 0, type: 'int16', scale: 0.1, unit: 'degC' }] }] },
    });
    gw = new Gateway({ config, clock: new SystemClock(), log: silent });
    await gw.start();
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    await plc?.stop();
    await sensor?.stop();
    await broker?.stop();
  });

  it('says ok while the PLC and the sensor answer', async () => {
    await vi.waitFor(async () => {
      const r = await retainedNow(url, [LINE_STATE, SENSOR, HEALTH]);
      expect(r[LINE_STATE]).toMatchObject({ line: 'conching', state: 'ok', error: null });
      expect(r[SENSOR]).toMatchObject({ state: 'ok', value: 21.5 });
      expect(r[HEALTH].plugins['modbus-lines'].state).toBe('ok');
    }, { timeout: 60_000, interval: 200 });
  });

  it('after the PLC and the sensor stop answering: failed, with the reason, on every retained topic', async () => {
    await plc.stop();
    await sensor.stop();
    await vi.waitFor(async () => {
      const r = await retainedNow(url, [LINE_STATE, SENSOR, HEALTH]);
      expect(r[LINE_STATE]).toMatchObject({ state: 'failed', written: { command: 'idle' } });
      expect(r[LINE_STATE].error).toMatch(/write failed/);
      expect(r[SENSOR]).toMatchObject({ state: 'failed', value: 21.5 });
      expect(r[HEALTH].plugins['modbus-lines'].state).toBe('failed');
      expect(r[HEALTH].plugins['modbus-sensors'].state).not.toBe('ok');
    }, { timeout: 60_000, interval: 200 });
  });

  it('turns ok again when the PLC is back, and "stopped" when the gateway stops', async () => {
    await plc.start();
    await vi.waitFor(async () => expect((await retainedNow(url, [LINE_STATE]))[LINE_STATE].state).toBe('ok'), { timeout: 60_000, interval: 200 });
    await vi.waitFor(async () => expect((await retainedNow(url, [HEALTH]))[HEALTH].plugins['modbus-lines'].state).toBe('ok'), { timeout: 60_000, interval: 200 });
    await gw.stop();
    const r = await retainedNow(url, [LINE_STATE, `${BASE}/bridge/state`]);
    expect(r[LINE_STATE].state).toBe('stopped');
    expect(r[`${BASE}/bridge/state`].state).toBe('offline');
  });
});
