/**
 * Measured savings keep closing days after the gateway's 62nd day. Found in the demo (2018-01-08 start, ×3600): the
 * last closed day was 2018-03-10 while the replay went on into April; `/api/savings` listed nothing after it and the
 * bill's health still said "ok". The plugin scanned at most 62 days from `bill.since` (the install day) at every
 * call, already closed days included, so on a real plant every day from the 63rd on would never be closed.
 * Real parts: LevelDB in a temp dir, the meters' stored quarter-hours, the typed bus, the bill plugin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBill, type BillPlugin } from '../../plugins/bill/index.js';
import { closedDayKey, type ClosedDay } from '../../gateway/bill/savings.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import { addDays, localDayRange } from '../../gateway/time/tz.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

const QH = 900_000;
const H = 3_600_000;

let ctx: TestContext | undefined;
let plugin: BillPlugin | undefined;
afterEach(async () => {
  await plugin?.stop();
  await ctx?.close();
});

describe('closing days long after the install', () => {
  it('the 72nd day after the install is closed and measured, and each call starts from the first open day', async () => {
    const config = testConfig('http://127.0.0.1:9', {
      energy: {
        contract: { tariff: '6.1TD', contractedKw: [100, 100, 100, 100, 100, 200], powerPriceEurKwYear: [30, 25, 15, 10, 5, 2], tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002], energy: { indexed: { marginEurMwh: 5 } } },
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }],
      },
    });
    const now = '2026-03-20T10:00:00Z';
    ctx = await pluginContext(config, now);
    // Installed on 7 January; the meter and the prices from 18 March on (the days before: not measured, still closed).
    await ctx.store.setValue('bill.since', '2026-01-07');
    const from = localDayRange('2026-03-18').start;
    const slots = [];
    for (let t = from; t < Date.parse(now); t += H) slots.push({ start: t, end: t + H, value: 50 });
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: from });
    const rows: MeterQuarterHour[] = [];
    for (let t = from; t < Date.parse(now); t += QH) rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh: 12, avgKw: 48, period: periodOf('6.1TD', t), quality: 'measured' });
    await writeMeterQuarterHours(ctx.store, rows);
    plugin = createBill(ctx);
    await plugin.start();
    // A conching run on 19 March 02:00-03:00 local (01:00-02:00Z): the plan in force, started
    const doc = { runs: [{ process: 'conching', line: 'conching', batch: 7, start: '2026-03-19T01:00:00Z', end: '2026-03-19T02:00:00Z', start_local: '', kw: 40, cost_eur: 0, waited_min: null, max_wait_min: null }] } as unknown as PlanDocumentPayload;
    ctx.bus.emit('plan.updated', { version: 1, planId: 'p', doc });
    // Every day from 7 January to 19 March (72 days) is closed within two calls (62 days a call at most).
    await plugin.refresh();
    await plugin.refresh();
    const day19 = await ctx.store.getValue<ClosedDay>(closedDayKey('2026-03-19'));
    expect(day19, '19 March, the 72nd day, is closed').toBeDefined();
    expect(day19).toMatchObject({ status: 'measured', method: 'apportioned from the site meter and the plan' });
    expect(day19!.runs.map((r) => r.batch)).toEqual([7]);
    for (let d = '2026-01-07'; d < '2026-03-20'; d = addDays(d, 1)) expect(await ctx.store.getValue(closedDayKey(d)), d).toBeDefined();
    expect(await ctx.store.getValue(closedDayKey('2026-03-20'))).toBeUndefined(); // today stays open
    expect(await ctx.store.getValue<string>('bill.openFrom')).toBe('2026-03-20');
    expect((await plugin.summary()).savings.days.at(-1)).toMatchObject({ date: '2026-03-19', status: 'measured' });
  });
});
