import { describe, expect, it } from 'vitest';
import type { DaySource } from '../../gateway/sources/day-source.js';
import { localDayRange } from '../../gateway/time/tz.js';
import type { WeatherSource } from '../../gateway/sources/weather-source.js';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { readReplayCsv, replayPlugin, type ReplaySource } from '../../plugins/replay/index.js';
import { readReplayWeather, replayWeatherPlugin } from '../../plugins/replay/weather.js';
import { pluginContext, silent, testConfig } from '../helpers/context.js';
import { subscriber } from '../helpers/gateway.js';

const SAMPLE = 'plugins/replay/sample/omie_es_2018-03.csv';

describe('replay source contract (shipped OMIE sample)', () => {
  it('publishes D+1 only after the publication time, keeps the 23-hour DST day, and stops at the end of the file', async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { replay: { enabled: true, file: SAMPLE } } });
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
  it('converts Kelvin to °C explicitly and plays hours up to now as observations and the next 48 as a forecast', async () => {
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
    // The recording is the simulated future: the next 48 recorded hours are offered as a (perfect, labelled) forecast.
    const fc = await ctx.store.read('fc.replay.temp', Date.parse('2018-03-27T00:00:00Z'), Date.parse('2018-03-30T00:00:00Z'));
    expect(fc).toHaveLength(48);
    expect(fc[0]!.start).toBe(Date.parse('2018-03-27T10:00:00Z')); // the current hour is covered too
    expect(fc[0]!.source).toBe('replay/kaggle-seville (recorded, perfect forecast)');
    await ctx.close();
  });
});

describe('replay of the shipped year (2018, gzipped)', () => {
  it('holds a whole year of hourly OMIE prices and Seville weather', () => {
    const config = testConfig('http://127.0.0.1:9');
    const prices = readReplayCsv(config.sources.replay.file, 'omie_es');
    expect(config.sources.replay.file).toMatch(/\.csv\.gz$/);
    expect(prices[0]!.start).toBe(Date.parse('2017-12-31T23:00:00Z'));
    expect(prices.at(-1)!.start).toBe(Date.parse('2018-12-31T22:00:00Z'));
    expect(prices).toHaveLength(8760);
    const weather = readReplayWeather(config.sources.replay.weatherFile);
    expect(weather).toHaveLength(8760);
    expect(new Set(weather.map((w) => w.start)).size).toBe(8760);
    expect(Math.max(...weather.map((w) => w.values.temp!))).toBeGreaterThan(35); // a Seville summer is in it
  });

  it('says on MQTT every simulated hour that it is a replay and which simulated date it is, and says when the recording ends', async () => {
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = testConfig('http://127.0.0.1:9', { sources: { replay: { enabled: true } } });
    const ctx = await pluginContext(config, '2018-12-31T20:30:00Z');
    const mqtt = new MqttConnection({ url, base: 'test', clientId: 'replay-test', reconnectMs: 200 }, ctx.clock, silent);
    ctx.mqtt = mqtt;
    await mqtt.start();
    const sub = await subscriber(url, 'test/replay');
    const ended: unknown[] = [];
    ctx.bus.on('replay.ended', 'test', (e) => ended.push(e));
    const source = replayPlugin.create(ctx) as ReplaySource;
    try {
      await source.start();
      const first = await sub.waitFor('test/replay');
      expect(first).toMatchObject({ v: 1, replay: true, state: 'playing', simulated_date: '2018-12-31', simulated_local: '2018-12-31T21:30:00+01:00', speed: null, data_from: '2017-12-31T23:00:00Z', data_to: '2018-12-31T23:00:00Z' });
      await ctx.clock.advanceTo(Date.parse('2018-12-31T21:00:00Z'));
      expect((await sub.waitFor('test/replay', (p) => p.simulated_time === '2018-12-31T21:00:00Z')).state).toBe('playing');
      expect(ended).toEqual([]);
      await ctx.clock.advanceTo(Date.parse('2018-12-31T23:00:00Z'));
      expect(await sub.waitFor('test/replay', (p) => p.state === 'ended')).toMatchObject({ simulated_time: '2018-12-31T23:00:00Z', simulated_date: '2019-01-01' });
      expect(ended).toEqual([{ at: Date.parse('2018-12-31T23:00:00Z'), dataEnd: Date.parse('2018-12-31T23:00:00Z') }]);
      expect(source.status().state).toBe('ended');
    } finally {
      await source.stop();
      await sub.client.endAsync();
      await mqtt.stop();
      await ctx.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      server.close();
    }
  });
});
