/**
 * A gateway that starts on a wall clock it cannot trust raises CLOCK_UNTRUSTED (README "Reliability: a wall clock it
 * cannot trust"). Found on a fresh `start` on a box without NTP status and with every price source off (a plant
 * network without internet): health said `clock_untrusted` and the meter's readings were not stored, but
 * `/api/alerts` held no CLOCK_UNTRUSTED: the clock is checked before the alert log listens on the bus, so the
 * alert of the first check went nowhere. Real gateway (HTTP server, aedes, LevelDB in a temp dir), the system clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Gateway } from '../../gateway/controller.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { silent, testConfig } from '../helpers/context.js';

let gw: Gateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

describe('CLOCK_UNTRUSTED at start', () => {
  it('is in /api/alerts (and the alert log) when the clock is not trusted from the first check on', async () => {
    const config = testConfig('http://127.0.0.1:9', { clock: { verify: true }, sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } } });
    gw = new Gateway({ config, clock: new SystemClock(), log: silent, clockTrust: { systemSynchronised: async () => undefined, checkEveryMs: 200 } });
    await gw.start();
    expect(gw.pluginHealth().clock).toMatchObject({ state: 'degraded', code: 'clock_untrusted' });
    const alerts = (await (await fetch(`${gw.http!.url}/api/alerts`)).json()) as Array<{ code: string; message: string }>;
    expect(alerts.filter((a) => a.code === 'CLOCK_UNTRUSTED')).toEqual([expect.objectContaining({ code: 'CLOCK_UNTRUSTED', message: 'wall clock not trusted: no NTP status from the system and no server Date has confirmed it yet' })]);
  });
});
