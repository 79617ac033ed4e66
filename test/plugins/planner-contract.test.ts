import { describe, expect, it } from 'vitest';
import { periodOf } from '../../gateway/contract/calendar.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { contractInput } from '../../plugins/planner/contract-input.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const QH = 900_000;
const at = (iso: string) => Date.parse(iso);

describe('planner plugin under energy.contract', () => {
  it('plans base (forecast series) + planned load against Pc per period, with the month-so-far excess from the site meter, and shows it in the plan document', async () => {
    const now = '2026-01-13T23:00:00Z'; // local midnight, Wednesday 14 January 2026
    const contract = {
      tariff: '6.1TD',
      contractedKw: [150, 150, 150, 150, 150, 200],
      powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
      tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
      energy: { indexed: { marginEurMwh: 5 } },
    };
    const config = testConfig('http://127.0.0.1:9', { planner: { horizonHours: 24 }, energy: { contract, meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }] } });
    const ctx = await pluginContext(config, now);
    // Prices: cheap nights (20 €/MWh), dear days (120 €/MWh).
    const slots = [];
    for (let t = at('2026-01-13T23:00:00Z'); t < at('2026-01-15T23:00:00Z'); t += H) {
      const h = (new Date(t).getUTCHours() + 1) % 24;
      slots.push({ start: t, end: t + H, value: h < 7 ? 20 : 120 });
    }
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(now) });
    // Base load forecast: 130 kW on the night (P6, 200 kW: 70 kW of room), 100 kW by day (P1/P2, 150 kW: 50 kW).
    const base = [];
    for (let t = at(now); t < at(now) + 48 * H; t += QH) {
      const h = (new Date(t).getUTCHours() + 1) % 24;
      base.push({ start: t, end: t + QH, value: h < 8 ? 130 : 100 });
    }
    await ctx.store.write('forecast.site.base_load', 'kW', base, { source: 'site-load', fetchedAt: at(now) });
    // The site meter: one quarter-hour on 12 January 10:00 local 30 kW over P1 (S0 = 900 kW² for 2026-01:P1).
    const rows: MeterQuarterHour[] = [];
    for (let t = at('2026-01-11T23:00:00Z'); t < at('2026-01-12T23:00:00Z'); t += QH) {
      const kwh = t === at('2026-01-12T09:00:00Z') ? 45 : 25;
      rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh, avgKw: 4 * kwh, period: periodOf('6.1TD', t), quality: 'measured' });
    }
    await writeMeterQuarterHours(ctx.store, rows);
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    expect(doc.infeasible).toEqual([]);
    expect(doc.site).not.toBeNull();
    expect(doc.site!.base_source).toBe('forecast.site.base_load');
    expect(doc.site!.quarter_hours).toHaveLength(96);
    for (const q of doc.site!.quarter_hours) {
      expect(q.site_kw).toBeCloseTo(q.base_kw + q.planned_kw, 6);
      expect(q.contracted_kw).toBe(q.period === 'P6' ? 200 : 150);
    }
    // Every quarter-hour stays within its period's contracted power: the runs fit in the room the base load leaves.
    expect(doc.site!.quarter_hours.filter((q) => q.above_kw > 0)).toEqual([]);
    expect(doc.totals.excess_eur).toBe(0);
    // The slots are priced by the contract (energy periods of 6.1TD), and the expected bills of plan and shift are there.
    expect(new Set(doc.hours.map((h) => h.period))).toEqual(new Set(['P1', 'P2', 'P6']));
    expect(doc.site!.expected_bill.label).toBe('forecast');
    expect(doc.site!.expected_bill.plan.excess_quarter_hours).toBe(0);
    expect(doc.site!.expected_bill.fixed_shift).not.toBeNull();
    expect(doc.site!.expected_bill.plan.energy_eur).toBeLessThanOrEqual(doc.site!.expected_bill.fixed_shift!.energy_eur);
    // S0: the month already holds one quarter-hour 30 kW over P1 (12 January), read from the site meter.
    const starts = [at(now), at(now) + H];
    const input = await contractInput(ctx, buildPlannerInput(config.planner, { starts, resolutionMs: H, priceEurMwh: [20, 20], priceSource: ['published', 'published'], outdoorC: [null, null], runsToPlace: {} }, 'Europe/Madrid'));
    expect(input.site!.s0Kw2).toEqual({ '2026-01:P1': 900 });
    await ctx.close();
  }, 120_000);
});
