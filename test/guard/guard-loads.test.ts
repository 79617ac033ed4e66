import { createServer } from 'node:net';
import modbusSerial from 'modbus-serial';
import { describe, expect, it, vi } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { createPowerGuard } from '../../plugins/power-guard/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';

const { ServerTCP } = modbusSerial as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP };
const MIN = 60_000;

async function coilServer(state: { on: boolean; writes: number }) {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const server = new ServerTCP({ getCoil: () => state.on, setCoil: (_a: number, v: boolean) => { state.on = v; state.writes++; } } as never, { host: '127.0.0.1', port, unitID: 1 });
  await new Promise<void>((r) => server.on('initialized', () => r()));
  return { port, stop: () => new Promise<void>((r) => { for (const s of server.socks.keys()) s.destroy(); server.close(() => r()); }) };
}

async function guardWith(port: number, maxOffMinutes: number) {
  const config = testConfig('http://127.0.0.1:9', {
    energy: {
      contract: { tariff: '6.1TD', contractedKw: [300, 300, 300, 300, 300, 300], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { indexed: { marginEurMwh: 0 } } },
      meters: [{ name: 'main', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: 1502 }],
      powerGuard: { enabled: true, marginKw: 0, checkEverySeconds: 5, interruptible: [{ name: 'cold-room', kw: 50, host: '127.0.0.1', port, coil: 3, timeoutMs: 5_000, maxOffMinutes, minOnMinutes: 0 }] },
    },
  });
  // The gateway's clock stays inside one quarter-hour; device time runs on its own clock (real seconds on a box).
  const clock = new FakeClock('2025-01-15T09:00:30Z');
  const device = new FakeClock(0);
  const bus = new EventBus();
  const alerts: Array<BusEvents['alert']> = [];
  bus.on('alert', 't', (a) => alerts.push(a));
  const ctx: PluginContext = { config, clock, deviceClock: device, log: silent, bus, store: undefined as never, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: '', mqttCredentials: {}, catalog: () => [] };
  const guard = createPowerGuard(ctx);
  await guard.start();
  bus.emit('meter.reading', { meter: 'main', role: 'site', at: clock.now(), kw: 330, importKwh: null, quality: 'good' });
  return { guard, device, alerts };
}

describe('interruptible loads', () => {
  it('switches the coil off when the projection passes the limit and back on after maxOffMinutes of device time', async () => {
    const coil = { on: true, writes: 0 };
    const server = await coilServer(coil);
    const { guard, device } = await guardWith(server.port, 2);
    await guard.check();
    expect(coil.on).toBe(false);
    expect(guard.health().message).toMatch(/off: cold-room/);
    // 1 min of device time: still off; 2 min: on again, though the gateway's quarter-hour has not ended.
    await device.advance(MIN);
    await guard.check();
    expect(coil.on).toBe(false);
    await device.advance(MIN);
    await guard.check();
    expect(coil.on).toBe(true);
    const loads = guard.actions().filter((a) => a.kind !== 'excess');
    expect(loads.map((a) => a.kind)).toEqual(['load-off', 'load-on']);
    expect(loads[1]!.reason).toMatch(/2 min off reached/);
    // Its off-time of this quarter-hour is spent: it is not held again, and the guard says the quarter-hour will pass.
    await guard.check();
    expect(coil.on).toBe(true);
    expect(guard.actions().some((a) => a.kind === 'excess')).toBe(true);
    await guard.stop();
    await server.stop();
  });

  it('does not count a load it could not switch off, and says so in health', async () => {
    const { guard, alerts } = await guardWith(await freePort(), 10); // nothing listens there
    await guard.check();
    expect(guard.actions().filter((a) => a.kind === 'load-off')).toEqual([]);
    expect(guard.health()).toMatchObject({ state: 'degraded', code: 'coil_write_failed' });
    // With nothing it could defer, the projection stays above the limit: POWER_GUARD_EXCESS.
    await vi.waitFor(() => expect(alerts.some((a) => a.code === 'POWER_GUARD_EXCESS')).toBe(true), { timeout: 60_000, interval: 20 });
    // ... naming the rule the bill charges (a 300 kW 6.1TD: the quarter-hour formula, not a maxímetro)
    expect(alerts.find((a) => a.code === 'POWER_GUARD_EXCESS')!.message).toMatch(/the bill charges Kp × tep × sqrt\(Σ \(Pd − Pc\)²\)/);
    await guard.stop();
  });
});
