import { MalformedPayloadError } from '../util/errors.js';
import { HOUR_MS } from '../time/tz.js';
import { QUARTER_HOUR_MS, type Slot } from '../series/slots.js';

/** Day-ahead prices in €/MWh live inside the market's harmonised limits; anything far outside is a unit or parse error. */
export const PRICE_LIMITS_EUR_MWH = { min: -600, max: 10_000 };

export function assertPlausibleEurMwh(source: string, series: string, slots: readonly Slot[]): void {
  const bad = slots.find((s) => s.value < PRICE_LIMITS_EUR_MWH.min || s.value > PRICE_LIMITS_EUR_MWH.max);
  if (bad) {
    throw new MalformedPayloadError(source, `${series}: ${bad.value} €/MWh at ${new Date(bad.start).toISOString()} is outside ${PRICE_LIMITS_EUR_MWH.min}..${PRICE_LIMITS_EUR_MWH.max}; wrong unit?`);
  }
  // A retail price series whose every value is below 2 was sent in €/kWh, not €/MWh.
  if (series.startsWith('pvpc') && slots.length >= 4 && slots.every((s) => Math.abs(s.value) < 2)) {
    throw new MalformedPayloadError(source, `${series}: all values below 2; these look like €/kWh where €/MWh was expected`);
  }
}

/** Turns instants into slots: each ends where the series' step says (1 h or 15 min), checked for consistency. */
export function slotsFromInstants(source: string, series: string, points: Array<{ start: number; value: number }>): Slot[] {
  const sorted = [...points].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.start === sorted[i - 1]!.start) throw new MalformedPayloadError(source, `${series}: two values for ${new Date(sorted[i]!.start).toISOString()}`);
  }
  const steps = sorted.slice(1).map((p, i) => p.start - sorted[i]!.start);
  const step = steps.length ? Math.min(...steps) : HOUR_MS;
  if (step !== HOUR_MS && step !== QUARTER_HOUR_MS) {
    throw new MalformedPayloadError(source, `${series}: values ${step / 60_000} minutes apart; expected 60 or 15`);
  }
  return sorted.map((p) => ({ start: p.start, end: p.start + step, value: p.value }));
}

export function requireFiniteNumber(source: string, what: string, value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value.replace(',', '.')) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new MalformedPayloadError(source, `${what}: expected a number, got ${JSON.stringify(value)}`);
  return n;
}

export function parseJson(source: string, body: Buffer | string): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const trimmed = text.trimStart();
  if (trimmed.startsWith('<')) throw new MalformedPayloadError(source, 'got an HTML page where JSON was expected');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedPayloadError(source, `invalid JSON (${(error as Error).message}); ${text.length} bytes received`);
  }
}
