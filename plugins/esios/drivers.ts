import { DaySource, type DayResult, type DaySeries } from '../../gateway/sources/day-source.js';
import { MalformedPayloadError } from '../../gateway/util/errors.js';
import { PLUGIN_API_VERSION, enabledWithSecret, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { assertGeos, assertResolution, assertSameId, assertUnit } from '../../gateway/sources/payload-checks.js';
import { HOUR_MS, parseInstant } from '../../gateway/time/tz.js';
import { parseJson, requireFiniteNumber, slotsFromInstants } from '../../gateway/sources/price-checks.js';
import { esiosRequests } from './client.js';

/** REE's D+1 forecasts that are not rewritten after the auction: demand 1775, wind 1777, PV 1779 (MW, Península). */
export const DRIVER_INDICATORS: Record<number, string> = { 1775: 'drivers.demand_d1', 1777: 'drivers.wind_d1', 1779: 'drivers.solar_d1' };

const LIMITS_MW = { min: 0, max: 60_000 };
/** Península: the only region asked for. */
const DRIVER_GEO = 8741;

/** One driver indicator as asked for: Península (geo 8741), hourly averages (asked with time_trunc=hour, time_agg=average), MW. */
export function parseDriverIndicator(body: unknown, indicator: number): DaySeries {
  const ind = (body as { indicator?: { id?: unknown; values?: unknown; magnitud?: unknown } } | null)?.indicator;
  if (!ind) throw new MalformedPayloadError('esios', `indicator ${indicator}: no "indicator" object`);
  assertSameId('esios', 'indicator', indicator, ind.id);
  if (!Array.isArray(ind.values)) throw new MalformedPayloadError('esios', `indicator ${indicator}: no "values" array`);
  if (ind.magnitud !== undefined) assertUnit('esios', `indicator ${indicator}`, 'a power (magnitud Potencia, MW)', /Potencia/i, JSON.stringify(ind.magnitud));
  const values = ind.values as Array<Record<string, unknown>>;
  assertGeos('esios', `indicator ${indicator}`, [DRIVER_GEO], values);
  const points = values.map((v, i) => {
    let start: number;
    try {
      start = parseInstant(v.datetime ?? v.tz_time);
    } catch (error) {
      throw new MalformedPayloadError('esios', `indicator ${indicator} value ${i}: ${(error as Error).message}`);
    }
    const value = requireFiniteNumber('esios', `indicator ${indicator} value ${i}`, v.value);
    if (value < LIMITS_MW.min || value > LIMITS_MW.max) throw new MalformedPayloadError('esios', `indicator ${indicator}: ${value} MW is outside ${LIMITS_MW.min}..${LIMITS_MW.max}; wrong unit or a sum over quarter-hours?`);
    return { start, value };
  });
  const slots = points.length ? slotsFromInstants('esios', DRIVER_INDICATORS[indicator]!, points) : [];
  assertResolution('esios', `indicator ${indicator}`, HOUR_MS, slots);
  return { id: DRIVER_INDICATORS[indicator]!, unit: 'MW', slots };
}

/**
 * The D+1 drivers for the price model, fetched from the morning of D (they are published before the auction);
 * the price forecaster reads `drivers.*` from the store when they are there and does without them otherwise.
 */
export const esiosDriversPlugin: PluginFactory = {
  name: 'esios-drivers',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => enabledWithSecret(config.sources.esios.enabled && config.sources.esios.drivers, config.sources.esios.token, 'no token: set CHOCO_EDGE_SOURCES_ESIOS_TOKEN or sources.esios.token'),
  create(ctx) {
    const cfg = ctx.config.sources.esios;
    const { headers, indicatorUrl } = esiosRequests(cfg);
    /** Each driver is fetched and judged on its own, like the price indicators. */
    const fetchDay = async (date: string): Promise<DayResult> => {
      const series: DaySeries[] = [];
      const failures: Array<{ what: string; error: unknown }> = [];
      const indicators = Object.keys(DRIVER_INDICATORS).map(Number);
      for (const indicator of indicators) {
        // Without time_agg=average, hourly truncation sums the quarter-hours (×4).
        const url = indicatorUrl(indicator, date, [
          ['time_trunc', 'hour'],
          ['time_agg', 'average'],
          ['geo_ids[]', String(DRIVER_GEO)],
        ]);
        try {
          series.push(parseDriverIndicator(parseJson('esios', (await ctx.fetcher.get({ url, headers })).body), indicator));
        } catch (error) {
          failures.push({ what: `indicator ${indicator}`, error });
        }
      }
      if (failures.length === indicators.length) throw failures[0]!.error;
      if (!failures.length && series.some((s) => !s.slots.length)) return { kind: 'not-published', detail: 'a driver has no values yet' };
      return { kind: 'data', series, failures };
    };
    return new DaySource(
      {
        name: 'esios-drivers',
        timezone: ctx.config.site.timezone,
        primarySeries: ['drivers.demand_d1'],
        describe: Object.values(DRIVER_INDICATORS).map((id) => ({ id, unit: 'MW', description: `REE D-1 forecast (${id})`, critical: false })),
        publishAfter: cfg.driversPublishAfter,
        staleAfterMs: cfg.staleAfterMinutes * 60_000,
        backfillDays: 2,
        backfillIntervalMs: cfg.backfillIntervalMs,
        fetchDay,
      },
      ctx,
    );
  },
};
