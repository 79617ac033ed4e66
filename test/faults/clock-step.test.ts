import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../gateway/time/clock.js';
import { Gateway } from '../../gateway/controller.js';
import { localDayRange, localDate } from '../../gateway/time/tz.js';
import { FixtureServer, fixture } from '../helpers/fixture-server.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

/**
 * Issue #27 fault 5: a step of the wall clock under a running gateway. The gateway runs in this process on an injected
 * wall clock (the system clock plus an offset the test steps, as NTP steps a box that booted wrong); monotonic time,
 * timers, the Modbus TCP sensor (modbus-serial ServerTCP), the REE price server (a real HTTP server whose `Date`
 * header is the true time) and LevelDB are real. The system's NTP status is "unknown" (no systemd here), so the
 * clock is known good only when it agrees with the servers' `Date`.
 */
const realDateNow = Date.now.bind(Date);
/** The process's wall clock, stepped: `Date.now()` (what SystemClock reads) moves; `performance.now()`, Node's timers and `new Date()` (the HTTP servers' `Date`) do not. */
class StepClock extends SystemClock {
  static offset = 0;
  get offset(): number {
    return StepClock.offset;
  }
  set offset(ms: number) {
    StepClock.offset = ms;
  }
}

/** Waits on a condition in monotonic time (vi.waitFor reads the stepped Date.now); 60 s: a busy CI box is slow, not wrong. */
async function until(check: () => unknown | Promise<unknown>, timeoutMs = 60_000): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (performance.now() - t0 > timeoutMs) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const DAY = 86_400_000;
const YEAR = 365 * DAY;

/** REE apidatos for any asked day: the recorded 2021-10-31 body relabelled to 24 hours of that day (+01:00, winter). */
function reeAnyDay(server: FixtureServer): void {
  server.routes = [
    (_req, url) => {
      if (!url.pathname.endsWith('/datos/mercados/precios-mercados-tiempo-real')) return undefined;
      const day = url.searchParams.get('start_date')!.slice(0, 10);
      const body = JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json'));
      for (const item of body.included) item.attributes.values = item.attributes.values.slice(0, 24).map((v: object, h: number) => ({ ...v, datetime: `${day}T${String(h).padStart(2, '0')}:00:00.000+01:00` }));
      return { body: JSON.stringify(body) };
    },
  ];
}

describe('a wall clock stepped back and forth under a running gateway', () => {
  const server = new FixtureServer();
  let plc: FakePlc;
  let gw: Gateway | undefined;
  beforeAll(async () => {
    Date.now = () => realDateNow() + StepClock.offset;
    await server.start();
    reeAnyDay(server);
    plc = new FakePlc(await freePort());
    plc.holding.set(0, 215);
    await plc.start();
  });
  afterAll(async () => {
    Date.now = realDateNow;
    await plc.stop();
    await server.stop();
  });
  afterEach(async () => {
    StepClock.offset = 0;
    await gw?.stop();
    gw = undefined;
  });

  async function start(offset: number): Promise<{ gw: Gateway; clock: StepClock; polls: () => number; clockHealth: () => any }> {
    const clock = new StepClock();
    clock.offset = offset;
    const config = testConfig(server.base, {
      clock: { verify: true },
      sources: { ree: { enabled: true }, omie: { enabled: false }, esios: { enabled: false } },
      modbus: { devices: [{ name: 'floor', host: '127.0.0.1', port: plc.port, pollMs: 200, timeoutMs: 5000, maxBackoffMs: 400, points: [{ name: 'floor_temp', address: 0, type: 'int16', scale: 0.1 }] }] },
    });
    gw = new Gateway({ config, clock, log: silent, clockTrust: { systemSynchronised: async () => undefined, checkEveryMs: 200 } });
    await gw.start();
    const g = gw;
    await until(() => expect(g.scheduler.status().find((j) => j.id === 'priceIngestion')?.lastRun).toBeTruthy());
    const polls = () => ((g.pluginHealth()['modbus-sensors']!.details!.devices as Record<string, { polls: number }>).floor!.polls);
    return { gw: g, clock, polls, clockHealth: () => g.pluginHealth().clock };
  }

  /**
   * Polling goes on: `n` more polls happen, however long a busy box takes (on main, none came after a step back).
   * The rate below is only an upper bound (a catch-up storm), which a slow box can only make easier to meet.
   */
  async function pollsContinue(polls: () => number, n = 3): Promise<void> {
    const p0 = polls();
    await until(() => expect(polls()).toBeGreaterThanOrEqual(p0 + n));
  }

  /** Polls per second over `ms` of real time. */
  async function rate(polls: () => number, ms = 1500): Promise<number> {
    const p0 = polls();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    return ((polls() - p0) * 1000) / (performance.now() - t0);
  }

  const nextRun = (g: Gateway, id: string) => Date.parse(g.scheduler.status().find((j) => j.id === id)!.nextRun!);

  it('started in 2002 (the price server answers): polls, but stores no prices or readings and plans nothing; after the step to true time it re-arms, trusts the clock on the servers\' Date and stores today', async () => {
    const trueNow = realDateNow();
    const { gw, clock, polls, clockHealth } = await start(Date.parse('2002-12-05T10:00:00Z') - trueNow);
    await until(() => expect(polls()).toBeGreaterThan(3));
    expect(clockHealth()).toMatchObject({ state: 'degraded', code: 'clock_untrusted', message: expect.stringMatching(/^wall clock not trusted: it reads 2002-12-05T.*before this gateway's release \(2026-12-01\); polling goes on, but nothing is planned and no price or reading is stored as current/) });
    const r = await gw.scheduler.trigger('priceIngestion');
    expect(r.lastRun!.summary).toMatch(/2002-12-05: not stored: wall clock not trusted/);
    expect(await gw.store.count('pvpc')).toBe(0);
    expect(await gw.store.read('sensor.floor_temp', 0, 8.64e15)).toEqual([]);
    const plan = await gw.scheduler.trigger('planning');
    expect(plan.lastRun!.error).toMatch(/wall clock not trusted/);

    clock.offset = 0; // NTP steps the clock to the true time
    await until(() => expect(clockHealth().details.steps).toHaveLength(1));
    expect(clockHealth().details.steps[0].stepS).toBeGreaterThan(23 * 365 * 86_400);
    expect(clockHealth().details.schedulesRearmed.reason).toMatch(/^wall clock stepped \d+ s \(2002-12-05T/);
    expect(nextRun(gw, 'planning') - realDateNow()).toBeLessThanOrEqual(30 * 60_000); // not due in 2002
    expect(nextRun(gw, 'planning')).toBeGreaterThan(realDateNow() - 60_000);
    const today = localDate(Date.now());
    // A run that began before the step can end after it (it asked for 2002-12-05; on a loaded box it is still going
    // when the test triggers, and the trigger answers with it): trigger until a run has asked for today.
    let run = await gw.scheduler.trigger('priceIngestion');
    for (let i = 0; i < 20 && !run.lastRun!.summary.includes(today); i++) run = await gw.scheduler.trigger('priceIngestion');
    // The first answer after the step confirms the clock (its Date agrees); a day asked for on a clock not yet known
    // good is not stored, and the next poll stores it (a background poll may have confirmed the clock already).
    if (!run.lastRun!.summary.includes(`${today}: pvpc 24`)) {
      expect(run.lastRun!.summary).toContain(`${today}: not stored: wall clock not trusted`);
      run = await gw.scheduler.trigger('priceIngestion');
    }
    expect(run.lastRun!.summary).toContain(`${today}: pvpc 24`);
    expect(clockHealth()).toMatchObject({ state: 'ok', message: expect.stringMatching(/^wall clock trusted: agrees with the Date of 127\.0\.0\.1:\d+/) });
    const { start: s0, end: s1 } = localDayRange(today);
    expect(await gw.store.count('pvpc', s0, s1)).toBe(24);
    expect(await gw.store.count('pvpc', 0, Date.parse('2003-01-01T00:00:00Z'))).toBe(0);
    await until(async () => expect((await gw.store.read('sensor.floor_temp', Date.now() - 60_000, Date.now() + 1000)).length).toBeGreaterThan(0));
  });

  it('stepped back 2 days: polling goes on at its rate, schedules re-arm, the clock is distrusted, readings left in the future are flagged', async () => {
    const { gw, clock, polls, clockHealth } = await start(0);
    await gw.scheduler.trigger('priceIngestion'); // the server's Date confirms the clock
    expect(clockHealth().state).toBe('ok');
    await until(async () => expect((await gw.store.read('sensor.floor_temp', Date.now() - 60_000, Date.now() + 1000)).length).toBeGreaterThan(2));
    await new Promise((r) => setTimeout(r, 1200)); // let the readings commit
    clock.offset = -2 * DAY;
    await until(() => expect(clockHealth().details.steps).toHaveLength(1));
    const after = await rate(polls);
    console.log(`stepped back 2 days: ${after.toFixed(1)} polls/s after the step (wanted 5; main: 0)`);
    await pollsContinue(polls);
    expect(after).toBeLessThan(50);
    expect(nextRun(gw, 'planning') - clock.now()).toBeLessThanOrEqual(30 * 60_000);
    expect(nextRun(gw, 'planning')).toBeGreaterThan(clock.now() - 60_000);
    await until(() => expect(clockHealth().details.futureDated.map((f: { series: string }) => f.series)).toContain('sensor.floor_temp'));
    const flagged = clockHealth().details.futureDated.find((f: { series: string }) => f.series === 'sensor.floor_temp');
    expect(flagged.count).toBeGreaterThan(2);
    // The step withdrew the trust; a server's Date (2 days later than the clock) keeps it withdrawn.
    expect(clockHealth()).toMatchObject({ state: 'degraded', message: expect.stringMatching(/^wall clock not trusted: .*values stamped by the wrong clock lie in the future \(sensor\.floor_temp\): flagged/) });
    const readingsBefore = (await gw.store.read('sensor.floor_temp', 0, 8.64e15)).length;
    const ree = gw.plugins.get('ree')!.plugin as unknown as { ingestDay(d: string): Promise<string> };
    expect(await ree.ingestDay(localDate(clock.now()))).toMatch(/^not stored: wall clock not trusted/);
    expect(clockHealth().message).toMatch(/^wall clock not trusted: the wall clock is 2\.0 days behind the Date of 127\.0\.0\.1:\d+/);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await gw.store.read('sensor.floor_temp', 0, 8.64e15)).length).toBe(readingsBefore); // polled, not stored
    expect((await gw.health()).plugins.clock?.state).toBe('degraded');
  });

  it('stepped back from 10 years ahead: no catch-up storm before or after, planning is not left due in 2036', async () => {
    const { gw, clock, polls, clockHealth } = await start(10 * YEAR);
    await until(() => expect(polls()).toBeGreaterThan(2));
    const before = await rate(polls);
    await gw.scheduler.trigger('priceIngestion');
    expect(clockHealth().message).toMatch(/^wall clock not trusted: the wall clock is 3650\.\d days ahead of the Date/);
    expect(await gw.store.read('sensor.floor_temp', 0, 8.64e15)).toEqual([]);
    clock.offset = 0;
    await until(() => expect(clockHealth().details.steps).toHaveLength(1));
    const after = await rate(polls);
    console.log(`stepped back from 10 years ahead: ${before.toFixed(1)} polls/s before, ${after.toFixed(1)} after (wanted 5; main: 350-400 catching up)`);
    expect(before).toBeLessThan(50);
    await pollsContinue(polls);
    expect(after).toBeLessThan(50);
    expect(nextRun(gw, 'planning') - realDateNow()).toBeLessThanOrEqual(30 * 60_000);
    await gw.scheduler.trigger('priceIngestion');
    expect(clockHealth().state).toBe('ok');
    expect(await gw.store.count('pvpc', Date.parse('2030-01-01T00:00:00Z'))).toBe(0); // no 2036 prices stored while it read 2036
  });
});
