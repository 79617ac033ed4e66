import { readSecret } from '../../gateway/config/load.js';
import { GatewayError } from '../../gateway/util/errors.js';
import { assertNear } from '../../gateway/sources/payload-checks.js';
import { PLUGIN_API_VERSION, enabledWithSecret, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { WeatherSource } from '../../gateway/sources/weather-source.js';
import { parseJson } from '../../gateway/sources/price-checks.js';
import { checkOwmCod, parseOwmCurrent, parseOwmForecast } from './parse.js';

export const openWeatherMapPlugin: PluginFactory = {
  name: 'openweathermap',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => enabledWithSecret(config.sources.openweathermap.enabled, config.sources.openweathermap.apiKey, 'no API key: set CHOCO_EDGE_SOURCES_OPENWEATHERMAP_API_KEY (or _FILE)'),
  create(ctx) {
    const cfg = ctx.config.sources.openweathermap;
    const key = readSecret(cfg.apiKey, 'sources.openweathermap.apiKey') ?? '';
    const get = async (path: string): Promise<unknown> => {
      const url = new URL(`${cfg.baseUrl.replace(/\/$/, '')}${path}`);
      url.searchParams.set('lat', String(cfg.lat));
      url.searchParams.set('lon', String(cfg.lon));
      url.searchParams.set('units', 'metric');
      url.searchParams.set('appid', key);
      try {
        return parseJson('openweathermap', (await ctx.fetcher.get({ url: url.toString(), secretParams: ['appid'] })).body);
      } catch (error) {
        // OWM puts the reason in a JSON body with the same status; surface it without the key.
        if (error instanceof GatewayError && error.code === 'auth_failed') throw new GatewayError('auth_failed', 'openweathermap: invalid API key (401, permanent until the key is fixed)', false);
        throw error;
      }
    };
    const source = `openweathermap/${cfg.lat},${cfg.lon}`;
    return new WeatherSource(
      {
        name: 'openweathermap',
        staleAfterMs: cfg.staleAfterMinutes * 60_000,
        observations: async () => {
          const body = await get('/data/2.5/weather');
          const points = parseOwmCurrent(body);
          assertNear('openweathermap', cfg, (body as { coord?: { lat?: unknown; lon?: unknown } }).coord);
          return { source, points };
        },
        forecast: async () => {
          const body = await get('/data/2.5/forecast');
          const points = parseOwmForecast(body);
          assertNear('openweathermap', cfg, (body as { city?: { coord?: { lat?: unknown; lon?: unknown } } }).city?.coord);
          return { source, points };
        },
        keyCheck: async () => {
          checkOwmCod(await get('/data/2.5/weather'));
          return 'openweathermap: API key accepted';
        },
      },
      ctx,
    );
  },
};
