import { readSecret } from '../../gateway/config/load.js';
import { GatewayError, errorMessage } from '../../gateway/util/errors.js';
import { assertSameId } from '../../gateway/sources/payload-checks.js';
import { PLUGIN_API_VERSION, enabledWithSecret, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { WeatherSource, type WeatherFetch } from '../../gateway/sources/weather-source.js';
import { decodeAemetBody, parseAemetEnvelope, parseAemetHourlyForecast, parseAemetJson, parseAemetObservations } from './parse.js';

/** AEMET answers 429 without Retry-After and asks to wait for the next minute. */
const untilNextMinute = (now: number): number => 60_000 - (now % 60_000) + 1_000;

/** The two-step AEMET OpenData flow: envelope with `estado`, then the short-lived `datos` URL, fetched at once. */
export function aemetClient(ctx: PluginContext, apiKey: string) {
  const cfg = ctx.config.sources.aemet;
  const get = async (endpoint: string): Promise<unknown> => {
    const envelopeUrl = `${cfg.baseUrl.replace(/\/$/, '')}/${endpoint}`;
    for (let attempt = 1; ; attempt++) {
      const first = await ctx.fetcher.get({ url: envelopeUrl, headers: { api_key: apiKey, Accept: 'application/json' }, rateLimitWaitMs: untilNextMinute });
      const datos = parseAemetEnvelope(parseAemetJson(decodeAemetBody(first.body, first.contentType || 'charset=utf-8')));
      try {
        const second = await ctx.fetcher.get({ url: datos, rateLimitWaitMs: untilNextMinute });
        return parseAemetJson(decodeAemetBody(second.body, second.contentType));
      } catch (error) {
        // A `datos` URL lives for minutes; an expired one answers 404. Ask for a fresh one once.
        if (attempt === 1 && error instanceof GatewayError && error.code === 'client_error' && /HTTP 404/.test(error.message)) continue;
        throw error;
      }
    }
  };
  return { get };
}

export const aemetPlugin: PluginFactory = {
  name: 'aemet',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => enabledWithSecret(config.sources.aemet.enabled, config.sources.aemet.apiKey, 'no API key: set CHOCO_EDGE_SOURCES_AEMET_API_KEY (or _FILE)'),
  create(ctx) {
    const cfg = ctx.config.sources.aemet;
    const client = aemetClient(ctx, readSecret(cfg.apiKey, 'sources.aemet.apiKey') ?? '');
    const observations = async (): Promise<WeatherFetch> => {
      const errors: string[] = [];
      const failures: unknown[] = [];
      for (const station of cfg.stations) {
        try {
          const { station: got, points } = parseAemetObservations(await client.get(`observacion/convencional/datos/estacion/${station}`));
          assertSameId('aemet', 'station', station, got);
          const latest = points.at(-1);
          if (!latest || latest.values.temp === undefined) throw new Error(`station ${station}: no temperature in its latest observation`);
          if (ctx.clock.now() - latest.start > ctx.config.weather.maxObservationAgeMinutes * 60_000) {
            throw new Error(`station ${station}: latest observation ${new Date(latest.start).toISOString()} is too old`);
          }
          return { source: `aemet/${station}`, points };
        } catch (error) {
          if (error instanceof GatewayError && error.code === 'auth_failed') throw error;
          if (error instanceof GatewayError && error.code === 'payload_mismatch' && cfg.stations.length === 1) throw error;
          errors.push(errorMessage(error));
          failures.push(error);
        }
      }
      // The stations' own reason, not a blanket "server error": all rate limited (AEMET's 429) is rate limited.
      const codes = [...new Set(failures.map((e) => (e instanceof GatewayError ? e.code : 'server_error')))];
      const code = codes.length === 1 ? codes[0]! : codes.includes('rate_limited') ? 'rate_limited' : 'server_error';
      const transient = failures.some((e) => !(e instanceof GatewayError) || e.transient);
      throw new GatewayError(code, `aemet: no station answered usefully: ${errors.join('; ')}`, transient);
    };
    const forecast = async (): Promise<WeatherFetch> => {
      const body = await client.get(`prediccion/especifica/municipio/horaria/${cfg.municipality}`);
      assertSameId('aemet', 'municipality', cfg.municipality, Array.isArray(body) ? (body[0] as { id?: unknown } | undefined)?.id : undefined);
      const { points } = parseAemetHourlyForecast(body, ctx.config.site.timezone);
      return { source: `aemet/${cfg.municipality}`, points: points.filter((p) => p.end > ctx.clock.now()) };
    };
    const keyCheck = async (): Promise<string> => {
      await client.get(`observacion/convencional/datos/estacion/${cfg.stations[0]}`);
      return 'aemet: API key accepted';
    };
    return new WeatherSource({ name: 'aemet', staleAfterMs: cfg.staleAfterMinutes * 60_000, observations, forecast, keyCheck }, ctx);
  },
};
