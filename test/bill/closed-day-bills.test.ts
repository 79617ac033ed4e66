/**
 * A closed day's bill never changes (tester5 faults 6 and 11), on real parts: LevelDB in a temp dir reopened across
 * a "restart", the FakeClock, the bill plugin and its Fastify routes.
 * - Editing one toll of energy.contract (P6 0.002 → 0.02 €/kWh) and restarting used to rewrite the bills of past,
 *   closed days (and the month and its CSV) while the savings stayed priced with the old contract.
 * - The day list printed excess_eur 0.00 on days with quarter-hours above the contracted power (the excess term is
 *   monthly): it read as "no excess that day" and did not add up to the month.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../gateway/config/schema.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import type { BillPayload } from '../../gateway/bill/payloads.js';
import { registerBillRoutes } from '../../gateway/http/bill-routes.js';
import type { HttpContext } from '../../gateway/http/context.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { createBill, type BillPlugin } from '../../plugins/bill/index.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

const QH = 900_000;
const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const TOLLS = [0.03, 0.02, 0.01, 0.008, 0.004, 0.002];

let ctx: TestContext | undefined;
let plugin: BillPlugin | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await plugin?.stop();
  await ctx?.close();
  app = plugin = ctx = undefined;
});

function config(tolls: number[], dataDir?: string): Config {
  const c = testConfig('http://127.0.0.1:9', {
    energy: {
      contract: { tariff: '6.1TD', contractedKw: [100, 100, 100, 100, 100, 100], powerPriceEurKwYear: [30, 25, 15, 10, 5, 2], tollsAndChargesEurKwh: tolls, energy: { indexed: { marginEurMwh: 5 } } },
      meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }],
    },
  });
  return dataDir ? { ...c, dataDir } : c;
}

/** Starts the bill plugin (and its routes) on `cfg` at `now`; the first start writes prices and the meter's quarter-hours. */
async function start(cfg: Config, now: string, seed: boolean) {
  ctx = await pluginContext(cfg, now);
  if (seed) {
    const slots = [];
    for (let t = at('2026-01-05T23:00:00Z'); t < at('2026-01-12T23:00:00Z'); t += H) slots.push({ start: t, end: t + H, value: 50 });
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at('2026-01-05T12:00:00Z') });
    // 5 kWh a quarter-hour (20 kW); on 7 January 10:00-11:00 local (P1) 30 kWh (120 kW, 20 kW above Pc = 100 kW)
    const rows: MeterQuarterHour[] = [];
    for (let t = localDayRange('2026-01-07').start; t < at('2026-01-12T10:00:00Z'); t += QH) {
      const kwh = t >= at('2026-01-07T09:00:00Z') && t < at('2026-01-07T10:00:00Z') ? 30 : 5;
      rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh, avgKw: 4 * kwh, period: periodOf('6.1TD', t), quality: 'measured' });
    }
    await writeMeterQuarterHours(ctx.store, rows);
    await ctx.store.setValue('bill.since', '2026-01-07');
  }
  plugin = createBill(ctx);
  await plugin.start();
  const doc = { runs: [{ process: 'conching', line: 'conching', batch: 1, start: '2026-01-07T01:00:00Z', end: '2026-01-07T02:00:00Z', start_local: '', kw: 40, cost_eur: 0 }] } as unknown as PlanDocumentPayload;
  ctx.bus.emit('plan.updated', { version: 1, planId: 'p', doc });
  await plugin.refresh();
  app = Fastify();
  const p = plugin;
  registerBillRoutes(app, { config: cfg, clock: ctx.clock, store: ctx.store, bill: () => p } as unknown as HttpContext);
  await app.ready();
  return app;
}

const get = async (path: string) => {
  const r = await app!.inject(path);
  expect(r.statusCode, `${path}: ${r.body}`).toBe(200);
  return r;
};

describe('closed days keep the bill they were billed with', () => {
  it('a toll edited in energy.contract and a restart leave the closed days, their CSV and savings alone; the change applies from the open days on', async () => {
    const cfgA = config(TOLLS);
    await start(cfgA, '2026-01-09T10:00:00Z', true);
    const before = (await get('/api/bill/days?from=2026-01-07&to=2026-01-10')).json() as BillPayload[];
    const beforeCsv = (await get('/api/bill/days.csv?from=2026-01-07&to=2026-01-09')).body;
    const savingsBefore = (await get('/api/savings/day/2026-01-07')).json();
    expect(before.map((d) => d.from_local)).toEqual(['2026-01-07', '2026-01-08', '2026-01-09']);

    // Stop, edit one toll (P6 0.002 → 0.02 €/kWh), start again on the same store, a day later.
    await app!.close();
    await plugin!.stop();
    await ctx!.close();
    const tollsB = [...TOLLS.slice(0, 5), 0.02];
    await start(config(tollsB, cfgA.dataDir), '2026-01-10T10:00:00Z', false);
    const after = (await get('/api/bill/days?from=2026-01-07&to=2026-01-11')).json() as BillPayload[];
    // 7 and 8 January were closed: the same figures to the cent (on main 7 January went from 85.55 € to 89.21 €)
    for (const i of [0, 1]) expect(after[i]!.terms, after[i]!.from_local).toEqual(before[i]!.terms);
    expect((await get('/api/bill/days.csv?from=2026-01-07&to=2026-01-09')).body).toBe(beforeCsv);
    expect(before.map((d) => d.billed_with[0]!.closed)).toEqual([true, true, false]);
    const shaA = before[0]!.billed_with[0]!.contract_sha256;
    expect(shaA).toMatch(/^[0-9a-f]{16}$/);
    // bill and savings of a closed day use the same contract
    expect(before[0]!.billed_with[0]!.contract).toEqual(savingsBefore.priced_with.contract);
    for (const i of [0, 1]) {
      expect(after[i]!.billed_with).toEqual([expect.objectContaining({ closed: true, contract_sha256: shaA })]);
      expect(after[i]!.billed_with[0]!.contract.tollsAndChargesEurKwh).toEqual(TOLLS);
    }
    // 9 January was open before the restart (billed with A so far) and closed after it: with B, the contract then
    // in force; today (10 January) is open, with B. The P6 nights cost more under B.
    const shaB = after[3]!.billed_with[0]!.contract_sha256;
    expect(shaB).not.toBe(shaA);
    expect(after[2]!.billed_with[0]).toMatchObject({ closed: true, contract_sha256: shaB });
    expect(after[3]!.billed_with[0]).toMatchObject({ closed: false, contract_sha256: shaB });
    expect(after[2]!.terms.energy_eur).toBeGreaterThan(before[1]!.terms.energy_eur);
    // the savings of 9 January were priced with the contract its bill was closed with
    expect((await get('/api/savings/day/2026-01-09')).json().priced_with.contract.tollsAndChargesEurKwh).toEqual(tollsB);
    expect((await get('/api/savings/day/2026-01-07')).json()).toEqual(savingsBefore);
    // The month says which contract billed which days, and is the sum of those days (closed ones as stored).
    const month = (await get('/api/bill/month/2026-01')).json() as BillPayload;
    expect(month.billed_with.map((w) => [w.from_local, w.to_local, w.closed, w.contract_sha256])).toEqual([
      ['2026-01-01', '2026-01-06', false, shaB], // before the gateway ran: not closed, billed (power term) with the contract now
      ['2026-01-07', '2026-01-08', true, shaA],
      ['2026-01-09', '2026-01-09', true, shaB],
      ['2026-01-10', '2026-01-10', false, shaB],
    ]);
    const energyOfDays = after.reduce((s, d) => s + d.terms.energy_eur, 0);
    expect(Math.abs(month.terms.energy_eur - energyOfDays)).toBeLessThanOrEqual(0.02);
  });

  it('a day with excess quarter-hours says its excess is billed monthly (never 0.00), and the days plus the month-level terms add up to the month', async () => {
    await start(config(TOLLS), '2026-01-12T10:00:00Z', true);
    const days = (await get('/api/bill/days?from=2026-01-01&to=2026-02-01')).json() as BillPayload[];
    const d7 = days.find((d) => d.from_local === '2026-01-07')!;
    expect(d7.terms.excess_eur).toBeNull();
    expect(d7.excess_billing).toBe('monthly');
    expect(d7.excess_note).toMatch(/billed per month/);
    const csv = (await get('/api/bill/days.csv?from=2026-01-07&to=2026-01-08')).body.trim().split('\n');
    const head = csv[0]!.split(',');
    const row = csv[1]!.split(',');
    expect(row[head.indexOf('excess_eur')]).toBe('');
    expect(row[head.indexOf('excess_billing')]).toBe('monthly');
    const month = (await get('/api/bill/month/2026-01')).json() as BillPayload;
    // 4 quarter-hours at 120 kW in P1: Kp 1 × 1.4064 × sqrt(4 × 20²) = 56.26 €
    expect(month.terms.excess_eur).toBe(56.26);
    const r = month.reconciliation!;
    const cents = (x: number) => Math.round(x * 100);
    expect(r.days).toBe(days.length);
    expect(cents(r.days_total_eur)).toBe(days.reduce((s, d) => s + cents(d.terms.total_eur), 0));
    expect(r.unmeasured_days).toBe(6); // 1-6 January: power term only, not in the day list
    expect(r.excess_eur).toBe(56.26);
    expect(cents(r.days_total_eur) + cents(r.unmeasured_days_eur) + cents(r.excess_eur) + cents(r.excess_tax_eur) + cents(r.excess_vat_eur) + cents(r.rounding_eur)).toBe(cents(month.terms.total_eur));
    expect(Math.abs(r.rounding_eur)).toBeLessThanOrEqual(0.1);
  });
});
