import { GatewayError, MalformedPayloadError } from '../../gateway/util/errors.js';
import type { DaySeries } from '../../gateway/sources/day-source.js';
import { assertResolutionIn, assertStatedUnit } from '../../gateway/sources/payload-checks.js';
import { HOUR_MS, parseInstant } from '../../gateway/time/tz.js';
import { QUARTER_HOUR_MS } from '../../gateway/series/slots.js';
import { QUARTER_HOUR_MARKET_FROM } from '../../gateway/inference/price-profiles.js';
import { assertPlausibleEurMwh, requireFiniteNumber, slotsFromInstants } from '../../gateway/sources/price-checks.js';

const SOURCE = 'ree';

/** REE series ids (never titles, which change with language and over time: "PVPC (€/MWh)" until 2025, "PVPC" in 2026) → our series. */
export const REE_SERIES: Record<string, string> = { '1001': 'pvpc', '600': 'spot_es' };

/**
 * The resolutions a series may come in for local day `date` when asked with `time_trunc=hour`, native first:
 * PVPC 2.0TD (1001) is hourly; the spot price (600) is quarter-hourly from the 15-minute market (2025-10-01)
 * on, and REE sends it so even with `time_trunc=hour` (api-contracts.md §1), hourly before.
 */
export function reeResolutions(id: string, date: string | undefined): number[] {
  if (id === '600' && (date === undefined || date >= QUARTER_HOUR_MARKET_FROM)) return [QUARTER_HOUR_MS, HOUR_MS];
  return [HOUR_MS];
}

/** One series' outcome: its slots, or the reason it was refused (the other series are judged on their own). */
export interface ReeParsed {
  series: DaySeries[];
  failures: Array<{ what: string; error: GatewayError }>;
}

/** A unit the label states: "(€/MWh)", "(MW)", "€/kWh", "%", "GWh"… A label without one states nothing. */
const STATES_UNIT = /\([^)]*\)|€|\beur\b|wh\b|\bmw\b|\bkw\b|%/i;

/**
 * Parses `mercados/precios-mercados-tiempo-real` for local day `date` (YYYY-MM-DD; used for the native resolution):
 * series are matched by id, and each is judged on its own — a series is refused only on evidence (a stated unit
 * that is not €/MWh or €/kWh, a magnitude other than price, a resolution it never has, a bad value), never for a
 * missing label. A payload that is not a REE answer at all throws `MalformedPayloadError`.
 * Values: €/MWh (a series labelled €/kWh is converted). Source: api-contracts.md §1.
 */
export function parseReeApidatosDay(body: unknown, date?: string): ReeParsed {
  if (typeof body !== 'object' || body === null) throw new MalformedPayloadError(SOURCE, 'expected a JSON object');
  const included = (body as { included?: unknown }).included;
  if (!Array.isArray(included)) throw new MalformedPayloadError(SOURCE, 'no "included" array');
  const out: ReeParsed = { series: [], failures: [] };
  for (const item of included) {
    const id = String((item as { id?: unknown })?.id ?? '');
    const series = REE_SERIES[id];
    if (!series) continue;
    try {
      out.series.push(parseSeries(item, id, series, date));
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      out.failures.push({ what: series, error });
    }
  }
  return out;
}

function parseSeries(item: unknown, id: string, series: string, date: string | undefined): DaySeries {
  const attributes = (item as { attributes?: { values?: unknown; title?: unknown; magnitude?: unknown } }).attributes;
  const values = attributes?.values;
  if (!Array.isArray(values)) throw new MalformedPayloadError(SOURCE, `series ${id}: no "values" array`);
  const label = `${String(attributes?.title ?? '')} ${String((item as { type?: unknown }).type ?? '')}`.trim();
  assertStatedUnit(SOURCE, `series ${id}`, 'a price in €/MWh or €/kWh', /€\s*\/\s*[kM]Wh/i, STATES_UNIT, label);
  const magnitude = attributes?.magnitude;
  if (magnitude !== undefined && magnitude !== null) assertStatedUnit(SOURCE, `series ${id}`, 'magnitude "price"', /^price$/i, /./, magnitude);
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
  assertResolutionIn(SOURCE, `series ${id}`, reeResolutions(id, date), slots);
  assertPlausibleEurMwh(SOURCE, series, slots);
  return { id: series, unit: 'EUR/MWh', slots };
}

/** Strict form for tools and tests: every known series must pass, or the first refusal is thrown. */
export function parseReeApidatos(body: unknown, date?: string): DaySeries[] {
  const parsed = parseReeApidatosDay(body, date);
  if (parsed.failures.length) throw parsed.failures[0]!.error;
  return parsed.series;
}
