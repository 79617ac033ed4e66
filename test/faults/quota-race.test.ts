import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { localDate } from '../../gateway/time/tz.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

/**
 * Issue #27 fault 2: changing the daily batches while a plan runs (the plan-apply route, repeatedly, with a slow PLC on
 * the lines) answered 500s ("Cannot read properties of undefined (reading 'doc')", "Iterator is not open", "Database
 * is not open", "store: write failed … until reopened"). Real parts: the whole gateway on replayed real prices, a
 * LevelDB store in a temp dir, slow modbus-serial ServerTCP PLCs on every line, the HTTP API.
 */
const NOW = '2018-04-02T10:00:00Z';

describe('quota changes are applied exactly once, in order, each taking effect or refused with its reason', () => {
  let gw: Gateway;
  let http: string;
  const plcs: FakePlc[] = [];
  const auth = { authorization: 'Bearer http-test-token', 'content-type': 'application/json' };

  beforeAll(async () => {
    const lines = [];
    for (const line of ['mixing', 'refining', 'conching', 'tempering']) {
      const plc = new FakePlc(await freePort());
      plc.delayMs = 150; // a slow PLC on every line
      await plc.start();
      plcs.push(plc);
      lines.push({ line, host: '127.0.0.1', port: plc.port, watchdogMs: 1000, timeoutMs: 1000, maxBackoffMs: 400, registers: { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104 } });
    }
    const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } }, lines });
    ({ gw } = await startGateway(config, NOW));
    http = gw.http!.url;
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), { timeout: 60_000 });
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('predictions');
    const run = await gw.scheduler.trigger('planning');
    expect(run.lastRun?.outcome, run.lastRun?.error ?? '').toBe('ok');
  }, 180_000);
  afterAll(async () => {
    await gw?.stop();
    for (const p of plcs) await p.stop();
  });

  it('four rounds of concurrent applies, planning runs and reads: no 500, the last change wins, the store never closes under a reader', async () => {
    const statuses: number[] = [];
    const errors: string[] = [];
    for (let round = 0; round < 4; round++) {
      const quotas = [1, 3, 2, 4].map((n) => (n + round) % 4 + 1);
      const applies = quotas.map((n) =>
        fetch(`${http}/api/plan/apply`, { method: 'POST', headers: auth, body: JSON.stringify({ quota: { conching: n } }) }).then(async (r) => {
          statuses.push(r.status);
          const body = await r.json();
          if (r.status !== 200) errors.push(`${r.status} ${body.message}`);
          return body as { version: number; runs: Array<{ process: string; start: string }> };
        }),
      );
      const others = [
        gw.scheduler.trigger('planning'),
        fetch(`${http}/api/plan`).then((r) => (statuses.push(r.status), r.json())),
        fetch(`${http}/ree/prices?hours=48`).then((r) => (statuses.push(r.status), r.text())),
        fetch(`${http}/api/status`).then((r) => (statuses.push(r.status), r.text())),
      ];
      const docs = await Promise.all(applies);
      await Promise.all(others);
      // Applied exactly once each: every answer is its own plan (no two share a version). The four requests travel
      // on separate connections, so the server may take them in any order: the versions are not compared with the
      // order the test sent them in (they were, and a busy box can reorder the arrivals).
      const versions = docs.map((d) => d.version);
      expect(new Set(versions).size).toBe(versions.length);
      // The plan in force is the last applied change's (or a later planning run's).
      const plan = await (await fetch(`${http}/api/plan`)).json();
      expect(plan.version).toBeGreaterThanOrEqual(Math.max(...versions));
      // Conching started on the plant's local day (Europe/Madrid): a run at 23:00Z is already tomorrow's.
      const today = (p: { runs: Array<{ process: string; start: string }> }) => p.runs.filter((r) => r.process === 'conching' && localDate(Date.parse(r.start)) === '2018-04-02').length;
      // Each answer keeps its own quota (before: only the last one sent was checked).
      docs.forEach((d, i) => expect(today(d), `apply ${i} (quota ${quotas[i]})`).toBeLessThanOrEqual(quotas[i]!));
    }
    expect(errors).toEqual([]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const health = await (await fetch(`${http}/healthz`)).json().catch(() => ({}));
    expect(JSON.stringify(health)).not.toMatch(/Iterator is not open|Database is not open|store: write failed/);
  });
});
