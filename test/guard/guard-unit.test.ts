import { describe, expect, it } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { QuarterHourEnergy, slackMs, type PlannedRun } from '../../plugins/power-guard/guard.js';
import { createPowerGuard, powerGuardPlugin } from '../../plugins/power-guard/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const MIN = 60_000;
const QH = 15 * MIN;

describe('projected quarter-hour average', () => {
  it('is energy so far (from the import counter) + power now × time left, × 4', () => {
    const qh = Date.parse('2025-01-15T09:00:00Z');
    const e = new QuarterHourEnergy();
    e.reading(qh + MIN, 400, 1000);
    expect(e.projectedKw(qh + MIN)).toBeCloseTo(400, 9);
    // Five minutes at 400 kW then 600 kW: 400 × 5/60 + 600 × 10/60 kWh over 15 min → 533.3 kW average.
    e.reading(qh + 5 * MIN, 600, 1000 + (400 * 4) / 60);
    expect(e.projectedKw(qh + 5 * MIN)).toBeCloseTo(4 * ((400 * 5) / 60 + (600 * 10) / 60), 6);
    // A meter without a counter: the power is integrated.
    const f = new QuarterHourEnergy();
    f.reading(qh, 300, null);
    f.reading(qh + 6 * MIN, 300, null);
    expect(f.projectedKw(qh + 6 * MIN)).toBeCloseTo(300, 9);
    // No reading in this quarter-hour yet: no projection.
    expect(f.projectedKw(qh + QH + MIN)).toBeNull();
  });
});

describe('a deferred start never breaks a batch', () => {
  const run = (line: string, process: string, batch: number, start: number, end: number): PlannedRun => ({ line, process, batch, start, end, kw: 10 });
  it('leaves the run before the next run on its line and before the next process of the same batch', () => {
    const t = Date.parse('2025-01-15T09:00:00Z');
    const order = ['mixing', 'refining', 'conching', 'tempering'];
    const refining = run('refining', 'refining', 3, t, t + 4 * 60 * MIN);
    const runs = [refining, run('refining', 'refining', 4, t + 5 * 60 * MIN, t + 9 * 60 * MIN), run('conching', 'conching', 3, t + 4 * 60 * MIN + 30 * MIN, t + 10 * 60 * MIN)];
    expect(slackMs(refining, runs, order, t + 48 * 60 * MIN, () => 0)).toBe(30 * MIN);
    // The conche of the same batch already moved 30 min later: one hour of slack, but the line's next run at +5 h caps it.
    expect(slackMs(refining, runs, order, t + 48 * 60 * MIN, (r) => (r.process === 'conching' ? 30 * MIN : 0))).toBe(60 * MIN);
    expect(slackMs(refining, runs.slice(0, 1), order, t + 4 * 60 * MIN + 10 * MIN, () => 0)).toBe(10 * MIN);
  });
});

async function guardOn(runs: ReturnType<typeof lineRun>[], at: string) {
  const config = testConfig('http://127.0.0.1:9', {
    energy: {
      contract: { tariff: '6.1TD', contractedKw: [300, 300, 300, 300, 300, 300], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { indexed: { marginEurMwh: 0 } } },
      meters: [{ name: 'main', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: 1502 }],
      powerGuard: { enabled: true, marginKw: 10, checkEverySeconds: 5, staleAfterSeconds: 30 },
    },
  });
  const clock = new FakeClock(at);
  const bus = new EventBus();
  const alerts: Array<BusEvents['alert']> = [];
  const guardEvents: Array<BusEvents['power.guard']> = [];
  bus.on('alert', 't', (a) => alerts.push(a));
  bus.on('power.guard', 't', (e) => guardEvents.push(e));
  const ctx: PluginContext = { config, clock, deviceClock: clock, log: silent, bus, store: undefined as never, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: '', mqttCredentials: {}, catalog: () => [] };
  const guard = createPowerGuard(ctx);
  await guard.start();
  bus.emit('plan.updated', { version: 1, planId: 'p', doc: planDocument(clock.now(), runs) });
  const read = (kw: number) => bus.emit('meter.reading', { meter: 'main', role: 'site', at: clock.now(), kw, importKwh: null, quality: 'good' });
  return { config, clock, bus, guard, alerts, guardEvents, read };
}

describe('power guard plugin', () => {
  it('is off unless enabled, and says what it misses when enabled without a contract or a site meter', () => {
    const off = testConfig('http://127.0.0.1:9');
    expect(powerGuardPlugin.enabled(off)).toMatchObject({ enabled: false });
    const noMeter = testConfig('http://127.0.0.1:9', { energy: { contract: { tariff: '6.1TD', contractedKw: [1, 1, 1, 1, 1, 1], powerPriceEurKwYear: [0, 0, 0, 0, 0, 0], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { indexed: { marginEurMwh: 0 } } }, powerGuard: { enabled: true } } });
    expect(powerGuardPlugin.enabled(noMeter)).toMatchObject({ enabled: false, misconfigured: true, reason: expect.stringMatching(/site meter/) });
  });

  it('is blind without readings (health degraded, nothing deferred), and lets a run start when deferring it would break its batch', async () => {
    const t0 = Date.parse('2025-01-15T09:44:00Z'); // 10:44 local, P1
    const next = Date.parse('2025-01-15T09:45:00Z');
    // Tempering due at 10:45 for 2 h, the next tempering batch right after it on the same line: no slack.
    const g = await guardOn([lineRun('tempering', next, next + 120 * MIN, 36), { ...lineRun('tempering', next + 120 * MIN, next + 240 * MIN, 36), batch: 2 }], new Date(t0).toISOString());
    await g.clock.advance(10_000);
    expect(g.guard.health()).toMatchObject({ state: 'degraded', message: expect.stringMatching(/blind/) });
    // Readings: 280 kW now; 280 + 36 > 290 (300 contracted − 10 margin).
    for (let i = 0; i < 12; i++) {
      g.read(280);
      await g.clock.advance(5_000);
    }
    expect(g.guard.actions().filter((a) => a.kind === 'defer-run')).toEqual([]);
    expect(g.alerts.some((a) => a.code === 'POWER_GUARD_EXCESS' && /would break its batch/.test(a.message))).toBe(true);
    expect(g.guardEvents.at(-1)!.shifts).toEqual([]);
    await g.guard.stop();
  });

  it('defers a start with slack to the next quarter-hour, again while there is no room, and lets it begin when there is', async () => {
    const t0 = Date.parse('2025-01-15T09:44:00Z');
    const next = Date.parse('2025-01-15T09:45:00Z');
    const g = await guardOn([lineRun('tempering', next, next + 120 * MIN, 36)], new Date(t0).toISOString());
    let kw = 280;
    for (let i = 0; i < 12 * 20; i++) {
      if (g.clock.now() >= next + 20 * MIN) kw = 200; // the spike ends at 11:05 local
      g.read(kw);
      await g.clock.advance(5_000);
    }
    const shifts = g.guardEvents.at(-1)!.shifts;
    expect(shifts).toHaveLength(1);
    expect(shifts[0]).toMatchObject({ line: 'tempering', runStart: next, shiftMs: 2 * QH });
    expect(shifts[0]!.reason).toMatch(/P1 .* 280 kW \+ 36 kW of tempering would pass 300 kW contracted − 10 kW margin/);
    expect(g.guard.actions().filter((a) => a.kind === 'defer-run')).toHaveLength(2);
    await g.guard.stop();
  });
});
