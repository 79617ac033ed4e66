import { describe, expect, it } from 'vitest';
import type { DaySource } from '../../gateway/day-source.js';
import { localDayRange } from '../../gateway/tz.js';
import type { WeatherSource } from '../../gateway/weather-source.js';
import { replayPlugin } from '../../plugins/replay/index.js';
import { readReplayWeather, replayWeatherPlugin } from '../../plugins/replay/weather.js';
import { pluginContext, testConfig } from '../helpers/context.js';

describe('replay source contract (shipped OMIE sample)', () => {
  it('publishes D+1 only after the publication time, keeps the 23-hour DST day, and stops at the end of the file', async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { replay: { enabled: true } } });
    const ctx = await pluginContext(config, '2018-03-24T11:00:00Z'); // 12:00 Madrid, before the 13:00 auction result
    const source = replayPlugin.create(ctx) as DaySource;
    await source.start();
    expect(source.wantedDays()).toEqual(['2018-03-24']);
    await source.poll();
    await ctx.clock.advanceTo(Date.parse('2018-03-24T12:05:00Z'));
    expect(source.wantedDays()).toEqual(['2018-03-24', '2018-03-25']);
    await source.poll();
    const spring = localDayRange('2018-03-25');
    expect(await ctx.store.count('omie_es', spring.start, spring.end)).toBe(23);
    await source.backfill(7);
    const week = await ctx.store.read('omie_es', localDayRange('2018-03-20').start, spring.end);
    expect(week).toHaveLength(5 * 24 + 23); // 03-20 (first recorded day) … 03-24 backfilled and polled, plus the 23-hour 03-25
    expect(await source.ingestDay('2018-05-01')).toMatch(/not published yet \(no recorded values/);
    await ctx.close();
  });
});

describe('replay weather (shipped Kaggle sample, Seville 2018)', () => {
  it('converts Kelvin to °C explicitly and plays only hours up to now as observations', async () => {
    const points = readReplayWeather(new URL('../../plugins/replay/sample/weather_seville_2018-03.csv', import.meta.url).pathname);
    expect(points[0]).toMatchObject({ start: Date.parse('2018-03-18T23:00:00Z'), values: { temp: 11, rh: 76, pressure: 1016, wind: 3, precip: 0 } });
    const starts = points.map((p) => p.start);
    expect(new Set(starts).size).toBe(starts.length);
    const config = testConfig('http://127.0.0.1:9', { sources: { replay: { enabled: true } } });
    const ctx = await pluginContext(config, '2018-03-27T10:30:00Z');
    const source = replayWeatherPlugin.create(ctx) as WeatherSource;
    await source.ingest();
    const latest = await ctx.store.latest('obs.replay.temp');
    expect(latest!.start).toBe(Date.parse('2018-03-27T10:00:00Z'));
    expect(latest!.source).toBe('replay/kaggle-seville');
    expect(await ctx.store.count('fc.replay.temp')).toBe(0);
    await ctx.close();
  });
});
