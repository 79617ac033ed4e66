import { MalformedPayloadError } from '../../gateway/util/errors.js';
import { PLUGIN_API_VERSION, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { DAY_MS, HOUR_MS, parseInstant } from '../../gateway/time/tz.js';
import type { WeatherPoint } from '../../gateway/weather/view.js';
import { WeatherSource } from '../../gateway/sources/weather-source.js';
import { readReplayText } from './index.js';

const KELVIN = 273.15;

/** Reads (plain or `.csv.gz`) the Kaggle `weather_features` columns (dt_iso, temp in Kelvin, humidity, pressure, wind_speed, rain_1h) into °C-based points. */
export function readReplayWeather(path: string): WeatherPoint[] {
  const [header, ...lines] = readReplayText(path).split(/\r?\n/).filter((l) => l.trim() !== '');
  const cols = header!.split(',');
  const col = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new MalformedPayloadError('replay', `${path}: no column ${name}`);
    return i;
  };
  const [t, temp, rh, pressure, wind, rain] = ['dt_iso', 'temp', 'humidity', 'pressure', 'wind_speed', 'rain_1h'].map(col) as number[];
  return lines.map((line, n) => {
    const f = line.split(',');
    const start = parseInstant(f[t!]!.replace(' ', 'T'));
    const number = (i: number, what: string) => {
      const x = Number(f[i]);
      if (!Number.isFinite(x)) throw new MalformedPayloadError('replay', `${path} line ${n + 2}: ${what} ${JSON.stringify(f[i])}`);
      return x;
    };
    return {
      start,
      end: start + HOUR_MS,
      values: {
        temp: Math.round((number(temp!, 'temp') - KELVIN) * 100) / 100,
        rh: number(rh!, 'humidity'),
        pressure: number(pressure!, 'pressure'),
        wind: number(wind!, 'wind_speed'),
        precip: number(rain!, 'rain_1h'),
      },
    };
  });
}

/** Hours of recording the replay offers as its forecast. */
export const REPLAY_FORECAST_HOURS = 48;

/**
 * Plays recorded weather: at each run, the last day of hours up to now as observations, and the
 * REPLAY_FORECAST_HOURS recorded hours from the current one as a forecast. The recording is the simulated future, so that forecast is
 * perfect: it is labelled `replay/kaggle-seville (recorded, perfect forecast)` and only exists in the demo.
 */
export const replayWeatherPlugin: PluginFactory = {
  name: 'replay-weather',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.sources.replay.enabled && config.sources.replay.weatherFile !== '',
  create(ctx) {
    const file = ctx.config.sources.replay.weatherFile;
    const points = readReplayWeather(file);
    return new WeatherSource(
      {
        name: 'replay',
        staleAfterMs: 3 * HOUR_MS,
        observations: async () => {
          const now = ctx.clock.now();
          return { source: 'replay/kaggle-seville', points: points.filter((p) => p.start <= now && p.start >= now - DAY_MS) };
        },
        forecast: async () => {
          const now = ctx.clock.now();
          const until = now - (now % HOUR_MS) + REPLAY_FORECAST_HOURS * HOUR_MS;
          return { source: 'replay/kaggle-seville (recorded, perfect forecast)', points: points.filter((p) => p.end > now && p.start < until) };
        },
      },
      ctx,
    );
  },
};
