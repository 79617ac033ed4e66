import { DaySource, timingFrom, type DayResult } from '../../gateway/sources/day-source.js';
import { GatewayError } from '../../gateway/util/errors.js';
import { PLUGIN_API_VERSION, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { parseOmieMarginal } from './parse.js';

/** OMIE day-ahead marginal price files (no token): the index an industrial contract follows. */
export const omiePlugin: PluginFactory = {
  name: 'omie',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.sources.omie.enabled,
  create(ctx) {
    const cfg = ctx.config.sources.omie;
    const fetchDay = async (date: string): Promise<DayResult> => {
      const path = cfg.pathTemplate.replace('{yyyymmdd}', date.replaceAll('-', ''));
      let body: Buffer;
      try {
        body = (await ctx.fetcher.get({ url: `${cfg.baseUrl.replace(/\/$/, '')}${path}` })).body;
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'client_error' && /HTTP 404/.test(error.message)) {
          return { kind: 'not-published', detail: 'HTTP 404: file not there yet' };
        }
        throw error;
      }
      const text = body.toString('latin1');
      if (text.trim() === '') return { kind: 'not-published', detail: 'empty file' };
      return { kind: 'data', series: parseOmieMarginal(text, date, ctx.config.site.timezone) };
    };
    return new DaySource(
      {
        name: 'omie',
        timezone: ctx.config.site.timezone,
        primarySeries: ['omie_es'],
        describe: [
          { id: 'omie_es', unit: 'EUR/MWh', description: 'OMIE day-ahead marginal price, Spain', critical: true },
          { id: 'omie_pt', unit: 'EUR/MWh', description: 'OMIE day-ahead marginal price, Portugal', critical: false },
        ],
        ...timingFrom(cfg),
        fetchDay,
      },
      ctx,
    );
  },
};
