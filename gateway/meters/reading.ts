import type { MeterRole } from './quarter-hours.js';

/**
 * What the counter checks found wrong with a meter (gateway/meters/counter.ts):
 * - `reset`: the import counter went back to (near) zero (meter replaced, counter cleared);
 * - `rollback`: the counter went backwards, but not to zero (a wrong register, a swapped meter, a decoding fault);
 * - `jump`: it rose more than the meter's highest possible power could import in the time (a misread, a bit flip);
 * - `frozen`: it stopped advancing while the power read above zero, or every value read was identical for N polls
 *   (a meter or a protocol gateway answering a cached value with fresh timestamps);
 * - `gap`: no reading for longer than the meter's gap threshold (device away, gateway stopped).
 */
export type MeterFaultKind = 'reset' | 'rollback' | 'jump' | 'frozen' | 'gap';

/**
 * One poll of one meter, as emitted on the bus (`meter.reading`) on every poll.
 * `quality`: `good` (values read and the counter plausible), `suspect` (read, but a counter check failed or is
 * still open: `fault` says which), `failed` (the meter did not answer; values null).
 */
export interface MeterReading {
  meter: string;
  role: MeterRole;
  line?: string;
  /** UTC ms on the gateway's clock. */
  at: number;
  /** Total active power, kW (positive = import). */
  kw: number | null;
  /** Import active energy counter, kWh (the register that is billed). */
  importKwh: number | null;
  /** Import reactive energy counter, kvarh, when the meter's profile has one. */
  importKvarh?: number | null;
  quality: 'good' | 'suspect' | 'failed';
  fault?: MeterFaultKind;
  /** The meter's provenance from config: 'measured' for a real meter, 'simulated: …' for the demo's. */
  provenance?: string;
}
