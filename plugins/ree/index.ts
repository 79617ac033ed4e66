import { DaySource, timingFrom, type DayResult } from '../../gateway/sources/day-source.js';
import { GatewayError } from '../../gateway/util/errors.js';
import { PLUGIN_API_VERSION, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { parseJson } from '../../gateway/sources/price-checks.js';
import { parseReeApidatosDay } from './parse.js';

/** REE REData (apidatos, no token): PVPC 2.0TD (series 1001) and the spot price (600), one local day per request. */
export const reePlugin: PluginFactory = {
  name: 'ree',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.sources.ree.enabled,
  create(ctx) {
    const cfg = ctx.config.sources.ree;
    const fetchDay = async (date: string): Promise<DayResult> => {
      const url = new URL(`${cfg.baseUrl.replace(/\/$/, '')}/${cfg.lang}/datos/mercados/precios-mercados-tiempo-real`);
      url.searchParams.set('start_date', `${date}T00:00`);
      url.searchParams.set('end_date', `${date}T23:59`);
      url.searchParams.set('time_trunc', 'hour');
      let body: Buffer;
      try {
        body = (await ctx.fetcher.get({ url: url.toString(), headers: { Accept: 'application/json' } })).body;
      } catch (error) {
        // apidatos answers 400 "datos no disponibles" both for a day not yet published and for bad parameters.
        if (error instanceof GatewayError && error.code === 'client_error' && /HTTP 400/.test(error.message)) {
          return { kind: 'not-published', detail: 'HTTP 400: data not available' };
        }
        throw error;
      }
      // Each series is judged on its own: one series' surprise (a new resolution, a stated unit) never throws away the other's values.
      const { series, failures } = parseReeApidatosDay(parseJson('ree', body), date);
      if (!failures.length && series.every((s) => s.slots.length === 0)) return { kind: 'not-published', detail: 'empty values' };
      if (!series.length && failures.length) throw failures[0]!.error;
      return { kind: 'data', series, failures };
    };
    return new DaySource(
      {
        name: 'ree',
        timezone: ctx.config.site.timezone,
        primarySeries: ['pvpc'],
        describe: [
          { id: 'pvpc', unit: 'EUR/MWh', description: 'PVPC 2.0TD energy term, Península', critical: true },
          { id: 'spot_es', unit: 'EUR/MWh', description: 'Day-ahead spot price, Spain (REE 600)', critical: false },
        ],
        ...timingFrom(cfg),
        fetchDay,
      },
      ctx,
    );
  },
};
