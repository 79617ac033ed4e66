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

/** Plays recorded weather as observations: at each run, the last day of hours up to now. It never forecasts. */
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
      },
      ctx,
    );
  },
};
