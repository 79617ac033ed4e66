/**
 * The measured savings credit the runs as they ran, not as planned (tester5 fault 2): the live planner on a fake clock
 * over real LevelDB and real OMIE prices (November 2025), the conching line on a real Modbus TCP PLC (modbus-serial
 * ServerTCP, test/helpers/plc.ts) written by modbus-lines, and the bill plugin closing the days. The site meter's
 * quarter-hours are 50 kWh (200 kW of base load): more than any run's kW/4, so the apportioning's min(kW/4, …) never
 * limits a run — the condition in which a planned run was credited in full whether it ran or not.
 * Before: an operator stop 33 min into a 5 h conche was credited 5 h (240 kWh) and its re-run another 5 h (two
 * overlapping runs of one line); a line in dry run (nothing written to its PLC) had its runs credited as measured.
 * No wall-clock waits: every wait is on a condition (the writers' watchdog runs on real time, 100 ms).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { createModbusLines } from '../../plugins/modbus-lines/index.js';
import { createBill } from '../../plugins/bill/index.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import { localDayRange } from '../../gateway/time/tz.js';
import type { ClosedDay } from '../../gateway/bill/savings.js';
import { topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';
import { planDocument } from '../helpers/plan-document.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

const H = 3_600_000;
const QH = 900_000;
const MIN = 60_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const START = '2025-11-03T08:00:00Z';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

async function harness(opts: { conchingDryRun?: boolean } = {}) {
  const plc = new FakePlc(await freePort());
  await plc.start();
  cleanup.push(() => plc.stop());
  // The PLC's registers as a line idle since power-on holds them (a dry run reads them).
  for (let a = 100; a <= 106; a++) plc.holding.set(a, 0);
  const config = testConfig('http://127.0.0.1:9', {
    planner: { horizonHours: 48, timeLimitMs: 1000, frozenMinutes: 120 },
    energy: {
      contract: {
        tariff: '6.1TD',
        contractedKw: [300, 300, 300, 300, 300, 300],
        powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
        tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
        energy: { indexed: { marginEurMwh: 5 } },
      },
      meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }],
    },
    lines: [{ line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 100, timeoutMs: 1000, maxBackoffMs: 200, registers: { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104, batch: 105 }, ...(opts.conchingDryRun ? { dryRun: true } : {}) }],
  });
  const ctx: TestContext = await pluginContext(config, START);
  cleanup.push(() => ctx.close());
  const slots = [...loadHourlyPrices(PRICES)].map(([s, value]) => ({ start: s, end: s + H, value }));
  await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: Date.parse(START) });
  // The site meter: 50 kWh every quarter-hour from 3 to 8 November (local), written ahead (the bill reads closed ones).
  const rows: MeterQuarterHour[] = [];
  for (let t = localDayRange('2025-11-03').start; t < localDayRange('2025-11-08').start; t += QH) rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh: 50, avgKw: 200, period: periodOf('6.1TD', t), quality: 'measured' });
  await writeMeterQuarterHours(ctx.store, rows);
  // No broker: the planner's line subscription is called with the message as the broker would deliver it.
  const lineHandlers: Array<(topic: string, payload: unknown) => void> = [];
  const subscribe = ctx.mqtt.subscribe.bind(ctx.mqtt);
  ctx.mqtt.subscribe = ((filter: string, handler: (topic: string, payload: unknown) => void) => {
    if (filter === topics.lineSetWildcard) lineHandlers.push(handler);
    subscribe(filter, handler as never);
  }) as typeof ctx.mqtt.subscribe;
  const bill = createBill(ctx);
  await bill.start();
  cleanup.push(() => bill.stop());
  const lines = createModbusLines(ctx);
  await lines.start();
  cleanup.push(() => lines.stop());
  const planner = createPlanner(ctx);
  await planner.start();
  cleanup.push(() => planner.stop());
  const send = (line: string, body: unknown) => lineHandlers.at(-1)!(`test/${topics.lineSet(line)}`, body);
  const conching = () => lines.writers().conching as { writes: number; dryCycles: number; lastWritten: { state: { command: string; batch: number | null }; at: number } | null };
  /** Waits until the conching PLC verifiably holds `command` (batch `batch`) written at the clock's now. */
  const holds = (command: string, batch: number | null) =>
    vi.waitFor(() => expect(conching().lastWritten && { ...conching().lastWritten!.state, at: conching().lastWritten!.at }).toMatchObject({ command, batch, at: ctx.clock.now() }), { timeout: 20_000, interval: 20 });
  const closedDays = () => bill.closedDays('2025-11-01', '2025-11-10');
  return { ctx, plc, bill, lines, planner, send, holds, conching, closedDays };
}

type Run = PlanDocumentPayload['runs'][number];
const conchingRuns = (doc: PlanDocumentPayload | null) => (doc?.runs ?? []).filter((r) => r.line === 'conching' && !r.interrupted);

describe('measured savings: the runs as they ran (live planner, real Modbus PLC, real LevelDB)', () => {
  it('a conche stopped after 33 min is credited about 33 min (one quarter-hour either way), its re-run once, never overlapping', async () => {
    const { ctx, planner, bill, send, holds, closedDays } = await harness();
    // Re-plan every hour (as the planning job) up to the first conching run's start, then stand at that start.
    let run: Run | undefined;
    for (let step = 0; step < 60 && !run; step++) {
      await planner.jobs!.planning!();
      await bill.refresh();
      const next = conchingRuns(planner.current()).find((r) => Date.parse(r.start) >= ctx.clock.now());
      if (next && Date.parse(next.start) - ctx.clock.now() <= H) run = next;
      else await ctx.clock.advance(H);
    }
    expect(run, 'a conching run within 60 h').toBeDefined();
    const s1 = Date.parse(run!.start);
    const batch = run!.batch;
    await ctx.clock.advanceTo(s1);
    await holds('run', batch);
    await bill.refresh();
    // 33 minutes in, an operator stops the line (lines/conching/set {"command":"stop"}, 4 h by default).
    await ctx.clock.advanceTo(s1 + 33 * MIN);
    const before = planner.current()!.plan_id;
    send('conching', { command: 'stop' });
    await holds('idle', null);
    await vi.waitFor(() => expect(planner.current()!.plan_id).not.toBe(before), { timeout: 60_000, interval: 20 });
    await bill.refresh();
    // The conche runs again in full after the stop (uninterrupted): stand at its start, then at its end.
    const rerun = conchingRuns(planner.current()).find((r) => r.batch === batch && r.resumes);
    expect(rerun, 'the re-run of the stopped conche').toBeDefined();
    const s2 = Date.parse(rerun!.start);
    const e2 = Date.parse(rerun!.end);
    for (let t = ctx.clock.now() + H; t < s2; t += H) {
      await ctx.clock.advanceTo(t);
      await planner.jobs!.planning!();
      await bill.refresh();
    }
    const placed = conchingRuns(planner.current()).find((r) => r.batch === batch && r.resumes)!;
    expect(Date.parse(placed.start)).toBe(s2);
    await ctx.clock.advanceTo(s2);
    await holds('run', batch);
    await bill.refresh();
    await ctx.clock.advanceTo(e2);
    await vi.waitFor(() => expect(ctx.clock.now()).toBe(e2));
    await holds(conchingRuns(planner.current()).some((r) => Date.parse(r.start) === e2) ? 'run' : 'idle', conchingRuns(planner.current()).find((r) => Date.parse(r.start) === e2)?.batch ?? null);
    // Close every day that holds a piece of batch's conching: past its end, an hour's grace, the next local day.
    await ctx.clock.advanceTo(e2 + 26 * H);
    await bill.refresh();
    const days = await closedDays();
    const pieces = days.flatMap((d) => d.runs.filter((r) => r.line === 'conching' && r.batch === batch).map((r) => ({ ...r, date: d.date, status: d.status })));
    expect(pieces.map((p) => p.status)).toEqual(['measured', 'measured']);
    const [cut, again] = pieces as [(typeof pieces)[number], (typeof pieces)[number]];
    // The stopped piece: from the start the PLC got to the stop, on the quarter-hour grid (33 min → 30 or 45 min).
    expect(Date.parse(cut.start)).toBe(s1);
    expect(cut.kwh).toBeLessThanOrEqual(48 * 0.75);
    expect(cut.kwh).toBeGreaterThanOrEqual(48 * 0.25);
    expect(Math.abs(Date.parse(cut.end!) - (s1 + 33 * MIN))).toBeLessThanOrEqual(QH);
    expect(cut.source).toBe('plc (verified writes)');
    // The re-run: once, in full (5 h × 48 kW).
    expect(Date.parse(again.start)).toBe(s2);
    expect(again.kwh).toBe(240);
    // No two credited runs of one line overlap, on any day.
    const all = days.flatMap((d) => d.runs).filter((r) => r.line === 'conching').map((r) => [Date.parse(r.start), Date.parse(r.end!)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < all.length; i++) expect(all[i]![0]).toBeGreaterThanOrEqual(all[i - 1]![1]);
  }, 300_000);

  it('a line in dry run (nothing written to its PLC) has its runs left out of the measured day, which says so', async () => {
    const { ctx, planner, bill, plc, conching, closedDays } = await harness({ conchingDryRun: true });
    const withConching = (days: ClosedDay[]) => days.find((d) => (d.left_out ?? []).some((r) => r.line === 'conching') || d.runs.some((r) => r.line === 'conching'));
    for (let step = 0; step < 72 && !withConching(await closedDays()); step++) {
      await planner.jobs!.planning!();
      await ctx.clock.advance(H);
      await bill.refresh();
    }
    const day = withConching(await closedDays());
    expect(day, 'a closed day with conching runs planned').toBeDefined();
    // Nothing was written to the conching PLC: the line was only read (write-nothing cycles).
    expect(plc.writes).toEqual([]);
    expect(conching().dryCycles).toBeGreaterThan(0);
    // Its runs are not credited; the day names them, and why.
    expect(day!.runs.filter((r) => r.line === 'conching')).toEqual([]);
    const left = day!.left_out!.filter((r) => r.line === 'conching');
    expect(left.length).toBeGreaterThan(0);
    for (const r of left) expect(r.reason).toMatch(/write-nothing mode \(dry run\)/);
    if (day!.runs.length) {
      expect(day!.status).toBe('measured');
      expect(day!.reason).toMatch(/left out/);
    } else {
      expect(day!.status).toBe('not measured');
      expect(day!.saved_eur).toBeNull();
    }
    // The lines without a PLC link are credited from the plan, and say so.
    for (const r of day!.runs) expect(r.source).toBe('line command (not verified)');
  }, 300_000);
});

describe('measured savings on lines without a PLC link: the plan\'s runs as the plan says they ran', () => {
  it('a run cut by an operator\'s stop ends at the stop; a run placed after its start counts from the plan that placed it', async () => {
    const config = testConfig('http://127.0.0.1:9', {
      energy: {
        contract: { tariff: '6.1TD', contractedKw: [300, 300, 300, 300, 300, 300], powerPriceEurKwYear: [30, 25, 15, 10, 5, 2], tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002], energy: { indexed: { marginEurMwh: 5 } } },
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }],
      },
    });
    const ctx = await pluginContext(config, '2026-01-06T23:00:00Z');
    cleanup.push(() => ctx.close());
    const slots = [];
    for (let t = Date.parse('2026-01-06T00:00:00Z'); t < Date.parse('2026-01-10T00:00:00Z'); t += H) slots.push({ start: t, end: t + H, value: 50 });
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: Date.parse('2026-01-05T12:00:00Z') });
    const rows: MeterQuarterHour[] = [];
    for (let t = localDayRange('2026-01-07').start; t < localDayRange('2026-01-10').start; t += QH) rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh: 50, avgKw: 200, period: periodOf('6.1TD', t), quality: 'measured' });
    await writeMeterQuarterHours(ctx.store, rows);
    const bill = createBill(ctx);
    await bill.start();
    cleanup.push(() => bill.stop());
    const at = (iso: string) => Date.parse(iso);
    const run = (process: string, batch: number, start: string, end: string, kw: number, extra: Partial<Run> = {}): Run => ({ process, line: process, batch, start, end, start_local: '', kw, cost_eur: 0, waited_min: null, max_wait_min: null, ...extra });
    const publish = async (iso: string, runs: Run[], version: number) => {
      await ctx.clock.advanceTo(at(iso));
      ctx.bus.emit('plan.updated', { version, planId: `p#${version}`, doc: planDocument(at(iso), runs, version) });
      await bill.refresh();
    };
    // 00:00Z: refining batch 3 runs 00:00-04:00Z.
    await publish('2026-01-07T00:00:00Z', [run('refining', 3, '2026-01-07T00:00:00Z', '2026-01-07T04:00:00Z', 42)], 1);
    await ctx.clock.advanceTo(at('2026-01-07T01:00:00Z'));
    await bill.refresh();
    // 02:51Z: an operator stops refining; the plan shows the interrupted piece and the re-run of the remainder.
    const stopped = [run('refining', 3, '2026-01-07T00:00:00Z', '2026-01-07T02:51:00Z', 42, { interrupted: true }), run('refining', 3, '2026-01-07T07:00:00Z', '2026-01-07T08:15:00Z', 42, { resumes: 'remainder' })];
    await publish('2026-01-07T02:51:00Z', stopped, 2);
    // 03:42Z: a re-plan places tempering batch 4 at 03:00-05:00Z, already 42 min under way when the plan is made.
    await publish('2026-01-07T03:42:00Z', [...stopped, run('tempering', 4, '2026-01-07T03:00:00Z', '2026-01-07T05:00:00Z', 36)], 3);
    await ctx.clock.advanceTo(at('2026-01-07T09:00:00Z'));
    await bill.refresh();
    await ctx.clock.advanceTo(at('2026-01-08T10:00:00Z'));
    await bill.refresh();
    const day = (await bill.closedDays('2026-01-07', '2026-01-08'))[0]!;
    expect(day.status).toBe('measured');
    const got = day.runs.map((r) => [r.process, r.batch, r.start, r.end, r.kwh, r.source]);
    expect(got).toEqual([
      // 00:00 to the stop at 02:51, on the quarter-hour grid (02:45): 2.75 h × 42 kW, not the planned 4 h (168 kWh)
      ['refining', 3, '2026-01-07T00:00:00Z', '2026-01-07T02:45:00Z', 115.5, 'line command (not verified)'],
      // from the plan made at 03:42 (03:45 on the grid) to 05:00: 1.25 h × 36 kW, not 2 h (72 kWh)
      ['tempering', 4, '2026-01-07T03:45:00Z', '2026-01-07T05:00:00Z', 45, 'line command (not verified)'],
      // the re-run of the remainder, once
      ['refining', 3, '2026-01-07T07:00:00Z', '2026-01-07T08:15:00Z', 52.5, 'line command (not verified)'],
    ]);
  });
});
