/**
 * The runs as they really ran, for the measured savings (gateway/bill/savings.ts): never the plan's start and end.
 *
 * A line with a PLC the gateway writes (modbus-lines, opcua-lines: gateway/lines/) has a run from the first write of
 * `run` with the run's batch that the PLC verifiably holds (written and read back, bus `line.written`) to the first of:
 * a verified write of anything else (idle — an operator stop, the end —, halt, another batch), the command's
 * valid-until passing, or the line leaving verified writing (`line.state` dry_run: nothing written; failed: the PLC
 * falls back on its watchdog; stopped: the gateway stops). One line holds one command at a time, so two runs of one
 * line never overlap. A planned run whose start the line never got (the line in the write-nothing mode, its PLC
 * unreachable) has no run here: it is left out of the measured figures, with the reason.
 *
 * A line without such a PLC (its commands go out on MQTT `lines/<line>/command` only; the gateway cannot read back
 * what the line does) has its runs from the plan: the planned start, the end cut where the plan says the run was
 * interrupted (an operator's stop), left out when the line was in the write-nothing mode at the start (no command
 * was published). Those runs say so (`source: 'line command (not verified)'`).
 *
 * Times are UTC ms. The savings are computed on the metering grid: a run's start and end are rounded to the nearest
 * quarter-hour (so a run is credited to ± half a quarter-hour at each end); a run shorter than half a quarter-hour
 * is below that resolution and is left out, with the reason.
 */
import { QUARTER_HOUR_MS } from '../series/slots.js';
import { formatUtcIso } from '../time/tz.js';

/** Where a run's times come from: verified PLC writes, or the plan's line commands (a line without a PLC link). */
export type RunSource = 'plc (verified writes)' | 'line command (not verified)';

/** A run of the plan in absolute time: [start, end) UTC ms, its line, process, batch id and planned kW (a plan document's run, parsed). */
export interface TimedPlanRun {
  process: string;
  line: string;
  batch: number;
  start: number;
  end: number;
  kw: number;
}

/** A run as it ran: [start, end) UTC ms (exact, not rounded), its line, process, batch and kW. */
export interface RanRun extends TimedPlanRun {
  source: RunSource;
}

/** The run a line's PLC holds now: from `start`, to `until` (the command's valid-until) unless something ends it first. */
export interface OpenRun {
  process: string;
  line: string;
  batch: number;
  start: number;
  until: number;
  kw: number;
}

/** What a line's PLC verifiably holds from `at` (bus `line.written`). */
export interface LineWritten {
  line: string;
  command: 'idle' | 'run' | 'halt';
  batch: number | null;
  powerKw: number;
  validUntil: number;
  at: number;
}

/** A planned run the measured savings leave out, and why (shown with the closed day). */
export interface LeftOutRun {
  process: string;
  line: string;
  batch: number;
  /** planned start and end, ISO UTC */
  start: string;
  end: string;
  reason: string;
}

/**
 * The line's open run after the verified write `w`: `closed` is the run it ended (at the write, or at its valid-until
 * if that passed first), `open` what the line runs from now on (the same run, its valid-until updated, when the write
 * repeats it). `processOf` names the process of the line's batch.
 */
export function onWritten(open: OpenRun | undefined, w: LineWritten, processOf: (line: string, batch: number) => string): { closed: RanRun | null; open: OpenRun | undefined } {
  const same = open && w.command === 'run' && w.batch === open.batch && w.at <= open.until;
  if (same) return { closed: null, open: { ...open, until: w.validUntil, kw: w.powerKw || open.kw } };
  const closed = open ? closeAt(open, w.at) : null;
  const next = w.command === 'run' && w.batch !== null && w.validUntil > w.at ? { process: processOf(w.line, w.batch), line: w.line, batch: w.batch, start: w.at, until: w.validUntil, kw: w.powerKw } : undefined;
  return { closed, open: next };
}

/** The run `open` ended at `at`, or at its valid-until if that came first (the PLC drops a command past it). */
export function closeAt(open: OpenRun, at: number): RanRun {
  return { process: open.process, line: open.line, batch: open.batch, start: open.start, end: Math.max(open.start, Math.min(at, open.until)), kw: open.kw, source: 'plc (verified writes)' };
}

const roundQh = (t: number) => Math.round(t / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;

/**
 * The runs the savings credit, on the quarter-hour grid (start and end rounded to the nearest quarter-hour), sorted
 * by start, and the runs left out: a run under half a quarter-hour, and a run of a line that overlaps the line's run
 * before it (cut to start where that one ended; left out if nothing remains) — one line runs one batch at a time.
 */
export function creditable<R extends RanRun>(runs: readonly R[]): { runs: R[]; leftOut: LeftOutRun[] } {
  const out: R[] = [];
  const leftOut: LeftOutRun[] = [];
  const lineEnd = new Map<string, number>();
  for (const r of [...runs].sort((a, b) => a.start - b.start || a.end - b.end)) {
    const start = Math.max(roundQh(r.start), lineEnd.get(r.line) ?? -Infinity);
    const end = roundQh(r.end);
    const minutes = Math.round((r.end - r.start) / 60_000);
    if (end <= start) {
      const reason = r.end - r.start < QUARTER_HOUR_MS / 2 ? `ran ${minutes} min, less than half a quarter-hour: below the metering resolution` : `overlaps the run of line ${r.line} before it`;
      leftOut.push({ process: r.process, line: r.line, batch: r.batch, start: formatUtcIso(r.start), end: formatUtcIso(r.end), reason });
      continue;
    }
    lineEnd.set(r.line, end);
    out.push({ ...r, start, end });
  }
  return { runs: out, leftOut };
}
