import { MalformedPayloadError } from '../../gateway/util/errors.js';
import type { DaySeries } from '../../gateway/sources/day-source.js';
import { slotsFromPeriods } from '../../gateway/series/slots.js';
import { localDayRange, parseLocalDate } from '../../gateway/time/tz.js';
import { assertPlausibleEurMwh, requireFiniteNumber } from '../../gateway/sources/price-checks.js';

const SOURCE = 'omie';

/**
 * Parses OMIE's `marginalpdbc_YYYYMMDD.1`: a `MARGINALPDBC;` header, lines `year;month;day;period;price_PT;price_ES;`
 * in €/MWh (Portugal first), and a closing `*`. 23/24/25 hourly or 92/96/100 quarter-hourly periods.
 */
export function parseOmieMarginal(text: string, date: string, timezone = 'Europe/Madrid'): DaySeries[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (!lines[0]?.startsWith('MARGINALPDBC')) throw new MalformedPayloadError(SOURCE, `expected a MARGINALPDBC header, got ${JSON.stringify(lines[0]?.slice(0, 40) ?? '')}`);
  if (lines[lines.length - 1] !== '*') throw new MalformedPayloadError(SOURCE, 'file does not end with "*": truncated');
  const { year, month, day } = parseLocalDate(date);
  const es: number[] = [];
  const pt: number[] = [];
  for (const [i, line] of lines.slice(1, -1).entries()) {
    const f = line.split(';');
    if (f.length < 6) throw new MalformedPayloadError(SOURCE, `line ${i + 2}: expected 6 fields, got ${JSON.stringify(line)}`);
    const [y, m, d, period] = f.slice(0, 4).map((x) => requireFiniteNumber(SOURCE, `line ${i + 2}`, x)) as [number, number, number, number];
    if (y !== year || m !== month || d !== day) throw new MalformedPayloadError(SOURCE, `line ${i + 2}: date ${y}-${m}-${d} in a file for ${date}`);
    if (period !== es.length + 1) throw new MalformedPayloadError(SOURCE, `line ${i + 2}: period ${period} where ${es.length + 1} was expected`);
    pt.push(requireFiniteNumber(SOURCE, `line ${i + 2} Portugal price`, f[4]));
    es.push(requireFiniteNumber(SOURCE, `line ${i + 2} Spain price`, f[5]));
  }
  const { start, end } = localDayRange(date, timezone);
  let esSlots;
  let ptSlots;
  try {
    esSlots = slotsFromPeriods(start, end, es);
    ptSlots = slotsFromPeriods(start, end, pt);
  } catch (error) {
    throw new MalformedPayloadError(SOURCE, `${date}: ${(error as Error).message}`);
  }
  assertPlausibleEurMwh(SOURCE, 'omie_es', esSlots);
  assertPlausibleEurMwh(SOURCE, 'omie_pt', ptSlots);
  return [
    { id: 'omie_es', unit: 'EUR/MWh', slots: esSlots },
    { id: 'omie_pt', unit: 'EUR/MWh', slots: ptSlots },
  ];
}
