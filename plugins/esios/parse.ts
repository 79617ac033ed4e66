import { MalformedPayloadError } from '../../gateway/util/errors.js';
import { assertSameId, assertUnit } from '../../gateway/sources/payload-checks.js';
import type { DaySeries } from '../../gateway/sources/day-source.js';
import { parseInstant } from '../../gateway/time/tz.js';
import { assertPlausibleEurMwh, requireFiniteNumber, slotsFromInstants } from '../../gateway/sources/price-checks.js';

const SOURCE = 'esios';

const PVPC_GEOS: Record<number, string> = { 8741: 'pvpc', 8742: 'pvpc_canarias', 8743: 'pvpc_baleares', 8744: 'pvpc_ceuta', 8745: 'pvpc_melilla' };

/** Our series id for an indicator and geo, or undefined for geos we do not keep. */
export function esiosSeriesId(indicator: number, geoId: number, geoName: string): string | undefined {
  if (indicator === 1001) return PVPC_GEOS[geoId];
  if (indicator === 600) return geoId === 3 || /^espa/i.test(geoName) ? 'spot_es' : undefined;
  if (indicator === 1739) return 'injection';
  return `esios_${indicator}`;
}

/** Parses `/indicators/{id}`. Uses `datetime` (or `tz_time`), never `datetime_utc`, which is wrong on the repeated DST hour. */
export function parseEsiosIndicator(body: unknown, expectedIndicator?: number): DaySeries[] {
  const indicator = (body as { indicator?: Record<string, unknown> } | null)?.indicator;
  if (!indicator || typeof indicator !== 'object') throw new MalformedPayloadError(SOURCE, 'no "indicator" object');
  const id = Number(indicator.id);
  if (expectedIndicator !== undefined) assertSameId(SOURCE, 'indicator', expectedIndicator, indicator.id);
  const values = indicator.values;
  if (!Array.isArray(values)) throw new MalformedPayloadError(SOURCE, `indicator ${id}: no "values" array`);
  if (indicator.magnitud !== undefined) assertUnit(SOURCE, `indicator ${id}`, 'a price (magnitud Precio, €/MWh)', /Precio/i, JSON.stringify(indicator.magnitud));
  const groups = new Map<string, Array<{ start: number; value: number }>>();
  values.forEach((v: Record<string, unknown>, i: number) => {
    const series = esiosSeriesId(id, Number(v?.geo_id), String(v?.geo_name ?? ''));
    if (!series) return;
    let start: number;
    try {
      start = parseInstant(v?.datetime ?? v?.tz_time);
    } catch (error) {
      throw new MalformedPayloadError(SOURCE, `indicator ${id} value ${i}: ${(error as Error).message}`);
    }
    const value = requireFiniteNumber(SOURCE, `indicator ${id} value ${i}`, v?.value);
    groups.set(series, [...(groups.get(series) ?? []), { start, value }]);
  });
  return [...groups.entries()].map(([series, points]) => {
    const slots = slotsFromInstants(SOURCE, series, points);
    assertPlausibleEurMwh(SOURCE, series, slots);
    return { id: series, unit: 'EUR/MWh' as const, slots };
  });
}
