import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
// Real OMIE day-ahead prices of November 2025 (test/fixtures/PROVENANCE.md).
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;

/**
 * Issue #23: the plan document says which hours were planned on forecast prices and how sure the saving is, over
 * scenarios drawn from the forecaster's stored 10-90 % band (gateway/planner/band.ts).
 */
describe('the plan on forecast prices says how sure its saving is', () => {
  it.each([
    ['a band of ±30 €/MWh', 30],
    ['no width (the forecast is certain)', 0],
  ])('gives the saving at the point forecast and its 10-90 percent range with %s', async (_, halfWidth) => {
    const now = '2025-11-10T09:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, timeLimitMs: 5000 } }), now);
    const all = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    const cut = Date.parse('2025-11-10T23:00:00Z'); // published to the end of the local day, forecast after
    await ctx.store.write('omie_es', 'EUR/MWh', all.filter((s) => s.start < cut), { source: 'test', fetchedAt: Date.parse(now) });
    const forecast = all.filter((s) => s.start >= cut && s.start < cut + 48 * H);
    await ctx.store.write('forecast.omie_es', 'EUR/MWh', forecast, { source: 'test', fetchedAt: Date.parse(now) });
    await ctx.store.write('forecast.omie_es.low', 'EUR/MWh', forecast.map((s) => ({ ...s, value: s.value - halfWidth })), { source: 'test', fetchedAt: Date.parse(now) });
    await ctx.store.write('forecast.omie_es.high', 'EUR/MWh', forecast.map((s) => ({ ...s, value: s.value + halfWidth })), { source: 'test', fetchedAt: Date.parse(now) });
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    const band = doc.forecast_band!;
    expect(band).toBeTruthy();
    expect(band.forecast_slots).toBe(doc.hours.filter((h) => h.price_source === 'forecast').length);
    expect(band.first_forecast).toBe(doc.hours.find((h) => h.price_source === 'forecast')!.start);
    // The point figure is the plan's own saving.
    expect(band.saved_point_eur).toBeCloseTo(doc.totals.saved_eur!, 1);
    expect(band.saved_p10_eur).toBeLessThanOrEqual(band.saved_expected_eur);
    expect(band.saved_expected_eur).toBeLessThanOrEqual(band.saved_p90_eur);
    if (halfWidth) expect(band.saved_p90_eur - band.saved_p10_eur).toBeGreaterThan(0.5);
    else {
      expect(band.saved_p10_eur).toBe(band.saved_point_eur);
      expect(band.saved_p90_eur).toBe(band.saved_point_eur);
    }
    console.log(`band ±${halfWidth}: ${JSON.stringify(band)}`);
    await ctx.close();
  }, 120_000);
});
