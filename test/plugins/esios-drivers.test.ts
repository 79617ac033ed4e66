import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaySource } from '../../gateway/sources/day-source.js';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { ModelRegistry } from '../../gateway/inference/registry.js';
import { PredictionService } from '../../gateway/inference/service.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { esiosDriversPlugin, parseDriverIndicator } from '../../plugins/esios/drivers.js';
import { pluginContext, silent, testConfig } from '../helpers/context.js';
import { FIXTURES, FixtureServer, fixture } from '../helpers/fixture-server.js';
import { join } from 'node:path';

const H = 3_600_000;

describe('ESIOS D+1 drivers for the price model', () => {
  const server = new FixtureServer();
  beforeAll(async () => {
    await server.start();
    server.routes = [
      (req, url) => {
        const m = /^\/indicators\/(177[579])$/.exec(url.pathname);
        if (!m) return undefined;
        if (req.headers['x-api-key'] !== 'test-token') return { status: 401, headers: { 'content-type': 'text/plain' }, body: 'HTTP Token: Access denied.' };
        if (url.searchParams.get('start_date') !== '2025-06-10T00:00') return { body: JSON.stringify({ indicator: { id: Number(m[1]), values: [] } }) };
        return { body: fixture(`esios-drivers/esios_${m[1]}_2025_06_10.json`) };
      },
    ];
  });
  afterAll(() => server.stop());

  it('fetches demand, wind and PV for D+1 in the morning, averaged per hour for Península', async () => {
    const ctx = await pluginContext(testConfig(server.base), '2025-06-09T10:00:00Z'); // 12:00 Madrid, after 11:30
    const source = esiosDriversPlugin.create(ctx) as DaySource;
    expect(source.wantedDays()).toEqual(['2025-06-09', '2025-06-10']);
    await source.ingestDay('2025-06-10');
    const { start, end } = localDayRange('2025-06-10');
    const demand = await ctx.store.read('drivers.demand_d1', start, end);
    expect(demand).toHaveLength(24);
    expect(demand[0]!.value).toBe(26374.3);
    expect(await ctx.store.count('drivers.solar_d1', start, end)).toBe(24);
    const q = server.requests.find((r) => r.path === '/indicators/1775')!.query;
    expect(q).toContain('time_agg=average');
    expect(decodeURIComponent(q)).toContain('geo_ids[]=8741');
    await ctx.close();
  });

  it('refuses a sum over quarter-hours (or another unit) as implausible MW', () => {
    const body = JSON.parse(fixture('esios-drivers/esios_1775_2025_06_10.json'));
    for (const v of body.indicator.values) v.value *= 4;
    expect(() => parseDriverIndicator(body, 1775)).toThrow(/outside 0..60000; wrong unit or a sum over quarter-hours/);
  });

  it('the price forecaster uses the drivers when the store has them for the first day', async () => {
    const ctx = await pluginContext(testConfig(server.base), '2025-11-29T12:00:00Z');
    const registry = new ModelRegistry([{ path: new URL('../../models/', import.meta.url).pathname, writable: false }], ctx.store, silent, () => Date.now());
    await registry.refresh();
    const service = new PredictionService(registry, ctx.store, { priceSeries: 'omie_es', timezone: 'Europe/Madrid', driverSeries: { demand: 'drivers.demand_d1', wind: 'drivers.wind_d1', solar: 'drivers.solar_d1' }, temperature: { forecast: 'fc', observed: 'obs' } });
    const prices = loadHourlyPrices(join(FIXTURES, 'models/omie_es_2025-11.csv.gz'));
    await ctx.store.write('omie_es', 'EUR/MWh', [...prices.entries()].filter(([t]) => t < Date.parse('2025-11-29T23:00:00Z')).map(([start, value]) => ({ start, end: start + H, value })), { source: 'test', fetchedAt: ctx.clock.now() });
    const without = await service.priceForecast(ctx.clock.now());
    expect(without.driversUsed).toBe(0);
    // The June values laid on the forecast day only to exercise the plumbing: this checks that they reach the model, not their effect.
    const { start } = localDayRange('2025-11-30');
    for (const [ind, id] of [[1775, 'drivers.demand_d1'], [1777, 'drivers.wind_d1'], [1779, 'drivers.solar_d1']] as const) {
      const june = parseDriverIndicator(JSON.parse(fixture(`esios-drivers/esios_${ind}_2025_06_10.json`)), ind).slots;
      await ctx.store.write(id, 'MW', june.map((s, i) => ({ start: start + i * H, end: start + (i + 1) * H, value: s.value })), { source: 'test', fetchedAt: ctx.clock.now() });
    }
    const withDrivers = await service.priceForecast(ctx.clock.now());
    expect(withDrivers.driversUsed).toBe(24);
    expect(withDrivers.slots.slice(0, 24).some((s, i) => s.value !== without.slots[i]!.value)).toBe(true);
    expect(withDrivers.slots.slice(24)).toEqual(without.slots.slice(24));
    await ctx.close();
  });
});
