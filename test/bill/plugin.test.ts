/**
 * The bill plugin on real parts: LevelDB in a temp dir, the meters' quarter-hour records, the typed bus, a real
 * Fastify app for the routes (MQTT left unconnected: its retained messages are read from the connection).
 */
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { afterEach, describe, expect, it } from 'vitest';
import { createBill, type BillPlugin } from '../../plugins/bill/index.js';
import { monthReportHtml, registerBillRoutes } from '../../gateway/http/bill-routes.js';
import type { HttpContext } from '../../gateway/http/context.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import { localDayRange } from '../../gateway/time/tz.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

const QH = 900_000;
const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);

let ctx: TestContext | undefined;
let plugin: BillPlugin | undefined;
afterEach(async () => {
  await plugin?.stop();
  await ctx?.close();
  plugin = undefined;
  ctx = undefined;
});

async function setup(now: string, extraRuns: PlanDocumentPayload['runs'] = []) {
  const config = testConfig('http://127.0.0.1:9', {
    energy: {
      contract: {
        tariff: '6.1TD',
        contractedKw: [100, 100, 100, 100, 100, 200],
        powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
        tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
        energy: { indexed: { marginEurMwh: 5 } },
      },
      meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }],
    },
  });
  ctx = await pluginContext(config, now);
  // Prices: hourly 50 €/MWh, 120 €/MWh for 06:00-07:00 local on 7 January (05:00Z)
  const slots = [];
  for (let t = at('2026-01-05T23:00:00Z'); t < at('2026-01-09T23:00:00Z'); t += H) slots.push({ start: t, end: t + H, value: t === at('2026-01-07T05:00:00Z') ? 120 : 50 });
  await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at('2026-01-05T12:00:00Z') });
  // Site meter: 5 kWh a quarter-hour, 15 kWh while conching ran 02:00-03:00 local on 7 January
  const rows: MeterQuarterHour[] = [];
  for (let t = localDayRange('2026-01-07').start; t < Date.parse(now); t += QH) {
    const kwh = t >= at('2026-01-07T01:00:00Z') && t < at('2026-01-07T02:00:00Z') ? 15 : 5;
    rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh, avgKw: 4 * kwh, period: periodOf('6.1TD', t), quality: 'measured' });
  }
  await writeMeterQuarterHours(ctx.store, rows);
  await ctx.store.setValue('bill.since', '2026-01-07');
  plugin = createBill(ctx);
  const doc = { runs: [{ process: 'conching', line: 'conching', batch: 1, start: '2026-01-07T01:00:00Z', end: '2026-01-07T02:00:00Z', start_local: '', kw: 40, cost_eur: 0 }, ...extraRuns] } as unknown as PlanDocumentPayload;
  await plugin.start();
  ctx.bus.emit('plan.updated', { version: 1, planId: 'p', doc });
  await plugin.refresh();
  return { ctx, plugin };
}

const retained = (c: TestContext) => (c.mqtt as unknown as { retained: Map<string, string> }).retained;

describe('bill plugin', () => {
  it('closes yesterday once, publishes today and the month to date, and a corrected price does not change the closed day', async () => {
    const { ctx: c, plugin: p } = await setup('2026-01-08T10:00:00Z');
    expect((await p.summary()).power_now).toBeNull(); // no reading yet: no power shown, never a stale one
    c.bus.emit('meter.reading', { meter: 'site', role: 'site', at: c.clock.now() - 60_000, kw: 180, importKwh: 1000, quality: 'good' });
    const s = await p.summary();
    // Thursday 8 January 11:00 local is P1 (alta season peak): 180 kW against Pc1 = 100 kW
    expect(s.power_now).toEqual({ kw: 180, at: '2026-01-08T09:59:00Z', period: 1, contracted_kw: 100, ratio: 1.8, quality: 'good' });
    // Today so far: 00:00-11:00 local = 44 quarter-hours × 5 kWh = 220 kWh
    expect(s.provenance).toBe('measured');
    expect(s.today).toMatchObject({ kind: 'day', from_local: '2026-01-08', measured: 'measured', provenance: 'measured' });
    expect(s.today!.terms.energy_kwh).toBe(220);
    expect(s.today!.coverage).toMatchObject({ expected: 44, measured: 44, missing: 0 });
    // The month to date: 1-6 January have no meter data: partial, never zero-filled
    expect(s.month!.measured).toBe('partial');
    expect(s.month!.coverage.missing).toBe(6 * 96);
    expect(s.month!.projected?.label).toBe('forecast');
    // Yesterday closed: the saving of the savings test (apportioned, 40 kWh at 02:00 vs the 06:00 shift) = 2.80 €
    expect(s.savings.days).toHaveLength(1);
    expect(s.savings.days[0]).toMatchObject({ date: '2026-01-07', status: 'measured', saved_eur: 2.8, method: 'apportioned from the site meter and the plan' });
    expect(s.savings.months[0]).toMatchObject({ month: '2026-01', saved_eur: 2.8, measured_days: 1, not_measured_days: 0 });
    const r = retained(c);
    expect(JSON.parse(r.get('test/bill/today')!).terms.energy_kwh).toBe(220);
    expect(JSON.parse(r.get('test/savings')!).days[0].saved_eur).toBe(2.8);
    // OMIE corrects the 06:00 price of 7 January; the next day the plugin runs again: the closed day stays
    await c.store.write('omie_es', 'EUR/MWh', [{ start: at('2026-01-07T05:00:00Z'), end: at('2026-01-07T06:00:00Z'), value: 300 }], { source: 'test', fetchedAt: at('2026-01-08T12:00:00Z') });
    await c.clock.advanceTo(at('2026-01-09T10:00:00Z'));
    await p.refresh();
    const after = await p.summary();
    expect(after.savings.days.find((d) => d.date === '2026-01-07')!.saved_eur).toBe(2.8);
    // 8 January (no run; meter complete up to 10:00Z only): not measured, not zero
    const day8 = after.savings.days.find((d) => d.date === '2026-01-08');
    expect(day8).toMatchObject({ status: 'not measured', saved_eur: null });
  });

  it('a run going on past midnight is measured from the next day\'s quarter-hours (the day is not "not measured")', async () => {
    const { plugin: p } = await setup('2026-01-08T10:00:00Z', [{ process: 'tempering', line: 'tempering', batch: 1, start: '2026-01-07T22:30:00Z', end: '2026-01-07T23:30:00Z', start_local: '', kw: 20, cost_eur: 0, waited_min: null, max_wait_min: null }]);
    const day = (await p.summary()).savings.days.find((d) => d.date === '2026-01-07')!;
    expect(day.status).toBe('measured');
    expect(day.runs.map((r) => r.process)).toEqual(['conching', 'tempering']);
  });

  it('API: JSON, CSV, the month report and one-sentence 400s', async () => {
    const { ctx: c, plugin: p } = await setup('2026-01-08T10:00:00Z');
    const app = Fastify();
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 't', version: '1' } } });
    // The site's Spanish name is configured: the Spanish report heads with it (it said "Chocolate factory"), the English one with `name`.
    const config = { ...c.config, site: { ...c.config.site, name: 'Chocolate factory, Linares (Jaén)', names: { es: 'Fábrica de chocolate, Linares (Jaén)' } } };
    registerBillRoutes(app, { config, clock: c.clock, store: c.store, bill: () => p } as unknown as HttpContext);
    await app.ready();
    // documented in /openapi.json (the server registers the same routes after the same plugin)
    expect(Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths)).toEqual(expect.arrayContaining(['/api/bill', '/api/bill/days', '/api/bill/days.csv', '/api/bill/month/{month}', '/api/bill/month/{month}/report', '/api/savings', '/api/savings/days.csv', '/api/savings/day/{date}']));
    const bill = await app.inject('/api/bill');
    expect(bill.statusCode).toBe(200);
    expect(bill.json().today.terms.energy_kwh).toBe(220);
    const days = await app.inject('/api/bill/days?from=2026-01-07&to=2026-01-09');
    expect(days.json().map((d: { terms: { energy_kwh: number } }) => d.terms.energy_kwh)).toEqual([4 * 15 + 92 * 5, 220]);
    const csv = await app.inject('/api/bill/days.csv?from=2026-01-07&to=2026-01-08');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\n')[1]).toMatch(/^site,day,2026-01-07,2026-01-07,2026-01-06T23:00:00Z,2026-01-07T23:00:00Z,measured,520,/);
    const report = await app.inject('/api/bill/month/2026-01/report?lang=en');
    expect(report.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(report.body).toContain('Monthly electricity bill 2026-01');
    expect(report.body).toContain('Partial: measured quarter-hours are missing');
    const es = await app.inject('/api/bill/month/2026-01/report?lang=es');
    expect(es.body).toContain('Factura eléctrica mensual 2026-01');
    expect(es.body).toContain('<p>Fábrica de chocolate, Linares (Jaén) · Contador:');
    expect(es.body).not.toContain('Chocolate factory');
    expect(report.body).toContain('<p>Chocolate factory, Linares (Jaén) · Meter:');
    // A simulated meter's provenance (a config text, in English) follows a translated sentence, never stands alone.
    const demoMonth = { ...bill.json().month, provenance: 'simulated: an SDM630 served by the demo' };
    expect(monthReportHtml(demoMonth, 'es', 'x')).toContain('<p class="warn">Contador SIMULADO (demo): estas cifras no son medidas de un contador real. Origen del contador: <span lang="en" translate="no">simulated: an SDM630 served by the demo</span></p>');
    expect(monthReportHtml(demoMonth, 'en', 'x')).toContain('<p class="warn">SIMULATED meter (demo): these figures are not measured by a real meter. Meter source: <span lang="en" translate="no">simulated: an SDM630');
    expect(es.body).toMatch(/<td>P6<\/td><td>[\d.]+,\d{3}<\/td>/); // Spanish decimal comma
    const savings = await app.inject('/api/savings/days.csv?from=2026-01-01&to=2026-02-01');
    expect(savings.body).toContain('2026-01-07,measured,apportioned from the site meter and the plan,40,2.28,5.08,2.80,1,');
    const stored = await app.inject('/api/savings/day/2026-01-07');
    expect(stored.json().priced_with.prices_eur_mwh).toContainEqual(['2026-01-07T05:00:00Z', 120]);
    // A month the meter never saw has no bill: not "measured" at 0 €, not power and VAT on 0 kWh, no projection.
    for (const [url, why] of [
      ['/api/bill/month/2030-05', /^no bill for 2030-05: the month has not started \(today is 2026-01-08 in Europe\/Madrid\)$/],
      ['/api/bill/month/2026-02/report?lang=en', /^no bill for 2026-02: the month has not started/],
      ['/api/bill/month/1999-01', /^no bill for 1999-01: the site meter "site" has no quarter-hour in that month \(2976 expected so far\), so nothing was measured$/],
      ['/api/bill/month/2025-12/report', /^no bill for 2025-12: the site meter "site" has no quarter-hour/],
    ] as const) {
      const none = await app.inject(url);
      expect(none.statusCode, url).toBe(404);
      expect(none.json().message, url).toMatch(why);
    }
    expect((await app.inject('/api/bill/month/2026-01')).json()).toMatchObject({ measured: 'partial', from_local: '2026-01-01' });
    const bad = await app.inject('/api/bill/days?from=2026-01-09&to=2026-01-07');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('"to" (2026-01-07) must come after "from" (2026-01-09); the range is [from, to)');
    await app.close();
  });
});

describe('bill API without the bill plugin', () => {
  it('answers 409 with a sentence (the gateway runs, the bill is not configured), never 5xx', async () => {
    const config = testConfig('http://127.0.0.1:9');
    const app = Fastify();
    registerBillRoutes(app, { config, clock: { now: () => at('2026-01-08T10:00:00Z') }, bill: () => undefined } as unknown as HttpContext);
    for (const url of ['/api/bill', '/api/bill/month/2026-01', '/api/savings', '/api/bill/days?from=2026-01-01&to=2026-01-02']) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(409);
      expect(res.json().message).toMatch(/^the bill is off: it needs energy.contract and a site meter/);
    }
    await app.close();
  });
});
