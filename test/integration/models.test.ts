import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../../gateway/time/clock.js';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, subscriber, type Collected } from '../helpers/gateway.js';

// The demo's real samples: OMIE prices and Seville weather, 2018-03-20 → 04-06. 12:00 in Madrid on 2 April.
const NOW = '2018-04-02T10:00:00Z';

describe('models through the whole gateway (replayed real prices and weather)', () => {
  let gw: Gateway;
  let clock: FakeClock;
  let http: string;
  let sub: Collected;
  const auth = { authorization: 'Bearer http-test-token' };
  const post = (path: string, body?: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${http}${path}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } } });
    ({ gw, clock } = await startGateway(config, NOW));
    http = gw.http!.url;
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), { timeout: 60_000 });
    sub = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/#');
    await gw.scheduler.trigger('weatherIngestion');
    // The combined weather is refreshed just after ingestion: wait for its forecast so the runs below see it.
    await vi.waitFor(async () => expect(await gw.store.count('fc.combined.temp')).toBeGreaterThan(0), { timeout: 30_000 });
    const run = await gw.scheduler.trigger('predictions');
    expect(run.lastRun?.outcome).toBe('ok');
  });
  afterAll(async () => {
    await sub?.client.endAsync();
    await gw?.stop();
  });

  it('forecasts the 48 hours after the last published price, hourly or per quarter-hour', async () => {
    const hourly = await (await fetch(`${http}/api/forecast/prices?hours=4`)).json();
    expect(hourly).toMatchObject({ series: 'omie_es', model: 'price-forecaster', version: '1.0.0', last_known_end: '2018-04-02T22:00:00Z', resolution: 'hourly' });
    expect(hourly.slots).toHaveLength(4);
    expect(hourly.slots[0]).toMatchObject({ start: '2018-04-02T22:00:00Z', start_local: '2018-04-03T00:00:00+02:00', horizon_h: 1 });
    expect(hourly.slots[0].low).toBeLessThanOrEqual(hourly.slots[0].value);
    const quarter = await (await fetch(`${http}/api/forecast/prices?hours=4&resolution=15m`)).json();
    expect(quarter.slots).toHaveLength(16);
    expect(quarter.slots[1].start).toBe('2018-04-02T22:15:00Z');
    expect(quarter.slots[1].value).toBe(hourly.slots[0].value);
    expect((await fetch(`${http}/api/forecast/prices?hours=49`)).status).toBe(400);
  });

  it('answers the prototype body with the legacy formula and ?horizon= with the model', async () => {
    const legacy = await (await post('/predict/production-recommendation', { price_eur_kwh: 0.12, temperature: 22, humidity: 55 })).json();
    expect(legacy).toMatchObject({ method: 'legacy-formula', recommendation: 'Optimal', urgency: 'Low' });
    expect(legacy.chocolate_production_index).toBeCloseTo(78.33, 2);
    const energy = await (await post('/predict/energy-optimization', { price_eur_kwh: 0.3, temperature: 30, humidity: 70 })).json();
    expect(energy).toMatchObject({ method: 'legacy-formula' });
    expect(energy.energy_optimization_score).toBeCloseTo(0.7 * (100 - 83.33) + 0.3 * 10, 1);
    const model = await (await post('/predict/production-recommendation?horizon=6', { price_eur_kwh: 0.12, temperature: 22, humidity: 55 })).json();
    expect(model).toMatchObject({ method: 'model', model: 'production-recommender', version: '1.0.0' });
    expect(model.hours).toHaveLength(6);
    // The replay offers the recorded weather as its forecast (from the current hour on), so every hour has one.
    expect(model.hours[0]).toMatchObject({ start: '2018-04-02T10:00:00Z', price_source: 'published', temperature_source: 'forecast' });
    expect(model.hours[1]).toMatchObject({ start: '2018-04-02T11:00:00Z', temperature_source: 'forecast' });
    expect(['Optimal', 'Moderate', 'Reduced', 'Halt']).toContain(model.hours[0].recommendation);
    const noBody = await (await post('/predict/energy-optimization', undefined, {})).json();
    expect(noBody.method).toBe('model');
    expect(noBody.hours.some((h: { price_source: string }) => h.price_source === 'forecast')).toBe(true);
    const bad = await post('/predict/energy-optimization', { price_eur_kwh: 0.3, temperature: 30, humidity: 150 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/humidity/);
  });

  it('reports each model with its card metrics, backend, timings and input freshness', async () => {
    const status = await (await fetch(`${http}/models/status`)).json();
    expect(status.backend.name).toBe('wasm');
    const price = status.models.find((m: { name: string }) => m.name === 'price-forecaster');
    expect(price.card_metrics.overall.model.mae).toBeGreaterThan(0);
    expect(price.inferences).toBeGreaterThanOrEqual(1);
    expect(price.load_ms).toBeGreaterThan(0);
    expect(price.inputs[0]).toMatchObject({ series: 'omie_es', stale: false });
    expect(status.accuracy.bands.map((b: { band: string }) => b.band)).toEqual(['1-12h', '13-24h', '25-48h']);
    expect((await post('/models/price-forecaster/rollback', undefined, auth)).status).toBe(409);
    expect((await post('/models/price-forecaster/rollback', undefined, {})).status).toBe(401);
  });

  it('publishes the forecast and the current recommendation, retained, and tracks accuracy once prices arrive', async () => {
    const f = await sub.waitFor('choco-edge/forecast/prices');
    expect(f.slots).toHaveLength(48);
    // The 10-90 % band is stored beside the forecast, for the plan's saving range (gateway/planner/band.ts).
    for (const side of ['low', 'high'] as const) {
      const stored = await gw.store.read(`forecast.${f.series}.${side}`, Date.parse(f.slots[0].start), Date.parse(f.slots.at(-1).start) + 3_600_000);
      expect(stored.map((s) => s.value)).toEqual(f.slots.map((s: Record<string, number>) => s[side]));
    }
    const r = await sub.waitFor('choco-edge/recommendation/model');
    expect(r).toMatchObject({ method: 'model', hour_start: '2018-04-02T10:00:00Z' });
    // A day later, with the scheduled runs paused and finished: the test runs what it needs itself, so that no
    // trigger is skipped because a scheduled run of a slow machine is still going.
    for (const job of gw.scheduler.status()) gw.scheduler.pause(job.id);
    await vi.waitFor(() => expect(gw.scheduler.status().filter((j) => j.running)).toEqual([]), { timeout: 60_000 });
    await clock.advanceTo(Date.parse('2018-04-03T11:40:00Z'));
    await gw.scheduler.trigger('priceIngestion');
    await gw.scheduler.trigger('predictions');
    const status = await (await fetch(`${http}/models/status`)).json();
    const first = status.accuracy.bands.find((b: { band: string }) => b.band === '1-12h');
    expect(first.days7.n).toBeGreaterThan(0);
    expect(first.days7.mae).toBeGreaterThan(0);
    expect((await sub.waitFor('choco-edge/models/status', (p) => p.accuracy[0].days7.n > 0)).backend).toBe('wasm');
    // The daily recalibration's result shows on /models/status, the status page and bridge/health.
    await gw.scheduler.trigger('recalibration');
    const after = await (await fetch(`${http}/models/status`)).json();
    expect(after.recalibration.summary).toMatch(/^(promoted 2\.0\.0-c|calibration up to 2018-04-0\d not promoted|recalibration (skipped|failed))/);
    expect(gw.pluginHealth().predictions!.details!.recalibration).toMatchObject({ summary: after.recalibration.summary });
    const ui = await (await fetch(`${http}/api/status`)).json();
    expect(ui.charts.recalibration.summary).toBe(after.recalibration.summary);
    expectForecastLineWithBand(ui.charts);
    // Once tomorrow's prices are published the band lies past the end of tomorrow: the line must still be drawn.
    await clock.advanceTo(Date.parse('2018-04-03T16:00:00Z'));
    await gw.scheduler.trigger('priceIngestion');
    await gw.scheduler.trigger('predictions');
    const later = await (await fetch(`${http}/api/status`)).json();
    expect(later.charts.band.length).toBeGreaterThan(0);
    expect(later.charts.band[0].start >= '2018-04-04T22:00:00Z', later.charts.band[0].start).toBe(true);
    expectForecastLineWithBand(later.charts);
  });
});

/** Whenever the status page draws a 10–90 % band it also draws its median line, over the same hours. */
function expectForecastLineWithBand(charts: { band: Array<{ start: string; value: number }>; forecast: Array<{ start: string; value: number }> }): void {
  if (!charts.band.length) return;
  expect(charts.forecast.length).toBeGreaterThan(0);
  for (const b of charts.band) expect(charts.forecast.find((f) => f.start === b.start)?.value, b.start).toBe(b.value);
}
