import { DaySource, timingFrom, type DayResult, type DaySeries } from '../../gateway/sources/day-source.js';
import { GatewayError } from '../../gateway/util/errors.js';
import { PLUGIN_API_VERSION, enabledWithSecret, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { assertInsideDay } from '../../gateway/sources/payload-checks.js';
import { localDate } from '../../gateway/time/tz.js';
import { parseJson } from '../../gateway/sources/price-checks.js';
import { esiosRequests } from './client.js';
import { parseEsiosIndicator } from './parse.js';

/** REE e·sios with a personal token (`x-api-key`): PVPC per region (1001), spot (600), injection price (1739). */
export const esiosPlugin: PluginFactory = {
  name: 'esios',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => enabledWithSecret(config.sources.esios.enabled, config.sources.esios.token, 'no token: set CHOCO_EDGE_SOURCES_ESIOS_TOKEN or sources.esios.token'),
  create(ctx) {
    const cfg = ctx.config.sources.esios;
    const { headers, indicatorUrl } = esiosRequests(cfg);
    /** Each indicator is fetched and judged on its own: one that fails does not keep the others from being stored. */
    const fetchDay = async (date: string): Promise<DayResult> => {
      const series: DaySeries[] = [];
      const failures: Array<{ what: string; error: unknown }> = [];
      for (const indicator of cfg.indicators) {
        try {
          const { body } = await ctx.fetcher.get({ url: indicatorUrl(indicator, date), headers });
          const got = parseEsiosIndicator(parseJson('esios', body), indicator);
          for (const s of got) assertInsideDay('esios', `indicator ${indicator} ${s.id}`, date, ctx.config.site.timezone, s.slots);
          series.push(...got);
        } catch (error) {
          if (error instanceof GatewayError && error.code === 'auth_failed') throw error;
          failures.push({ what: `indicator ${indicator}`, error });
        }
      }
      if (failures.length === cfg.indicators.length) throw failures[0]!.error;
      if (!failures.length && series.every((s) => s.slots.length === 0)) return { kind: 'not-published', detail: 'empty values' };
      return { kind: 'data', series, failures };
    };
    const tokenCheck = async (): Promise<string> => {
      const today = localDate(ctx.clock.now(), ctx.config.site.timezone);
      try {
        await ctx.fetcher.get({ url: indicatorUrl(cfg.indicators[0] ?? 1001, today), headers });
        return 'esios: token accepted';
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'auth_failed') {
          ctx.bus.emit('source.status', { source: 'esios', state: 'failed', message: 'token refused by ESIOS (401/403)' });
          throw new GatewayError('auth_failed', 'esios: token refused (401/403); request a new one from consultasios@ree.es', false);
        }
        throw error;
      }
    };
    return new DaySource(
      {
        name: 'esios',
        timezone: ctx.config.site.timezone,
        primarySeries: cfg.indicators.includes(1001) ? ['pvpc'] : [],
        describe: [
          { id: 'pvpc', unit: 'EUR/MWh', description: 'PVPC 2.0TD energy term, Península', critical: true },
          { id: 'spot_es', unit: 'EUR/MWh', description: 'Day-ahead spot price, Spain (ESIOS 600)', critical: false },
          { id: 'injection', unit: 'EUR/MWh', description: 'Surplus injection price (ESIOS 1739)', critical: false },
        ].filter((d) => (d.id === 'pvpc' ? cfg.indicators.includes(1001) : d.id === 'spot_es' ? cfg.indicators.includes(600) : cfg.indicators.includes(1739))),
        ...timingFrom(cfg),
        fetchDay,
        tokenCheck,
      },
      ctx,
    );
  },
};
