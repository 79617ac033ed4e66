/** Per-point report-by-exception settings (config `modbus.devices[].points[]`, `opcua.devices[].points[]`). */
export interface ExceptionBand {
  /** Absolute change (point unit) that makes a reading worth reporting; 0 = not used. */
  deadband: number;
  /** Change in percent of the last reported value; 0 = not used. */
  deadbandPercent: number;
  /** Report at least this often (ms) even without a change; 0 = only on change. */
  maxSilenceMs: number;
}

export interface Reported {
  value: number | null;
  at: number;
}

/**
 * Whether a reading is due for publishing: nothing reported yet, the state changed (a value after a failure or the
 * reverse), the silence reached `maxSilenceMs`, or the value moved beyond a configured band (any change when no
 * band is set). With both bands set, moving beyond either is enough.
 */
export function isDue(band: ExceptionBand, last: Reported | undefined, value: number | null, at: number): boolean {
  if (!last) return true;
  if ((last.value === null) !== (value === null)) return true;
  if (band.maxSilenceMs > 0 && at - last.at >= band.maxSilenceMs) return true;
  if (value === null || last.value === null) return false;
  const delta = Math.abs(value - last.value);
  if (band.deadband === 0 && band.deadbandPercent === 0) return delta !== 0;
  if (band.deadband > 0 && delta > band.deadband) return true;
  return band.deadbandPercent > 0 && delta > (Math.abs(last.value) * band.deadbandPercent) / 100;
}

/**
 * The points of `which` due for a report ({@link isDue} on `value(i)` at `at(i)`, UTC ms), with the value and time
 * now reported recorded in `reported`; in `which` order, empty when none is due.
 */
export function takeDue(bands: readonly ExceptionBand[], reported: Map<number, Reported>, which: readonly number[], value: (i: number) => number | null, at: (i: number) => number): number[] {
  const due = which.filter((i) => isDue(bands[i]!, reported.get(i), value(i), at(i)));
  for (const i of due) reported.set(i, { value: value(i), at: at(i) });
  return due;
}
