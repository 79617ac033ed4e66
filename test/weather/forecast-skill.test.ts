import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWeather } from '../../models/eval/datasets.js';
import { noisyTemperatures } from '../../models/eval/simulate-live.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { dayAheadSlots, forecastSkill, ISSUED_TEMP_SERIES } from '../../gateway/weather/forecast-skill.js';
import { WeatherView } from '../../gateway/weather/view.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const METEOSTAT = new URL('../../../shared/data/meteostat_madrid_barajas_hourly.csv.gz', import.meta.url).pathname;

/**
 * Day-ahead forecasts of real Madrid observations (shared/data, Meteostat) made the way `simulate --weather-forecast
 * noisy` makes them (a day's AR(1) error, ρ 0.8, spread `spreadC`, bias `biasC`): the errors are known, the skill
 * measured from them must find them.
 */
function issuedDays(firstDay: string, days: number, biasC: number, spreadC: number, seed = 1) {
  const { temp } = loadWeather(METEOSTAT);
  const issued: Array<{ start: number; end: number; value: number }> = [];
  const observed: Array<{ start: number; end: number; value: number }> = [];
  for (let d = 0; d < days; d++) {
    const date = new Date(Date.parse(`${firstDay}T12:00:00Z`) + d * 86_400_000).toISOString().slice(0, 10);
    const { start, end } = localDayRange(date, 'Europe/Madrid');
    const starts = Array.from({ length: (end - start) / H }, (_, i) => start + i * H);
    const obs = starts.map((t) => temp.get(t) ?? null);
    const fc = noisyTemperatures(obs, date, seed, biasC, spreadC);
    starts.forEach((t, i) => {
      if (obs[i] !== null && obs[i] !== undefined) observed.push({ start: t, end: t + H, value: obs[i]! });
      if (fc[i] !== null && fc[i] !== undefined) issued.push({ start: t, end: t + H, value: fc[i]! });
    });
  }
  return { issued, observed };
}

describe("the temperature forecast's skill measured on the box (forecast kept as issued a day ahead)", () => {
  it('finds the spread and the hourly autocorrelation of a known day-ahead error over 28 days of real Madrid weather', () => {
    const { issued, observed } = issuedDays('2024-06-01', 28, -0.1, 1.2);
    const skill = forecastSkill(issued, observed)!;
    expect(skill.hours).toBeGreaterThanOrEqual(28 * 24 - 24); // a few hours may be missing in the archive
    // σ 1.2 °C with bias −0.1 °C: RMS √(1.2² + 0.1²) ≈ 1.2; 672 correlated hours leave about ±0.15 °C of sampling error.
    expect(skill.rmseC).toBeGreaterThan(0.9);
    expect(skill.rmseC).toBeLessThan(1.5);
    expect(Math.abs(skill.biasC)).toBeLessThan(0.5);
    // ρ 0.8 within a day, independent across days (27 of 671 pairs): a little under 0.8.
    expect(skill.rho!).toBeGreaterThan(0.65);
    expect(skill.rho!).toBeLessThan(0.9);
  });

  it('keeps a bias in σ: a forecast 1.5 °C cold with a 0.4 °C spread is as unsure of a limit as its RMS error, not its spread', () => {
    const { issued, observed } = issuedDays('2024-07-01', 20, -1.5, 0.4, 2);
    const skill = forecastSkill(issued, observed)!;
    expect(skill.biasC).toBeLessThan(-1.2);
    expect(skill.rmseC).toBeGreaterThan(1.3);
    // Hours with only one side are not compared; none in common: no skill at all.
    expect(forecastSkill(issued.slice(0, 10), observed.slice(100, 200))).toBeNull();
    expect(forecastSkill(issued, observed.slice(0, 48))!.hours).toBe(issued.filter((s) => observed.slice(0, 48).some((o) => o.start === s.start)).length);
  });

  it('the combined weather keeps the temperature forecast as issued 20-28 h ahead; a later refresh rewrites only the hours then in that window', async () => {
    const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-skill-')));
    const now = Date.parse('2025-07-15T04:00:00Z');
    const hours = (from: number, n: number, value: (t: number) => number) => Array.from({ length: n }, (_, i) => ({ start: from + i * H, end: from + (i + 1) * H, value: value(from + i * H) }));
    const view = new WeatherView(store, { priority: ['aemet'], maxObservationAgeMs: 2 * H, maxForecastAgeMs: 12 * H, freshnessToleranceMs: 10 * 60_000 }, () => ['aemet']);
    await store.write('fc.aemet.temp', 'degC', hours(now, 48, () => 30), { source: 'aemet', fetchedAt: now });
    await view.materialize(now);
    const first = await store.read(ISSUED_TEMP_SERIES, now, now + 48 * H);
    expect(first.map((s) => (s.start - now) / H)).toEqual([20, 21, 22, 23, 24, 25, 26, 27]);
    expect(first.every((s) => s.value === 30)).toBe(true);
    // Four hours later a new forecast says 32 °C: hours 24-31 h after the first refresh are now 20-27 h ahead.
    await store.write('fc.aemet.temp', 'degC', hours(now + 4 * H, 48, () => 32), { source: 'aemet', fetchedAt: now + 4 * H });
    await view.materialize(now + 4 * H);
    const after = await store.read(ISSUED_TEMP_SERIES, now, now + 48 * H);
    expect(after.map((s) => [(s.start - now) / H, s.value])).toEqual([
      [20, 30], [21, 30], [22, 30], [23, 30], [24, 32], [25, 32], [26, 32], [27, 32], [28, 32], [29, 32], [30, 32], [31, 32],
    ]);
    expect(dayAheadSlots(hours(now, 48, () => 1), now).length).toBe(8);
    await store.close();
  });

  it('the live planner uses the measured σ once 14 days are stored, the configured one before, and its plan says which', async () => {
    const plan = async (days: number) => {
      const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 24, ambientRisk: { z: 0.84, sigmaC: 1.2, stakeEur: 0 } } }), '2024-07-01T04:00:00Z');
      const now = Date.parse('2024-07-01T04:00:00Z');
      const { issued, observed } = issuedDays(new Date(now - days * 86_400_000).toISOString().slice(0, 10), days, -0.3, 2.0, 3);
      const past = (s: { start: number }) => s.start < now;
      await ctx.store.write(ISSUED_TEMP_SERIES, 'degC', issued.filter(past), { source: 'test', fetchedAt: now });
      await ctx.store.write('obs.combined.temp', 'degC', observed.filter(past), { source: 'test', fetchedAt: now });
      const ahead = (from: number, n: number, value: number) => Array.from({ length: n }, (_, i) => ({ start: from + i * H, end: from + (i + 1) * H, value }));
      await ctx.store.write('omie_es', 'EUR/MWh', ahead(now, 24, 60).map((s, i) => ({ ...s, value: 40 + (i % 7) })), { source: 'test', fetchedAt: now });
      await ctx.store.write('fc.combined.temp', 'degC', ahead(now - 6 * H, 30, 28), { source: 'test', fetchedAt: now });
      const planner = createPlanner(ctx);
      await planner.start();
      await planner.jobs!.planning!();
      const doc = planner.current()!;
      await ctx.close();
      return { doc, skill: forecastSkill(issued.filter(past), observed.filter(past)) };
    };
    const young = await plan(10);
    expect(young.doc.ambient_margin!.sigma_c).toBe(1.2);
    expect(young.doc.ambient_margin!.sigma_from).toMatch(/^configured: \d+ h of day-ahead forecasts measured against observations, 336 needed$/);
    const grown = await plan(20);
    // A spread of 2 °C: the measured RMS error replaces the configured 1.2 °C, and the margin grows with it.
    expect(grown.skill!.rmseC).toBeGreaterThan(1.6);
    expect(grown.doc.ambient_margin!.sigma_c).toBe(grown.skill!.rmseC);
    expect(grown.doc.ambient_margin!.sigma_from).toMatch(new RegExp(`^measured: RMS error of the day-ahead forecast over ${grown.skill!.hours} h since 2024-06-1\\d, bias -?\\d`));
    expect(grown.doc.ambient_margin!.summary).toContain('measured: RMS error');
    expect(Math.max(...grown.doc.ambient_margin!.margin_c)).toBeGreaterThan(Math.max(...young.doc.ambient_margin!.margin_c));
  }, 60_000);
});
