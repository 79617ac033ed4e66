/**
 * The live quarter-hour guard ("maxímetro"), its decisions without I/O (plugins/power-guard/index.ts does the I/O).
 *
 * The bill's excess term is on each quarter-hour's AVERAGE power (Pd = 4 × kWh), so what matters mid-quarter-hour
 * is the projected average: projected kW = 4 × (kWh so far + current kW × hours left). When it would pass the
 * period's contracted power minus a margin, something that can wait waits until the next quarter-hour:
 * - the start of a planned run that has not begun (the whole run moves later, so it is never cut in two), when its
 *   batch allows it: its later end must stay before the next run on its line and before the run of the next
 *   process in the batch order that takes the same batch, and inside the plan's horizon;
 * - a configured interruptible load (a Modbus coil), within its maxOffMinutes, and not again before minOnMinutes.
 * A run that has begun is never touched (a conche is never interrupted).
 */
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import type { TimedPlanRun } from '../../gateway/bill/savings.js';

export const QH_MS = 900_000;
const HOUR_MS = 3_600_000;

/** Energy of the quarter-hour in progress, from the site meter's readings. */
export class QuarterHourEnergy {
  qhStart = -1;
  /** Import counter at the quarter-hour's start (estimated back from the first reading in it), kWh. */
  private counterAtStart: number | null = null;
  /** Integrated kWh for meters without a counter. */
  private integrated = 0;
  lastKw: number | null = null;
  lastAt = -Infinity;

  /** Takes one good reading (UTC ms on the gateway clock, kW, the import counter in kWh or null). */
  reading(at: number, kw: number, importKwh: number | null): void {
    const qh = Math.floor(at / QH_MS) * QH_MS;
    if (qh !== this.qhStart) {
      this.qhStart = qh;
      this.integrated = this.lastKw !== null && this.lastAt >= qh - QH_MS ? (this.lastKw * Math.min(at - qh, at - this.lastAt)) / HOUR_MS : (kw * (at - qh)) / HOUR_MS;
      this.counterAtStart = importKwh === null ? null : importKwh - this.integrated;
    } else if (this.lastKw !== null) {
      this.integrated += (this.lastKw * (at - this.lastAt)) / HOUR_MS;
    }
    if (importKwh !== null && this.counterAtStart === null) this.counterAtStart = importKwh - this.integrated;
    this.lastImport = importKwh;
    this.lastKw = kw;
    this.lastAt = at;
  }
  private lastImport: number | null = null;

  /** kWh imported since the quarter-hour began (counter when the meter has one). */
  energySoFar(): number {
    if (this.lastImport !== null && this.counterAtStart !== null) return Math.max(0, this.lastImport - this.counterAtStart);
    return this.integrated;
  }

  /** Projected average kW of the quarter-hour containing `now`, or null without a reading in it. */
  projectedKw(now: number): number | null {
    const qh = Math.floor(now / QH_MS) * QH_MS;
    if (qh !== this.qhStart || this.lastKw === null) return null;
    const sinceReading = Math.max(0, now - this.lastAt);
    const left = qh + QH_MS - now;
    return 4 * (this.energySoFar() + (this.lastKw * (sinceReading + left)) / HOUR_MS);
  }
}

/** A run of the plan the guard watches (gateway/bill/savings.ts `TimedPlanRun`: one type for a plan's run in absolute time). */
export type PlannedRun = TimedPlanRun;

export const runsOf = (doc: PlanDocumentPayload | null): PlannedRun[] =>
  (doc?.runs ?? []).map((r) => ({ line: r.line, process: r.process, batch: r.batch, start: Date.parse(r.start), end: Date.parse(r.end), kw: r.kw }));

/**
 * How far (ms) run `run` may start later without breaking its batch: before the next run on its line, before the
 * next process's run of the same batch (order = the planner's batch order), inside the plan's horizon.
 * Runs are compared at their shifted times (`shiftOf`).
 */
export function slackMs(run: PlannedRun, runs: readonly PlannedRun[], order: readonly string[], horizonEnd: number, shiftOf: (r: PlannedRun) => number): number {
  let limit = horizonEnd;
  const next = order[order.indexOf(run.process) + 1];
  for (const r of runs) {
    if (r === run) continue;
    const s = r.start + shiftOf(r);
    if (r.line === run.line && r.start > run.start) limit = Math.min(limit, s);
    if (next !== undefined && r.process === next && r.batch === run.batch) limit = Math.min(limit, s);
  }
  return Math.max(0, limit - (run.end + shiftOf(run)));
}

/** kW-average saved over the rest of the quarter-hour by keeping `kw` off from `now` to its end. */
export const averageSaved = (kw: number, now: number) => (kw * (Math.floor(now / QH_MS) * QH_MS + QH_MS - now)) / QH_MS;
