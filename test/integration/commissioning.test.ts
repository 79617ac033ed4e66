import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Gateway } from '../../gateway/controller.js';
import { hashPassword } from '../../gateway/mqtt/auth.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { createLogger } from '../../gateway/util/log.js';
import { testConfig } from '../helpers/context.js';

const NOW = '2018-04-02T07:00:00Z';
const SLOW = { timeout: 60_000, interval: 20 };

/**
 * What the plant engineer hit after the first hour: a made-up plan_id acknowledged and shown, one "plan uses
 * forecast prices" line per planning run, and no trace of the publishes the broker refused.
 */
describe('commissioning: acknowledgements, repeated alerts and refused publishes', () => {
  let gw: Gateway;
  let clock: FakeClock;
  const lines: Array<Record<string, any>> = [];
  let url: string;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const config = testConfig('http://127.0.0.1:9', {
      log: { level: 'info', pretty: false },
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } },
      mqtt: { embedded: { allowAnonymous: false, users: [{ username: 'conching-plc', passwordHash: hashPassword('plc-pass'), role: 'line', lines: ['conching'] }] } },
    });
    clock = new FakeClock(NOW);
    gw = new Gateway({ config, clock, log: createLogger(config.log, stream) });
    await gw.start();
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), SLOW);
    url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  const plcSays = async (body: unknown) => {
    const plc = await mqtt.connectAsync(url, { username: 'conching-plc', password: 'plc-pass', clientId: `plc-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
    await plc.publishAsync('choco-edge/lines/conching/set', JSON.stringify(body), { qos: 1 });
    await plc.endAsync();
  };
  const ackOf = () => gw.planner()!.lines().find((l) => l.line === 'conching')!.ack as { plan_id: string } | null;

  it('raises "plan uses forecast prices" once while the forecast boundary stays, not at every re-plan', async () => {
    await gw.scheduler.trigger('predictions');
    // Four plans, an hour and five minutes apart (so the hourly repeat filter of the alerts cannot hide the repeats),
    // all before 13:00 Madrid: D+1 is not published yet, the forecast starts at the same hour each time.
    for (let i = 0; i < 4; i++) {
      await gw.scheduler.trigger('planning');
      await clock.advance(65 * 60_000);
    }
    // The scheduled jobs run too while the clock advances (and may see a forecast reach further): what must hold is
    // one alert and one log line per boundary, never one per re-plan.
    const raised = gw.alerts.recent().filter((a) => a.code === 'FORECAST_PRICES');
    const said = raised.map((a) => a.message);
    expect(new Set(said).size, JSON.stringify(raised.map((a) => [new Date(a.at).toISOString(), a.message]))).toBe(said.length);
    expect(said.filter((m) => /^plan uses forecast prices after 2018-04-03T00:00/.test(m))).toHaveLength(1);
    expect(lines.filter((l) => /plan uses forecast prices/.test(JSON.stringify(l)))).toHaveLength(said.length);
    // After 13:00 Madrid the replayed auction publishes D+1: the boundary moves, and that change is said once.
    await clock.advanceTo(Date.parse('2018-04-02T11:30:00Z'));
    // Wait for D+1 in the store (the scheduled ingestion may be the one that stores it), not for a fixed time.
    const tomorrow = Date.parse('2018-04-02T22:00:00Z');
    await vi.waitFor(async () => {
      await gw.scheduler.trigger('priceIngestion');
      expect((await gw.store.read('omie_es', tomorrow, tomorrow + 86_400_000)).length).toBeGreaterThanOrEqual(24);
    }, SLOW);
    // A trigger while the scheduled run of the same job is going is skipped (a scheduled forecast may also have been
    // made before D+1 was stored, and end where D+1 ends): forecast and re-plan until a plan has D+1 published and the
    // forecast after it. Waiting for a plan on D+1 alone once found one without any forecast hour (CI, busy machine).
    await vi.waitFor(async () => {
      await gw.scheduler.trigger('predictions');
      await gw.scheduler.trigger('planning');
      const hours = gw.planner()!.current()!.hours;
      expect(hours.some((h) => h.start_local.startsWith('2018-04-03') && h.price_source === 'published')).toBe(true);
      expect(hours.find((h) => h.price_source === 'forecast')?.start_local).toMatch(/^2018-04-04T00:00/);
    }, SLOW);
    await gw.scheduler.trigger('planning');
    const after = gw.alerts.recent().filter((a) => a.code === 'FORECAST_PRICES').map((a) => a.message);
    expect(new Set(after).size, JSON.stringify(after)).toBe(after.length);
    expect(after.filter((m) => /after 2018-04-03T00:00/.test(m))).toHaveLength(1);
    expect(after.filter((m) => /after 2018-04-04T00:00/.test(m))).toHaveLength(1);
  });

  it('refuses an acknowledgement of a plan it never published, with a log line, and takes the real one', async () => {
    const real = gw.planner()!.current()!.plan_id;
    await plcSays({ command: 'ack', plan_id: '2099-01-01T00:00:00Z#999' });
    await vi.waitFor(() => expect(lines.some((l) => l.msg === 'line message refused' && /unknown plan_id "2099-01-01T00:00:00Z#999"/.test(l.reason))).toBe(true), SLOW);
    expect(ackOf()).toBeNull();
    await plcSays({ command: 'ack', plan_id: real });
    await vi.waitFor(() => expect(ackOf()?.plan_id).toBe(real), SLOW);
    const shown = (await (await fetch(`${gw.http!.url}/api/lines`)).json()) as Array<{ line: string; ack: { plan_id: string } | null }>;
    expect(shown.find((l) => l.line === 'conching')!.ack!.plan_id).toBe(real);
  });

  it('refuses a stop whose "until" is not an exact future timestamp (null, a number, an impossible date, no offset, the past): no override', async () => {
    const overrideOf = () => gw.planner()!.lines().find((l) => l.line === 'conching')!.override;
    expect(overrideOf()).toBeNull();
    const now = clock.now();
    const cases: Array<[unknown, RegExp]> = [
      [null, /"until" must be an ISO timestamp with Z or an offset/],
      [1_900_000_000, /"until" must be an ISO timestamp with Z or an offset/],
      ['2030-02-30T10:00:00Z', /"until" "2030-02-30T10:00:00Z": no such date: February 2030 has 28 days/],
      ['2030-01-01T10:00', /"until" must be an ISO timestamp with Z or an offset/],
      [new Date(now - 3_600_000).toISOString(), /is not in the future/],
    ];
    for (const [until, why] of cases) {
      await plcSays({ command: 'stop', until });
      await vi.waitFor(() => expect(lines.some((l) => l.msg === 'line message refused' && why.test(l.reason))).toBe(true), SLOW);
    }
    expect(overrideOf()).toBeNull();
  });

  it('a publish the broker refuses leaves one log line, however often it is retried', async () => {
    for (let i = 0; i < 5; i++) {
      const plc = await mqtt.connectAsync(url, { username: 'conching-plc', password: 'plc-pass', clientId: `plc-bad-${i}`, reconnectPeriod: 0 });
      // Not its line: aedes refuses it (and closes the connection).
      plc.publish('choco-edge/lines/mixing/set', JSON.stringify({ command: 'stop' }), { qos: 0 });
      await new Promise<void>((resolve) => plc.once('close', () => resolve()));
      plc.end(true);
    }
    await vi.waitFor(() => expect(lines.filter((l) => l.msg === 'MQTT publish refused')).toHaveLength(1), SLOW);
    const line = lines.find((l) => l.msg === 'MQTT publish refused')!;
    expect(line).toMatchObject({ level: 40, username: 'conching-plc', topic: 'choco-edge/lines/mixing/set', module: 'broker' });
    expect(JSON.stringify(line)).not.toMatch(/plc-pass|stop/);
    expect(gw.broker!.refused).toBeGreaterThanOrEqual(5);
  });
});
