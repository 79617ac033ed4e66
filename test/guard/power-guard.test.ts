import { createServer } from 'node:net';
import modbusSerial from 'modbus-serial';
import { describe, expect, it } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { connectModbus, closeModbus } from '../../gateway/modbus/client.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { createModbusLines } from '../../plugins/modbus-lines/index.js';
import { createPowerGuard } from '../../plugins/power-guard/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { FakePlc } from '../helpers/plc.js';
import { freePort } from '../helpers/mosquitto.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const { ServerTCP } = modbusSerial as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP };
const MIN = 60_000;
const QH = 15 * MIN;

/** A real Modbus TCP server (modbus-serial ServerTCP): the site meter (SDM630 map: FC4 float32 high word first, power W at 0x34, import kWh at 0x48) and the cold room's enable coil 0. */
async function siteDevices(state: { powerW: number; importKwh: number; coldRoomOn: boolean }) {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const f32 = (x: number, hi: boolean) => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(x);
    return hi ? b.readUInt16BE(0) : b.readUInt16BE(2);
  };
  const server = new ServerTCP(
    {
      getInputRegister: (addr: number) => {
        if (addr === 0x34 || addr === 0x35) return f32(state.powerW, addr === 0x34);
        if (addr === 0x48 || addr === 0x49) return f32(state.importKwh, addr === 0x48);
        return 0;
      },
      getCoil: (addr: number) => (addr === 0 ? state.coldRoomOn : false),
      setCoil: (addr: number, value: boolean) => {
        if (addr === 0) state.coldRoomOn = value;
      },
    } as never,
    { host: '127.0.0.1', port, unitID: 1 },
  );
  await new Promise<void>((r) => server.on('initialized', () => r()));
  return { port, stop: () => new Promise<void>((r) => { for (const s of server.socks.keys()) s.destroy(); server.close(() => r()); }) };
}

/**
 * The simulated site, replaying a spike trace on 2025-01-15 (a Wednesday in January: P1 from 09:00 local), contract
 * 450 kW in every period, guard margin 10 kW:
 * - base load 280 kW, and a compressor-bank spike of +120 kW from 10:03 to 10:25 local;
 * - a cold room of 40 kW (interruptible: coil 0, at most 10 min off);
 * - conching (48 kW) running all along (begun before: never to be interrupted);
 * - tempering (36 kW) planned from 10:15 to 12:15 (not begun: its start may wait).
 * The meter's power is base + cold room (per the coil) + what the PLC's registers say each line runs (the commands
 * the gateway wrote, read back from the real Modbus server standing in for the PLC).
 */
async function simulate(guard: boolean) {
  const t0 = Date.parse('2025-01-15T08:45:00Z'); // 09:45 local
  const end = Date.parse('2025-01-15T10:00:00Z'); // 11:00 local
  const at = (hhmm: string) => Date.parse(`2025-01-15T${hhmm}:00+01:00`);
  const plc = new FakePlc(await freePort());
  await plc.start();
  const state = { powerW: 0, importKwh: 1000, coldRoomOn: true };
  const site = await siteDevices(state);
  const registers = (i: number) => ({ command: 100 * i, powerSetpoint: 100 * i + 1, validUntil: 100 * i + 2, heartbeat: 100 * i + 4 });
  const config = testConfig('http://127.0.0.1:9', {
    lines: [
      { line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 5_000, timeoutMs: 10_000, registers: registers(1) },
      { line: 'tempering', host: '127.0.0.1', port: plc.port, watchdogMs: 5_000, timeoutMs: 10_000, registers: registers(2) },
    ],
    energy: {
      contract: { tariff: '6.1TD', contractedKw: [450, 450, 450, 450, 450, 450], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { indexed: { marginEurMwh: 0 } } },
      meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: site.port }],
      powerGuard: { enabled: true, marginKw: 10, checkEverySeconds: 5, interruptible: [{ name: 'cold-room', kw: 40, host: '127.0.0.1', port: site.port, coil: 0, maxOffMinutes: 10, minOnMinutes: 0 }] },
    },
  });
  const clock = new FakeClock(t0);
  const bus = new EventBus();
  const alerts: Array<BusEvents['alert']> = [];
  bus.on('alert', 'test', (a) => alerts.push(a));
  const ctx: PluginContext = {
    config, clock, deviceClock: clock, log: silent, bus, store: undefined as never, fetcher: new Fetcher(clock, config.fetch),
    mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [],
  };
  const lines = createModbusLines(ctx);
  const guardPlugin = guard ? createPowerGuard(ctx) : null;
  await lines.start();
  await guardPlugin?.start();
  const doc = planDocument(t0, [lineRun('conching', t0 - 2 * 3_600_000, t0 + 3 * 3_600_000, 48), lineRun('tempering', at('10:15'), at('12:15'), 36)]);
  bus.emit('plan.updated', { version: 1, planId: 'p#1', doc });
  // The test reads the meter over Modbus and emits meter.reading as plugins/meters does (its plugin is not wired here).
  const reader = await connectModbus({ transport: 'tcp', host: '127.0.0.1', port: site.port, baudRate: 9600, unitId: 1, timeoutMs: 10_000 }, 'test meter');
  const perQh = new Map<number, number>(); // kWh per quarter-hour, the simulated truth
  const conchingCommands = new Set<number>();
  const temperingStarts: number[] = [];
  let temperingWasRunning = false;
  const lineKw = (i: number) => (plc.holding.get(100 * i) === 1 ? (plc.holding.get(100 * i + 1) ?? 0) / 10 : 0);
  for (let t = t0; t < end; t += 5_000) {
    const base = 280 + (t >= at('10:03') && t < at('10:25') ? 120 : 0);
    const kw = base + (state.coldRoomOn ? 40 : 0) + lineKw(1) + lineKw(2);
    if (t >= t0 + MIN) conchingCommands.add(plc.holding.get(100) ?? -1);
    if (lineKw(2) > 0 && !temperingWasRunning) temperingStarts.push(t);
    temperingWasRunning = lineKw(2) > 0;
    state.powerW = kw * 1000;
    const r = await reader.readInputRegisters(0x34, 2);
    const e = await reader.readInputRegisters(0x48, 2);
    const b = Buffer.alloc(8);
    b.writeUInt16BE(r.data[0]!, 0); b.writeUInt16BE(r.data[1]!, 2); b.writeUInt16BE(e.data[0]!, 4); b.writeUInt16BE(e.data[1]!, 6);
    bus.emit('meter.reading', { meter: 'site', role: 'site', at: t, kw: b.readFloatBE(0) / 1000, importKwh: b.readFloatBE(4), quality: 'good' });
    const q = Math.floor(t / QH) * QH;
    perQh.set(q, (perQh.get(q) ?? 0) + (kw * 5) / 3600);
    state.importKwh += (kw * 5) / 3600;
    await clock.advance(5_000);
  }
  const actions = guardPlugin?.actions() ?? [];
  const health = guardPlugin?.health();
  await guardPlugin?.stop();
  await lines.stop();
  await closeModbus(reader);
  await site.stop();
  await plc.stop();
  const averages = [...perQh.entries()].filter(([q]) => q >= t0 + 0).map(([q, kwh]) => ({ q, kw: 4 * kwh }));
  return { averages, above: averages.filter((a) => a.kw > 450), conchingCommands, temperingStarts, actions, alerts, health, at, validUntil: plc.holding.get(202)! * 65536 + plc.holding.get(203)! };
}

describe('quarter-hour guard on a simulated site (real Modbus TCP meter, PLC and coil)', () => {
  it('keeps every quarter-hour within the contracted power with the guard, not without; never interrupts the conche; the deferred run keeps its length', async () => {
    const without = await simulate(false);
    const withGuard = await simulate(true);
    // Without the guard the spike trace tops 450 kW in at least one quarter-hour; with it in none.
    expect(without.above.length, JSON.stringify(without.averages)).toBeGreaterThanOrEqual(1);
    expect(withGuard.above, JSON.stringify(withGuard.averages)).toEqual([]);
    // The conche ran throughout in both (command 1 every step after the first write).
    expect([...without.conchingCommands]).toEqual([1]);
    expect([...withGuard.conchingCommands]).toEqual([1]);
    // Tempering began once, at 10:15 without the guard and at a later quarter-hour with it, for its full 2 hours.
    expect(without.temperingStarts).toHaveLength(1);
    expect(without.temperingStarts[0]! - without.at('10:15')).toBeLessThan(MIN);
    expect(withGuard.temperingStarts).toHaveLength(1);
    const shift = Math.round((withGuard.temperingStarts[0]! - withGuard.at('10:15')) / QH) * QH;
    expect(shift).toBeGreaterThanOrEqual(QH);
    expect(withGuard.validUntil * 1000).toBe(withGuard.at('12:15') + shift);
    // It said what it deferred and why: in its actions, alerts and health.
    expect(withGuard.actions.some((a) => a.kind === 'defer-run' && /tempering/.test(a.what) && /P1/.test(a.reason))).toBe(true);
    expect(withGuard.actions.some((a) => a.kind === 'load-off' && /cold-room/.test(a.what))).toBe(true);
    expect(withGuard.alerts.some((a) => a.code === 'POWER_GUARD_DEFERRED')).toBe(true);
    expect(JSON.stringify(withGuard.health)).toContain('cold-room');
  }, 120_000);
});
