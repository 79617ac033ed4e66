import { createServer } from 'node:net';
import modbusSerial from 'modbus-serial';
import { describe, expect, it, vi } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { OutputMode } from '../../gateway/core/output-mode.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { createPowerGuard } from '../../plugins/power-guard/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const { ServerTCP } = modbusSerial as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP };

/** A real Modbus TCP server (modbus-serial ServerTCP) holding the cold room's enable coil 0; it counts every coil write it receives. */
async function coldRoom(state: { on: boolean; writes: boolean[] }) {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const server = new ServerTCP(
    {
      getCoil: (addr: number) => (addr === 0 ? state.on : false),
      setCoil: (addr: number, value: boolean) => {
        state.writes.push(value);
        if (addr === 0) state.on = value;
      },
    } as never,
    { host: '127.0.0.1', port, unitID: 1 },
  );
  await new Promise<void>((r) => server.on('initialized', () => r()));
  return { port, stop: () => new Promise<void>((r) => { for (const s of server.socks.keys()) s.destroy(); server.close(() => r()); }) };
}

/**
 * The quarter-hour guard in the write-nothing mode (outputs.dryRun), on 2025-01-15 (P1 from 09:00 local), contract
 * 450 kW, margin 10 kW: base 280 kW + the conche (48 kW, run by hand while the gateway is commissioned) + a spike of
 * +120 kW from 10:03 to 10:25 local + a cold room of 40 kW on a real Modbus coil (the site meter's readings follow
 * the coil); tempering planned from 10:15. The mode is on until 10:20, off until 10:22, on again after.
 */
describe('the quarter-hour guard follows the write-nothing mode (real Modbus TCP coil)', () => {
  it('writes no coil and defers no run while on, says what it would do (health, /api/outputs); acts at once when off; gives the load back when on again', async () => {
    const at = (hhmm: string) => Date.parse(`2025-01-15T${hhmm}:00+01:00`);
    const t0 = at('09:45');
    const coil = { on: true, writes: [] as boolean[] };
    const room = await coldRoom(coil);
    const config = testConfig('http://127.0.0.1:9', {
      outputs: { dryRun: true },
      energy: {
        contract: { tariff: '6.1TD', contractedKw: [450, 450, 450, 450, 450, 450], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { indexed: { marginEurMwh: 0 } } },
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: 9 }],
        powerGuard: { enabled: true, marginKw: 10, checkEverySeconds: 5, interruptible: [{ name: 'cold-room', kw: 40, host: '127.0.0.1', port: room.port, coil: 0, maxOffMinutes: 10, minOnMinutes: 0 }] },
      },
    });
    const clock = new FakeClock(t0);
    const bus = new EventBus();
    const outputs = new OutputMode({ dryRun: true, clock, bus });
    await outputs.start();
    const events: Array<BusEvents['power.guard']> = [];
    bus.on('power.guard', 'test', (e) => events.push(e));
    const ctx: PluginContext = {
      config, clock, deviceClock: clock, log: silent, bus, store: undefined as never, outputs, fetcher: new Fetcher(clock, config.fetch),
      mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [],
    };
    const guard = createPowerGuard(ctx);
    await guard.start();
    bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: planDocument(t0, [lineRun('conching', t0 - 2 * 3_600_000, t0 + 3 * 3_600_000, 48), lineRun('tempering', at('10:15'), at('12:15'), 36)]) });
    let importKwh = 1000;
    const run = async (until: number) => {
      for (let t = clock.now(); t < until; t += 5_000) {
        const kw = 280 + 48 + (t >= at('10:03') && t < at('10:25') ? 120 : 0) + (coil.on ? 40 : 0);
        bus.emit('meter.reading', { meter: 'site', role: 'site', at: t, kw, importKwh, quality: 'good' });
        importKwh += (kw * 5) / 3600;
        await clock.advance(5_000);
      }
    };
    try {
      await run(at('10:20'));
      await guard.check();
      // On: the coil was never written (the server saw no write) and the cold room ran throughout; no run was moved.
      expect(coil.writes).toEqual([]);
      expect(coil.on).toBe(true);
      expect(events.length).toBeGreaterThan(100);
      expect(events.flatMap((e) => [...e.shifts, ...e.loadsOff])).toEqual([]);
      // What it would have done is said: its actions, its health and the held-back writes (/api/outputs).
      const actions = guard.actions();
      expect(actions.some((a) => a.kind === 'load-off' && /^dry run: would switch interruptible load cold-room \(40 kW\) off until .*coil 0 reads 1; nothing written/.test(a.what))).toBe(true);
      expect(actions.some((a) => a.kind === 'defer-run' && /^dry run: would hold start of .* on line tempering/.test(a.what) && /P1/.test(a.reason))).toBe(true);
      expect(actions.some((a) => !/^dry run/.test(a.what) && a.kind !== 'excess')).toBe(false);
      const shown = outputs.wouldWrites();
      expect(shown.find((w) => w.via === 'modbus')).toMatchObject({ target: `interruptible load cold-room (127.0.0.1:${room.port} unit 1 coil 0)`, values: { 'coil 0': false } });
      expect(shown.find((w) => w.via === 'power-guard')).toMatchObject({ target: 'run start tempering', values: { line: 'tempering', planned_start: new Date(at('10:15')).toISOString(), shift_min: 15 } });
      const health = guard.health();
      expect(health.message).toMatch(/dry run, nothing written: would switch off: cold-room; would defer run starts: tempering \+15 min/);
      expect(health.details).toMatchObject({ dryRun: true, wouldSwitchOff: [{ name: 'cold-room', kw: 40 }], wouldDefer: [{ line: 'tempering', shiftMin: 15 }] });

      // Off at 10:20 (the spike still on): the guard checks at once and switches the coil off for real.
      await outputs.set(false, 'test', 'guard commissioned');
      // The coil is written over real TCP: wait for the server to see it (the fake clock does not wait for I/O).
      await vi.waitFor(() => expect(coil.writes).toEqual([false]), { timeout: 60_000 });
      await run(at('10:20') + 10_000);
      expect(coil.writes).toEqual([false]);
      expect(coil.on).toBe(false);
      expect(events.at(-1)!.loadsOff.map((l) => l.name)).toEqual(['cold-room']);
      expect(outputs.wouldWrites()).toEqual([]);

      // On again at 10:22: the load it holds is given back at once, then no coil is written however high the projection.
      await run(at('10:22'));
      await outputs.set(true, 'test', 'meter swap');
      await vi.waitFor(() => expect(coil.writes).toEqual([false, true]), { timeout: 60_000 });
      await run(at('10:22') + 10_000);
      expect(coil.writes).toEqual([false, true]);
      expect(coil.on).toBe(true);
      await run(at('10:35'));
      // Let any check still waiting on the network finish before counting.
      await guard.check();
      expect(coil.writes).toEqual([false, true]);
      expect(guard.actions().some((a) => a.kind === 'load-on' && /write-nothing mode was switched on/.test(a.reason))).toBe(true);
    } finally {
      await guard.stop();
      await room.stop();
    }
  }, 120_000);
});
