import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSimulation, persistenceTemperature, simulate } from '../../models/eval/simulate.js';
import { testConfig } from '../helpers/context.js';
import { FIXTURES } from '../helpers/fixture-server.js';

describe('simulate with the forecast the gateway would have had at 10:00 the day before', () => {
  it('plans on the calibration made the afternoon before and reports the share of the hindsight saving kept', async () => {
    const config = testConfig('http://127.0.0.1:9', { models: { recalibration: { windows: [14, 28], conformalDays: 7 } } });
    const prices = join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz');
    const from = '2025-10-20';
    const to = '2025-10-30';
    const recal = await simulate(config, { prices, from, to, decisionHour: 10 });
    expect(recal.days.length).toBe(10);
    expect(recal.days.every((d) => d.priceSource === 'forecast')).toBe(true);
    // Hindsight is the best plan on the real prices; the forecast-based plan pays at least as much.
    expect(recal.totals.planEur).toBeGreaterThanOrEqual(recal.totals.hindsightEur - 1e-6);
    // The plan the gateway runs (re-planned on the published prices after the auction, ≤ 2 batch moves a day):
    // never worse than hindsight, never more moves than the limit on a day, and on published prices it is the plan.
    expect(recal.totals.liveEur).toBeGreaterThanOrEqual(recal.totals.hindsightEur - 1e-6);
    expect(recal.totals.liveEur).toBeLessThanOrEqual(recal.totals.planEur + 1e-6);
    expect(Math.max(...recal.days.map((d) => d.moves))).toBeLessThanOrEqual(config.planner.maxMovesPerDay);
    expect(formatSimulation(recal, from, to)).toMatch(/plan the gateway runs .*: saved -?\d+\.\d\d €, -?\d+\.\d % of the hindsight saving; \d+\.\d\d batch moves a day/);
    const published = await simulate(config, { prices, from, to, decisionHour: 14 });
    expect(published.totals.liveEur).toBe(published.totals.planEur);
    expect(published.totals.moves).toBe(0);
    expect(published.totals.planEur).toBeCloseTo(published.totals.hindsightEur, 1);
    const naive = await simulate(config, { prices, from, to, decisionHour: 10, forecaster: 'network', modelDir: undefined });
    // Without any model the plan falls back to yesterday's prices: a different plan from the recalibrated one.
    expect(naive.days.map((d) => d.planEur)).not.toEqual(recal.days.map((d) => d.planEur));
    expect(formatSimulation(recal, from, to)).toMatch(/share of the perfect-hindsight saving kept: -?\d+\.\d %/);
    // The report says how the plan was made.
    expect(formatSimulation(recal, from, to).split('\n')[1]).toBe('plan fixed at 10:00 the day before on the recalibrated forecaster; no weather');
    expect(formatSimulation(published, from, to).split('\n')[1]).toBe('plan fixed at 14:00 the day before on published prices; no weather');
  }, 300_000);
});

describe('the plan made at 10:00 the day before knows only the temperatures observed by then', () => {
  it('uses the same hour of the day before when it was observed before the decision, else two days before', async () => {
    const { loadWeather } = await import('../../models/eval/datasets.js');
    const { localTimeToUtc } = await import('../../gateway/time/tz.js');
    const temp = loadWeather(join(FIXTURES, 'models/kaggle_weather_seville_2018-07.csv.gz')).temp;
    const decidedAt = localTimeToUtc('2018-07-14', 10);
    const at = (date: string, hour: number) => localTimeToUtc(date, hour);
    // 09:00 on the 15th: 09:00 on the 14th was observed at 10:00 on the 14th.
    expect(persistenceTemperature(temp, at('2018-07-15', 9), decidedAt)).toBe(temp.get(at('2018-07-14', 9)));
    // 16:00 on the 15th: 16:00 on the 14th was still ahead, so 16:00 on the 13th.
    expect(persistenceTemperature(temp, at('2018-07-15', 16), decidedAt)).toBe(temp.get(at('2018-07-13', 16)));
    expect(temp.get(at('2018-07-14', 16))).not.toBe(temp.get(at('2018-07-13', 16)));
    expect(persistenceTemperature(new Map(), at('2018-07-15', 16), decidedAt)).toBeNull();
  });

  it('plans with observed temperatures only when asked (--weather-forecast observed, an upper bound)', async () => {
    const config = testConfig('http://127.0.0.1:9');
    const options = { prices: join(FIXTURES, 'models/kaggle_price_2018-07.csv.gz'), weather: join(FIXTURES, 'models/kaggle_weather_seville_2018-07.csv.gz'), from: '2018-07-10', to: '2018-07-20', decisionHour: 14 };
    const persistence = await simulate(config, options);
    const observed = await simulate(config, { ...options, weatherForecast: 'observed' });
    // With published prices and the observed temperatures the plan is the hindsight plan; persistence costs more in a Seville July.
    expect(observed.totals.planEur).toBeCloseTo(observed.totals.hindsightEur, 1);
    expect(persistence.totals.planEur).toBeGreaterThan(observed.totals.planEur);
  }, 120_000);

  it('replays the re-plans inside the day (--intraday on, the default) within the move limit, and charges a day that breaks a real ambient limit the fixed shift', async () => {
    const config = testConfig('http://127.0.0.1:9');
    const options = { prices: join(FIXTURES, 'models/kaggle_price_2018-07.csv.gz'), weather: join(FIXTURES, 'models/kaggle_weather_seville_2018-07.csv.gz'), from: '2018-07-10', to: '2018-07-20', decisionHour: 14, weatherForecast: 'noisy' as const, seed: 1 };
    const on = await simulate(config, options);
    const off = await simulate(config, { ...options, intraday: false });
    expect(on.intraday).toBe(true);
    expect(off.intraday).toBe(false);
    // The one-re-plan figure is the same with and without the replay; --intraday off reports it as the plan the gateway runs.
    expect(on.totals.replanEur).toBe(off.totals.liveEur);
    expect(off.days.every((d) => d.intraday === undefined && d.liveEur === d.replanEur)).toBe(true);
    // A Seville July: the replay re-plans, and no day passes the limit (the moves after the auction included).
    expect(on.days.reduce((a, d) => a + (d.intraday?.replans ?? 0), 0)).toBeGreaterThan(0);
    for (const d of on.days) expect(d.moves).toBeLessThanOrEqual(config.planner.maxMovesPerDay);
    // Charged the fixed shift, every figure alike: a schedule that breaks a real limit saves nothing that day.
    for (const d of on.days) {
      if (d.liveBroke) expect(d.liveEur).toBe(d.baselineEur);
      if (d.replanBroke) expect(d.replanEur).toBe(d.baselineEur);
      if (d.planBroke) expect(d.planEur).toBe(d.baselineEur);
      expect(d.liveEur).toBeGreaterThanOrEqual(d.hindsightEur - 1e-6);
    }
    const text = formatSimulation(on, options.from, options.to);
    expect(text).toMatch(/plan the gateway runs \(.*re-planned hour by hour.*\): saved -?\d+\.\d\d €, -?\d+\.\d % of the hindsight saving; \d+\.\d\d batch moves a day .*intraday \d+ re-plan\(s\)/);
    expect(text).toMatch(/plan the gateway runs without the intraday re-plans .*--intraday off/);
    expect(text).toMatch(/is charged the fixed shift, no saving, in every figure: plan fixed at the decision hour on \d+ day\(s\)/);
  }, 120_000);
});
