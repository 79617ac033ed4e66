import { cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { easterSunday, isNationalHoliday } from '../../gateway/time/calendar.js';
import { initBackend } from '../../gateway/inference/backend.js';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { runEval } from '../../models/eval/cli.js';
import { priceFeatureNames } from '../../gateway/inference/price-features.js';
import { ModelRegistry, compareVersions } from '../../gateway/inference/registry.js';
import { InferenceRefused, PredictionService } from '../../gateway/inference/service.js';
import { legacyScores } from '../../gateway/inference/prototype-scores.js';
import { DEFAULT_PLANT, hindsightDay } from '../../models/eval/hindsight.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { silent } from '../helpers/context.js';
import { FIXTURES } from '../helpers/fixture-server.js';

const SHIPPED = new URL('../../models/', import.meta.url).pathname;
const H = 3_600_000;

describe('rules and formulas', () => {
  it('finds Spanish national holidays by rule, Good Friday included, in any year', () => {
    expect(easterSunday(2026)).toEqual({ month: 4, day: 5 });
    expect(isNationalHoliday('2026-04-03')).toBe(true);
    expect(isNationalHoliday('2026-01-01')).toBe(true);
    expect(isNationalHoliday('2031-12-08')).toBe(true);
    expect(isNationalHoliday('2026-01-07')).toBe(false);
  });

  it('keeps the prototype formula for the legacy endpoints', () => {
    expect(legacyScores(0.05, 21, 55)).toMatchObject({ chocolate_production_index: 100, recommendation: 'Optimal', urgency: 'Low' });
    expect(legacyScores(0.35, 40, 90)).toMatchObject({ recommendation: 'Halt', urgency: 'Critical' });
  });

  it('plans a hindsight day: the energy goes to the cheapest hours, never to hours too hot', () => {
    const prices = Array.from({ length: 24 }, (_, h) => 100 + h);
    const temps = Array.from({ length: 24 }, (_, h) => (h === 0 ? 36 : 20));
    const plan = hindsightDay(prices, temps);
    const need = DEFAULT_PLANT.batchesPerDay * DEFAULT_PLANT.processes.reduce((s, p) => s + p.kw * p.hours, 0);
    expect(plan.reduce((s, h) => s + h.energyKwh, 0)).toBeCloseTo(need, 6);
    expect(plan[0]).toMatchObject({ energyKwh: 0, forbidden: true, label: 'Halt' });
    expect(plan[1]!.label).toBe('Optimal');
    expect(plan[23]!.label).toBe('Halt');
    expect(plan.some((h) => h.label === 'Reduced')).toBe(true);
  });
});

describe('model registry and inference (real tfjs on the WASM backend)', () => {
  let store: SeriesStore;
  let writable: string;
  const registry = (keep = 3) => new ModelRegistry([{ path: SHIPPED, writable: false }, { path: writable, writable: true }], store, silent, () => Date.now(), keep);
  /** The shipped network copied as another version of it under `into` (the writable models folder by default). */
  const copyAs = (version: string, into = writable) => {
    const dir = join(into, 'price-forecaster', version);
    cpSync(join(SHIPPED, 'price-forecaster', '1.0.0'), dir, { recursive: true });
    const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8'));
    writeFileSync(join(dir, 'card.json'), JSON.stringify({ ...card, version }));
    return dir;
  };

  beforeAll(async () => {
    store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-models-')));
    writable = mkdtempSync(join(tmpdir(), 'choco-models-rw-'));
  });
  afterAll(() => store.close());

  it('loads both shipped models on the WASM backend, with cards that match them', async () => {
    const r = registry();
    await r.refresh();
    expect(r.backend?.name).toBe('wasm');
    const price = r.get('price-forecaster');
    expect(price.card.inputs).toEqual(priceFeatureNames());
    expect((price.card.evaluation as { improvementVsBestBaseline: number }).improvementVsBestBaseline).toBeGreaterThan(0);
    expect(r.get('production-recommender').version).toBe('1.0.0');
    expect(price.loadMs).toBeGreaterThan(0);
  });

  it('picks up a new version without a restart, rolls back to the previous one, keeps the pin across restarts, prunes old retrained versions', async () => {
    const r = registry(2);
    await r.refresh();
    copyAs('1.1.0');
    await r.refresh();
    expect(r.get('price-forecaster').version).toBe('1.1.0');
    expect((await r.rollback('price-forecaster')).version).toBe('1.0.0');
    const again = registry(2);
    await again.refresh();
    expect(again.get('price-forecaster').version).toBe('1.0.0');
    await again.unpin('price-forecaster');
    expect(again.get('price-forecaster').version).toBe('1.1.0');
    copyAs('1.2.0');
    copyAs('1.3.0');
    await again.refresh();
    expect(again.get('price-forecaster').version).toBe('1.3.0');
    expect(existsSync(join(writable, 'price-forecaster', '1.1.0'))).toBe(false);
    expect(existsSync(join(writable, 'price-forecaster', '1.2.0'))).toBe(true);
    expect(compareVersions('1.0.0-r202601010000', '1.0.0')).toBeGreaterThan(0);
  });

  it('gives the recalibrated ensemble the newest network as a member, one at or below a pinned rollback, and skips a corrupt one once', async () => {
    const own = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-member-')));
    const dir = mkdtempSync(join(tmpdir(), 'choco-member-rw-'));
    const copy = (version: string) => copyAs(version, dir);
    const r = new ModelRegistry([{ path: SHIPPED, writable: false }, { path: dir, writable: true }], own, silent, () => Date.now(), 5);
    try {
      await r.refresh();
      copy('1.1.0');
      const first = await r.memberNetwork('price-forecaster');
      expect(first?.version).toBe('1.1.0');
      expect(first?.trainedTo).toBe('2024-12-31');
      await r.refresh();
      await r.rollback('price-forecaster');
      expect((await r.memberNetwork('price-forecaster'))?.version).toBe('1.0.0');
      await r.unpin('price-forecaster');
      const broken = copy('1.2.0');
      writeFileSync(join(broken, 'model.json'), '{ not json');
      expect((await r.memberNetwork('price-forecaster'))?.version).toBe('1.1.0');
      expect(r.problemList().some((p) => p.model === 'price-forecaster@1.2.0' && /ensemble member/.test(p.problem))).toBe(true);
      expect((await r.memberNetwork('price-forecaster'))?.version).toBe('1.1.0');
    } finally {
      r.dispose();
      await own.close();
    }
  });

  it('keeps the working version when a new one is corrupt, and says why', async () => {
    const r = registry(5);
    await r.refresh();
    const before = r.get('price-forecaster').version;
    const dir = copyAs('9.0.0');
    truncateSync(join(dir, 'weights.bin'), 100);
    await r.refresh();
    expect(r.get('price-forecaster').version).toBe(before);
    expect(r.problemList().find((p) => p.model === 'price-forecaster@9.0.0')?.problem).toMatch(/failed to load/);
  });

  it('refuses to forecast without recent prices, and forecasts 48 h with a band from a real month of OMIE prices', async () => {
    await initBackend();
    const r = new ModelRegistry([{ path: SHIPPED, writable: false }], store, silent, () => Date.now());
    await r.refresh();
    const options = { priceSeries: 'omie_es', timezone: 'Europe/Madrid', driverSeries: { demand: 'd', wind: 'w', solar: 's' }, temperature: { forecast: 'fc.combined.temp', observed: 'obs.combined.temp' } };
    const service = new PredictionService(r, store, options);
    const now = Date.parse('2025-11-29T12:00:00Z');
    await expect(service.priceForecast(now)).rejects.toThrow(InferenceRefused);
    const prices = loadHourlyPrices(join(FIXTURES, 'models/omie_es_2025-11.csv.gz'));
    const slots = [...prices.entries()].map(([start, value]) => ({ start, end: start + H, value }));
    await store.write('omie_es', 'EUR/MWh', slots.filter((s) => s.start < Date.parse('2025-11-29T23:00:00Z')), { source: 'test', fetchedAt: now });
    const f = await service.priceForecast(now);
    expect(f.lastKnownEnd).toBe(Date.parse('2025-11-29T23:00:00Z'));
    expect(f.slots).toHaveLength(48);
    expect(f.slots[0]!.start).toBe(f.lastKnownEnd);
    expect(f.slots.every((s) => s.low <= s.value && s.value <= s.high)).toBe(true);
    const actual = f.slots.filter((s) => prices.has(s.start)).map((s) => Math.abs(s.value - prices.get(s.start)!));
    expect(actual.length).toBe(24);
    expect(actual.reduce((a, b) => a + b) / actual.length).toBeLessThan(60);
    await expect(service.priceForecast(now + 3 * 24 * H)).rejects.toThrow(/prices are stale/);
    await expect(service.recommendations(now)).rejects.toThrow(/no temperature forecast or observation/);
    expect(r.get('price-forecaster').inferences).toBe(1);
  });
});

describe('choco-edge eval on small real slices', () => {
  it('prints the price metrics table ending with the overall line', async () => {
    const out = await runEval({ model: 'price-forecaster', version: '1.0.0', prices: join(FIXTURES, 'models/omie_es_2025-11.csv.gz') });
    expect(out).toMatch(/^1-12h\s+\d+/m);
    expect(out.trim().split('\n').at(-1)).toMatch(/^overall: model_mae=\d+\.\d\d naive_day_mae=\d+\.\d\d naive_week_mae=\d+\.\d\d unit=EUR\/MWh$/);
  });

  it('replays the daily recalibration (rolling origin) at the market resolution, with and without drivers, from a cache the second time', async () => {
    const args = {
      model: 'price-forecaster',
      prices: join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz'),
      drivers: join(FIXTURES, 'models/esios_d1_drivers_2025-08-20_2025-11-16.csv.gz'),
      from: '2025-10-20',
      to: '2025-11-10',
      lear: { windows: [14, 28], conformalDays: 7 },
      cacheDir: mkdtempSync(join(tmpdir(), 'choco-eval-cache-')),
    };
    const out = await runEval(args);
    expect(out).toMatch(/^1-48h\s+\d+/m);
    expect(out).toMatch(/^2025-10\s+\d+/m);
    expect(out).toMatch(/^with drivers\s+\d+/m);
    expect(out).toMatch(/^prices only\s+\d+/m);
    expect(out).toMatch(/Diebold-Mariano, 1-48 h vs same-period-(yesterday|last-week) \(the better naive\): DM=-?\d/);
    expect(out).toMatch(/months where D\+1 loses to the better naive: /);
    // 21 target days of quarter-hours (one with 100) for D+1 and for D+2.
    const d1 = Number(/^D\+1\s+(\d+)/m.exec(out)![1]);
    expect(d1).toBe(20 * 96 + 100);
    expect(out.trim().split('\n').at(-1)).toMatch(/^overall: model_mae=\d+\.\d\d naive_day_mae=\d+\.\d\d naive_week_mae=\d+\.\d\d unit=EUR\/MWh$/);
    const again = await runEval(args);
    // The scored origins come from the cache; only the warm-up before them (never cached: it lacks its own warm-up) is recomputed.
    const first = /(\d+) calibrations computed, (\d+) reused from cache/.exec(out)!;
    const second = /(\d+) calibrations computed, (\d+) reused from cache/.exec(again)!;
    expect(Number(second[2])).toBeGreaterThanOrEqual(2 * 22);
    expect(Number(second[1])).toBe(Number(first[1]) - Number(second[2]));
    expect(again.split('\n').slice(1)).toEqual(out.split('\n').slice(1));
  });

  it('evaluates the recommender against the legacy formula with a confusion matrix', async () => {
    const out = await runEval({ model: 'production-recommender', prices: join(FIXTURES, 'models/kaggle_price_2018-07.csv.gz'), weather: join(FIXTURES, 'models/kaggle_weather_seville_2018-07.csv.gz') });
    expect(out).toMatch(/actual \\ predicted\s+Optimal\s+Moderate\s+Reduced\s+Halt/);
    expect(out.trim().split('\n').at(-1)).toMatch(/^overall: model_accuracy=0\.\d{3} model_macro_f1=0\.\d{3} legacy_accuracy=0\.\d{3} legacy_macro_f1=0\.\d{3}$/);
    await expect(runEval({ model: 'production-recommender', prices: join(FIXTURES, 'models/kaggle_price_2018-07.csv.gz') })).rejects.toThrow(/needs --weather/);
    await expect(runEval({ model: 'nope', prices: join(FIXTURES, 'models/kaggle_price_2018-07.csv.gz') })).rejects.toThrow(/unknown model/);
  });
});

describe('retraining job', () => {
  it('promotes a retrained price forecaster only when it beats the active one on the same recent weeks', async () => {
    const { pluginContext, testConfig } = await import('../helpers/context.js');
    const { createPredictions } = await import('../../plugins/predictions/index.js');
    const { buildPriceNetwork } = await import('../../gateway/inference/price-model.js');
    const { fileSaveHandler } = await import('../../gateway/inference/io.js');
    const config = testConfig('http://127.0.0.1:9', { models: { retrainMinDays: 20, retrainEvalWeeks: 1 } });
    const ctx = await pluginContext(config, '2025-11-30T12:00:00Z');
    const prices = loadHourlyPrices(join(FIXTURES, 'models/omie_es_2025-11.csv.gz'));
    await ctx.store.write('omie_es', 'EUR/MWh', [...prices.entries()].map(([start, value]) => ({ start, end: start + H, value })), { source: 'test', fetchedAt: ctx.clock.now() });
    const plugin = createPredictions(ctx);
    await plugin.start();
    expect(plugin.registry.get('price-forecaster').version).toBe('1.0.0');
    const kept = await plugin.jobs!.retraining!();
    expect(kept.summary).toMatch(/did not beat active 1\.0\.0|promoted/);
    // An untrained network as the active version: any real training must beat it.
    const dir = join(config.dataDir, 'models', 'price-forecaster', '1.5.0');
    await buildPriceNetwork(priceFeatureNames().length, 7).save(fileSaveHandler(dir));
    const card = JSON.parse(readFileSync(join(SHIPPED, 'price-forecaster', '1.0.0', 'card.json'), 'utf8'));
    writeFileSync(join(dir, 'card.json'), JSON.stringify({ ...card, version: '1.5.0' }));
    await plugin.registry.refresh();
    expect(plugin.registry.get('price-forecaster').version).toBe('1.5.0');
    const promoted = await plugin.jobs!.retraining!();
    expect(promoted.summary).toMatch(/^promoted 1\.5\.0-r\d{12}: MAE [\d.]+ < [\d.]+ €\/MWh/);
    expect(plugin.registry.get('price-forecaster').version).toMatch(/^1\.5\.0-r/);
    await plugin.stop();
    await ctx.close();
  });
});
