import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeterReading } from '../../gateway/meters/reading.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { realClock, type Clock } from '../../gateway/time/clock.js';
import { createMeters } from '../../plugins/meters/index.js';
import { demoConfig } from '../../plugins/replay/demo.js';
import { plantBaseLoadKw, startSimulatedSiteMeter } from '../../plugins/replay/simulated-meter.js';
import { simulatedLines, startSimulatedPlc } from '../../plugins/replay/simulated-sensor.js';
import { realTimePluginContext } from '../helpers/context.js';

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

describe("the demo's simulated site meter", () => {
  it('is an SDM630 on real Modbus TCP whose power is the base load plus the runs the simulated PLC received, labelled simulated', async () => {
    let now = Date.UTC(2018, 0, 8, 9, 0); // 10:00 Madrid, a Monday of the demo's year
    const clock: Clock = { now: () => now, setTimeout: realClock.setTimeout.bind(realClock), sleep: realClock.sleep.bind(realClock) };
    const plc = await startSimulatedPlc();
    cleanups.push(() => plc.stop());
    const lines = simulatedLines(['mixing', 'refining', 'conching', 'tempering'], plc.port);
    const meter = await startSimulatedSiteMeter(clock, { holding: plc.holding, lines });
    cleanups.push(() => meter.stop());

    const dir = mkdtempSync(join(tmpdir(), 'choco-demo-meter-'));
    const config = demoConfig(undefined, dir, undefined, plc.port, meter.port);
    expect(config.energy.meters).toEqual([expect.objectContaining({ name: 'site-main', role: 'site', profile: 'eastron-sdm630', provenance: expect.stringMatching(/^simulated: /) })]);
    const store = await SeriesStore.open(join(dir, 'store'));
    cleanups.push(() => store.close());
    const ctx = realTimePluginContext(config, store);
    ctx.clock = clock;
    const readings: MeterReading[] = [];
    ctx.bus.on('meter.reading', 'test', (r) => {
      readings.push(r);
      now += 10_000;
    });
    const plugin = createMeters(ctx, realClock);
    await plugin.start();
    cleanups.push(() => plugin.stop());

    const idle = await until('a reading with every line idle', () => readings.find((r) => r.quality === 'good'));
    expect(idle.provenance).toMatch(/^simulated: /);
    expect(idle.kw).toBeCloseTo(plantBaseLoadKw(idle.at), 0);

    // The plan starts conching: the PLC receives run (1) and 48 kW (setpoint × 10); the meter follows.
    const conching = lines.find((l) => l.line === 'conching')!.registers;
    plc.holding.set(conching.powerSetpoint, 480);
    plc.holding.set(conching.command, 1);
    const running = await until('the run in the meter', () => readings.find((r) => r.at > idle.at && r.kw! > plantBaseLoadKw(r.at) + 40));
    expect(running.kw).toBeCloseTo(plantBaseLoadKw(running.at) + 48, 0);
    // Its counter integrates that power on the gateway clock: the rise between two readings is power × time.
    const next = await until('the next reading', () => readings.find((r) => r.at > running.at && r.quality === 'good'));
    expect(next.importKwh! - running.importKwh!).toBeGreaterThan(0);
    expect(next.importKwh! - running.importKwh!).toBeLessThan(((plantBaseLoadKw(next.at) + 60) * (next.at - running.at)) / 3_600_000);
    expect(readings.every((r) => r.quality !== 'failed')).toBe(true);
  });
});
