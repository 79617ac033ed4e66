/**
 * An energy meter on a wall clock the gateway cannot trust: read, but no quarter-hour stored, and health says so
 * (README "Reliability: a wall clock it cannot trust": "stores no … Modbus reading, and says so: … the sources and
 * devices say `not stored: wall clock not trusted (…)`"). Found with `start` on a box without NTP status and without
 * a price source: the meters plugin said "1 meters ok" and stored the quarter-hours stamped by that clock. Real parts:
 * the SDM630 profile served on a real Modbus TCP server, the gateway (aedes, LevelDB in a temp dir), the system clock
 * shifted to just before a quarter-hour boundary (a constant offset: no step, the trust stays withheld).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Gateway } from '../../gateway/controller.js';
import { SHIPPED_PROFILES } from '../../gateway/meters/profile.js';
import { readMeterQuarterHours } from '../../gateway/meters/quarter-hours.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { serveMeterProfile, type MeterServer } from '../../plugins/replay/simulated-meter.js';
import { silent, testConfig } from '../helpers/context.js';

const QH = 900_000;

/** The system clock, shifted by a constant so that a quarter-hour boundary comes `leadMs` after construction. */
class ShiftedClock extends SystemClock {
  private readonly shift: number;
  constructor(leadMs: number) {
    super();
    const real = Date.now();
    this.shift = Math.ceil(real / QH) * QH + (Math.ceil(real / QH) * QH - real < leadMs + 1000 ? QH : 0) - leadMs - real;
  }
  override now(): number {
    return Date.now() + this.shift;
  }
}

let gw: Gateway | undefined;
let meter: MeterServer | undefined;
afterEach(async () => {
  await gw?.stop();
  await meter?.stop();
  gw = undefined;
});

describe('meter on an untrusted wall clock', () => {
  it('is read, stores no quarter-hour, and health says why', async () => {
    const t0 = Date.now();
    meter = await serveMeterProfile(SHIPPED_PROFILES['eastron-sdm630']!, () => ({ kw: 100, importKwh: 5000 + (100 * (Date.now() - t0)) / 3_600_000, importKvarh: 0 }));
    const clock = new ShiftedClock(4000);
    const config = testConfig('http://127.0.0.1:9', {
      clock: { verify: true },
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } },
      energy: { meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: meter.port, pollMs: 250 }] },
    });
    gw = new Gateway({ config, clock, log: silent, clockTrust: { systemSynchronised: async () => undefined, checkEveryMs: 200 } });
    await gw.start();
    const boundary = Math.ceil(clock.now() / QH) * QH;
    // past the boundary by a few polls: on main the quarter-hour before it was closed and stored here
    while (clock.now() < boundary + 2000) await new Promise((r) => setTimeout(r, 100));
    // Read all along (more than 5 polls, however slowly a busy box polls), and health says why nothing is stored.
    await vi.waitFor(() => {
      const health = gw!.pluginHealth().meters!;
      expect((health.details!.meters as Record<string, { polls: number }>).site!.polls).toBeGreaterThan(5);
      expect(health.state).toBe('degraded');
      expect(health.message).toMatch(/^meter site: 100 kW, [\d.]+ kWh; quarter-hours not stored: wall clock not trusted \(no NTP status from the system and no server Date has confirmed it yet\)$/);
    }, { timeout: 60_000, interval: 20 });
    expect(await readMeterQuarterHours(gw.store, 'site', boundary - 2 * QH, boundary + QH)).toEqual([]);
  });
});
