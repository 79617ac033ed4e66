import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import { ClockTrust, BUILD_NOT_BEFORE } from '../../gateway/time/clock-trust.js';

/** The trust rules of issue #27 fault 5 on fake wall and monotonic clocks (the gateway-level test is clock-step.test.ts). */
describe('ClockTrust: when the wall clock is known good', () => {
  const T = '2026-12-06T10:00:00Z';

  it('never trusts a clock before the release, whatever the system or a server says', async () => {
    const wall = new FakeClock('2002-12-05T10:00:00Z');
    const t = new ClockTrust({ wall, mono: new FakeClock(0), systemSynchronised: async () => true, assumeGood: true });
    await t.start();
    expect(t.trusted()).toBe(false);
    t.observeServerDate('apidatos.ree.es', wall.now());
    expect(t.current).toEqual({ trusted: false, why: `it reads 2002-12-05T10:00:00.000Z, before this gateway's release (${new Date(BUILD_NOT_BEFORE).toISOString().slice(0, 10)})` });
    t.stop();
  });

  it('trusts on the system\'s NTP status, or on a server Date within the tolerance; a far Date withdraws it', async () => {
    const wall = new FakeClock(T);
    const synced = new ClockTrust({ wall, mono: new FakeClock(0), systemSynchronised: async () => true });
    await synced.start();
    expect(synced.current).toEqual({ trusted: true, how: 'the system reports it synchronised (NTP)' });
    synced.stop();

    const t = new ClockTrust({ wall, mono: new FakeClock(0), systemSynchronised: async () => false });
    await t.start();
    expect(t.current).toEqual({ trusted: false, why: 'the system reports it not synchronised (NTP) and no server Date has confirmed it yet' });
    t.observeServerDate('api.esios.ree.es', wall.now() + 200_000);
    expect(t.current).toEqual({ trusted: false, why: 'the wall clock is 3.3 min behind the Date of api.esios.ree.es' });
    t.observeServerDate('api.esios.ree.es', wall.now() - 1_000);
    expect(t.current).toEqual({ trusted: true, how: 'agrees with the Date of api.esios.ree.es (1 s)' });
    t.stop();
  });

  it('finds a step by comparing wall and monotonic time, withdraws the trust, reports it; clock.verify false takes the clock as it is', async () => {
    const mono = new FakeClock(0);
    let offset = Date.parse(T);
    const wall = { now: () => mono.now() + offset, setTimeout: mono.setTimeout.bind(mono), sleep: mono.sleep.bind(mono) };
    const steps: number[] = [];
    const t = new ClockTrust({ wall, mono, systemSynchronised: async () => undefined, checkEveryMs: 1000, onStep: (s) => steps.push(s.stepMs) });
    await t.start();
    t.observeServerDate('x', wall.now());
    expect(t.trusted()).toBe(true);
    await mono.advance(3000); // both advance together: no step
    expect(steps).toEqual([]);
    expect(t.trusted()).toBe(true);
    offset -= 2 * 86_400_000; // the wall clock is set back two days while monotonic time goes on
    await mono.advance(1000); // the next check
    expect(steps).toEqual([-2 * 86_400_000]);
    expect(t.trusted()).toBe(false);
    expect(t.health()).toMatchObject({ state: 'degraded', code: 'clock_untrusted', details: { steps: [{ stepS: -172_800 }] } });
    t.stop();

    const asIs = new ClockTrust({ wall: new FakeClock(T), mono: new FakeClock(0), systemSynchronised: async () => false, assumeGood: true });
    await asIs.start();
    expect(asIs.current).toEqual({ trusted: true, how: 'taken as it is (clock.verify: false)' });
    asIs.stop();
  });
});
