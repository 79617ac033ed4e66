import { MalformedPayloadError } from '../../gateway/util/errors.js';
import type { DaySeries } from '../../gateway/sources/day-source.js';
import { assertResolution, assertUnit } from '../../gateway/sources/payload-checks.js';
import { HOUR_MS, parseInstant } from '../../gateway/time/tz.js';
import { assertPlausibleEurMwh, requireFiniteNumber, slotsFromInstants } from '../../gateway/sources/price-checks.js';

const SOURCE = 'ree';

/** REE series ids (never titles, which change with language and over time) → our series. */
export const REE_SERIES: Record<string, string> = { '1001': 'pvpc', '600': 'spot_es' };

/** Parses `mercados/precios-mercados-tiempo-real`; the payload is accepted whole or refused whole. */
export function parseReeApidatos(body: unknown): DaySeries[] {
  if (typeof body !== 'object' || body === null) throw new MalformedPayloadError(SOURCE, 'expected a JSON object');
  const included = (body as { included?: unknown }).included;
  if (!Array.isArray(included)) throw new MalformedPayloadError(SOURCE, 'no "included" array');
  const out: DaySeries[] = [];
  for (const item of included) {
    const id = String((item as { id?: unknown })?.id ?? '');
    const series = REE_SERIES[id];
    if (!series) continue;
    const attributes = (item as { attributes?: { values?: unknown; title?: unknown } }).attributes;
    const values = attributes?.values;
    if (!Array.isArray(values)) throw new MalformedPayloadError(SOURCE, `series ${id}: no "values" array`);
    const label = `${String(attributes?.title ?? '')} ${String((item as { type?: unknown }).type ?? '')}`;
    assertUnit(SOURCE, `series ${id}`, 'a price in €/MWh or €/kWh', /€\s*\/\s*[kM]Wh/i, label);
    const magnitude = (attributes as { magnitude?: unknown } | undefined)?.magnitude;
    if (magnitude !== undefined && magnitude !== null) assertUnit(SOURCE, `series ${id}`, 'magnitude "price"', /^price$/i, magnitude);
    const factor = /€\s*\/\s*kWh/i.test(label) ? 1000 : 1;
    const points = values.map((v: { value?: unknown; datetime?: unknown }, i: number) => {
      let start: number;
      try {
        start = parseInstant(v?.datetime);
      } catch (error) {
        throw new MalformedPayloadError(SOURCE, `series ${id} value ${i}: ${(error as Error).message}`);
      }
      return { start, value: requireFiniteNumber(SOURCE, `series ${id} value ${i}`, v?.value) * factor };
    });
    const slots = slotsFromInstants(SOURCE, series, points);
    assertResolution(SOURCE, `series ${id} (asked with time_trunc=hour)`, HOUR_MS, slots);
    assertPlausibleEurMwh(SOURCE, series, slots);
    out.push({ id: series, unit: 'EUR/MWh', slots });
  }
  return out;
}
