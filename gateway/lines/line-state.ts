import { formatUtcIso } from '../time/tz.js';
import type { PlanDocumentPayload } from '../mqtt/topics.js';

/** The command codes a line's PLC receives (Modbus register value, OPC UA variable or method argument). */
export const COMMAND_CODES = { idle: 0, run: 1, halt: 2 } as const;

/** What one line should do now, as the plan says: the command, its power setpoint (kW), until when (UTC ms) and the batch. */
export interface LineState {
  command: keyof typeof COMMAND_CODES;
  powerKw: number;
  validUntil: number;
  /** The plant-unique id of the batch the line runs now (null when it runs none). */
  batch: number | null;
}

/** A run the quarter-hour guard (plugins/power-guard) moved later: the line, the run's planned start (UTC ms) and the shift (ms). */
export interface GuardShift {
  line: string;
  runStart: number;
  shiftMs: number;
}

/**
 * The end (UTC ms) of the operator's stop of `line` in force at `now` according to the plan document's `overrides`
 * (taken at or before `now`, `until` after it), or null when the line is not stopped.
 */
export function lineStoppedUntil(doc: PlanDocumentPayload | null, line: string, now: number): number | null {
  const stops = (doc?.overrides ?? []).filter((o) => o.line === line && o.command === 'stop' && Date.parse(o.at) <= now && Date.parse(o.until) > now);
  return stops.length ? Math.max(...stops.map((o) => Date.parse(o.until))) : null;
}

/**
 * What line `line` should do at `now` according to the plan (idle when the plan has nothing for it). A line under an
 * operator's stop (the document's `overrides`) is idle until the stop ends, whatever its runs say: the safety layer
 * that does not depend on the planner having cut the running run (README "Line stops").
 */
export function lineStateAt(doc: PlanDocumentPayload | null, line: string, now: number, kwOf: (process: string) => number): LineState {
  const fallbackUntil = now + 15 * 60_000;
  if (!doc) return { command: 'idle', powerKw: 0, validUntil: fallbackUntil, batch: null };
  const stoppedUntil = lineStoppedUntil(doc, line, now);
  if (stoppedUntil !== null) return { command: 'idle', powerKw: 0, validUntil: stoppedUntil, batch: null };
  const hour = doc.hours.find((h) => Date.parse(h.start) <= now && Date.parse(h.start) + 3_600_000 > now);
  const runs = doc.runs.filter((r) => r.line === line).map((r) => ({ ...r, s: Date.parse(r.start), e: Date.parse(r.end) }));
  const running = runs.find((r) => r.s <= now && r.e > now);
  const next = runs.filter((r) => r.s > now).sort((a, b) => a.s - b.s)[0];
  // Halt holds to the end of the halting hour (or the next run, if sooner); rewritten every watchdog period meanwhile.
  if (hour?.recommendation === 'Halt' && !running) return { command: 'halt', powerKw: 0, validUntil: Math.min(Date.parse(hour.start) + 3_600_000, next?.s ?? Infinity), batch: null };
  if (running) return { command: 'run', powerKw: kwOf(running.process), validUntil: running.e, batch: running.batch };
  return { command: 'idle', powerKw: 0, validUntil: next?.s ?? Date.parse(doc.horizon.end), batch: null };
}

/** Whether two sets of the guard's shifts move the same runs by the same amounts (each `power.guard` event carries the whole set in force). */
export function sameGuardShifts(a: ReadonlyArray<GuardShift>, b: ReadonlyArray<GuardShift>): boolean {
  return a.length === b.length && a.every((x, i) => x.line === b[i]!.line && x.runStart === b[i]!.runStart && x.shiftMs === b[i]!.shiftMs);
}

/** Whether two line states tell the PLC the same thing (command, setpoint, valid-until and batch). */
export function sameLineState(a: LineState, b: LineState): boolean {
  return a.command === b.command && a.powerKw === b.powerKw && a.validUntil === b.validUntil && a.batch === b.batch;
}

/**
 * The lines (of `lines`) whose state at `now` differs between the plan with the guard's shifts `before` and with
 * `after` ({@link lineStateAt} on {@link withGuardShifts}): a line the guard newly defers,
 * one whose deferral was lifted or changed, and one whose next-run time (`validUntil`) moved. Each `power.guard`
 * event carries the whole set in force, so a lifted deferral is a line in `before` and not in `after`: the writers
 * must rewrite it at once, not at the next watchdog period.
 */
export function linesChangedByGuard(doc: PlanDocumentPayload | null, before: ReadonlyArray<GuardShift>, after: ReadonlyArray<GuardShift>, lines: readonly string[], now: number, kwOf: (process: string) => number): string[] {
  if (sameGuardShifts(before, after)) return [];
  const was = withGuardShifts(doc, before);
  const is = withGuardShifts(doc, after);
  return lines.filter((line) => !sameLineState(lineStateAt(was, line, now, kwOf), lineStateAt(is, line, now, kwOf)));
}

/**
 * The plan with the runs the quarter-hour guard (plugins/power-guard) moved later: each shift names a run by its
 * line and planned start, and moves its start and end (the guard moves only runs that have not begun).
 */
export function withGuardShifts(doc: PlanDocumentPayload | null, shifts: ReadonlyArray<GuardShift>): PlanDocumentPayload | null {
  if (!doc || !shifts.length) return doc;
  const move = (iso: string, line: string, start: string) => {
    const s = shifts.find((x) => x.line === line && x.runStart === Date.parse(start));
    return s ? formatUtcIso(Date.parse(iso) + s.shiftMs) : iso;
  };
  return { ...doc, runs: doc.runs.map((r) => ({ ...r, start: move(r.start, r.line, r.start), end: move(r.end, r.line, r.start) })) };
}

/** `run 120 kW until 2026-12-06T10:00:00.000Z`: a state as health messages and the write-nothing record show it. */
export function describeLineState(state: LineState): string {
  return `${state.command} ${state.powerKw} kW until ${new Date(state.validUntil).toISOString()}`;
}
