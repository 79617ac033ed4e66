/**
 * A garbled store table must not end the gateway at start (tester5 fault 5): the store's check reports the loss, then
 * every part that reads the store while starting (the scheduler's last runs, the plugins' start, the models'
 * registry…) meets LevelDB's "Corruption" and must degrade that part with the reason and the remedy, never end the
 * process (under systemd `Restart=always` that was a restart loop with no status page). README "garbled table":
 * starts, `/healthz` 503 naming the damage. Real gateway (HTTP server, aedes), real LevelDB in a temp dir garbled
 * on purpose with the gateway stopped.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Gateway } from '../../gateway/controller.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { silent, testConfig } from '../helpers/context.js';
import { SystemClock } from '../../gateway/time/clock.js';

let gw: Gateway | undefined;
afterEach(async () => {
  await gw?.stop().catch(() => undefined);
  gw = undefined;
});

describe('a garbled store table at start', () => {
  it('the gateway starts, /healthz is 503 naming the damage and the remedy, the jobs whose last run is unreadable say so', async () => {
    // The bill runs too (a contract and a site meter; the meter is not there, which only degrades the meters).
    const contract = { tariff: '6.1TD', contractedKw: [450, 450, 450, 450, 450, 500], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002], energy: { indexed: { marginEurMwh: 6 } } };
    const energy = { contract, meters: [{ name: 'site-main', role: 'site', profile: 'schneider-pm5000', host: '127.0.0.1', port: 9, pollMs: 200, timeoutMs: 500 }] };
    const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } }, energy });
    // A first run writes the jobs' last-run records (and whatever the plugins keep) into the store.
    gw = new Gateway({ config, clock: new SystemClock(), log: silent, clockTrust: false });
    await gw.start();
    await gw.stop();
    gw = undefined;
    const dir = join(config.dataDir, 'store');
    // One open and close turns LevelDB's log into a table (the state of a store after a restart).
    await (await SeriesStore.open(dir, { verify: false })).close();
    const tables = readdirSync(dir).filter((f) => f.endsWith('.ldb'));
    expect(tables.length).toBeGreaterThan(0);
    for (const t of tables) {
      const bytes = readFileSync(join(dir, t));
      // Every block's contents garbled (the CRC of each block then fails): every key the gateway reads at start is hit.
      for (let i = 16; i < bytes.length - 64; i++) bytes[i] = (bytes[i]! * 31 + 7) & 0xff;
      writeFileSync(join(dir, t), bytes);
    }

    gw = new Gateway({ config, clock: new SystemClock(), log: silent, clockTrust: false });
    await gw.start(); // used to reject with LevelDB's "Corruption: …" (the process exited 1)
    const res = await fetch(`${gw.http!.url}/healthz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { state: string; store: { state: string; message: string } };
    expect(body.store.state).toBe('failed');
    expect(body.store.message).toMatch(/Corruption/);
    expect(body.store.message).toMatch(/choco-edge store repair/);
    // The scheduler armed every enabled job and says, per job, why it could not tell its last run.
    const jobs = gw.scheduler.status().filter((j) => j.enabled);
    expect(jobs.length).toBeGreaterThan(0);
    for (const j of jobs) expect(j.nextRun).not.toBeNull();
    const unreadable = jobs.filter((j) => j.lastError?.message.includes('last run unreadable'));
    expect(unreadable.length).toBeGreaterThan(0);
    expect(unreadable[0]!.lastError!.message).toMatch(/Corruption.*choco-edge store repair/);
    // The models run at their newest version when their pin is unreadable: degraded with the reason, not failed.
    const models = gw.pluginHealth().predictions!;
    expect(models.state).toBe('degraded');
    expect(models.message).toMatch(/models loaded: price-forecaster@.*pinned version unreadable, the newest version is used: store damaged: .*Corruption.*choco-edge store repair/);
    // No part failed to start because of a store read: each one that met the damage degraded and carries the remedy.
    expect(gw.pluginHealth().bill!.state).not.toBe('disabled');
    for (const [name, h] of Object.entries(gw.pluginHealth())) expect(`${name}: ${h.state} ${h.message}`).not.toMatch(/failed to start/);
  }, 60_000);
});
