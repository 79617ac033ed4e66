import { createTask, type ScheduledTask } from 'node-cron';
import { formatLocalIso, offsetMinutes } from '../time/tz.js';

const MINUTE_MS = 60_000;
const QUARTER_MS = 15 * MINUTE_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** How far `next`/`previous` look (a yearly job, e.g. `0 0 29 2 *`, may need four years: not supported, as before). */
const SEARCH_LIMIT_MINUTES = 366 * 24 * 60;

/**
 * A cron expression fired once per local occurrence in `timezone`, as traditional (Vixie) cron does across DST:
 * - a *fixed-time* job (neither minute nor hour field starts with `*`, e.g. `0 2 * * 0`, `30 2 * * *`) whose local
 *   time is skipped by a forward jump runs once, at the first minute after the jump (03:00 Madrid on the last
 *   Sunday of March); one whose local time repeats after a backward jump runs once, in its first occurrence;
 * - a *wildcard* job (`*\/15 * * * *`, `5 * * * *`) runs on the real passage of time: in both passes of a repeated
 *   hour, never for skipped minutes (no time passed for them).
 * Fields are node-cron's (5 fields, or 6 with seconds first; seconds are ignored: jobs fire on whole minutes).
 */
export class LocalCron {
  /** node-cron's field matcher evaluated on a local wall time encoded as a UTC instant. */
  private readonly wallMatcher: ScheduledTask;
  readonly fixedTime: boolean;
  /** The minute and hour fields, e.g. `0 2` for `0 2 * * 0`. */
  readonly timeFields: string;
  private readonly offsets = new Map<number, number>();

  constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    this.wallMatcher = createTask(expression, () => undefined, { timezone: 'UTC', name: `wall:${expression}` });
    const fields = expression.trim().split(/\s+/);
    const [minute, hour] = fields.length >= 6 ? [fields[1]!, fields[2]!] : [fields[0]!, fields[1]!];
    this.fixedTime = !minute.startsWith('*') && !hour.startsWith('*');
    this.timeFields = `${minute} ${hour}`;
  }

  /** Offset of `timezone` at `t` in ms (cached per quarter-hour: zones change offset on quarter-hours). */
  private offset(t: number): number {
    const bucket = Math.floor(t / QUARTER_MS);
    let o = this.offsets.get(bucket);
    if (o === undefined) {
      if (this.offsets.size > 50_000) this.offsets.clear();
      o = offsetMinutes(bucket * QUARTER_MS, this.timezone) * MINUTE_MS;
      this.offsets.set(bucket, o);
    }
    return o;
  }

  /** Local wall-clock time at `t`, encoded as a UTC instant (the fields of `new Date(wall)` in UTC are the local ones). */
  wall(t: number): number {
    return t + this.offset(t);
  }

  /** The wall time at `t` already happened earlier (the second pass of an hour a backward jump repeats). */
  private repeated(t: number): boolean {
    const now = this.offset(t);
    const before = this.offset(t - 3 * HOUR_MS);
    return before > now && this.offset(t - (before - now)) === before;
  }

  matchesWall(wall: number): boolean {
    return this.wallMatcher.match(new Date(wall));
  }

  /** Whether the job fires at the UTC minute `t` (a multiple of a minute). */
  fires(t: number): boolean {
    const w = this.wall(t);
    if (this.matchesWall(w)) return !(this.fixedTime && this.repeated(t));
    if (!this.fixedTime) return false;
    const previous = this.wall(t - MINUTE_MS);
    // First minute after a forward jump: the skipped local minutes' fixed-time runs happen now, once.
    for (let x = previous + MINUTE_MS; x < w && w - previous <= DAY_MS; x += MINUTE_MS) if (this.matchesWall(x)) return true;
    return false;
  }

  /** The first firing minute strictly after `after`, or undefined within a year. */
  next(after: number): number | undefined {
    let t = Math.floor(after / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    for (let i = 0; i < SEARCH_LIMIT_MINUTES; i++, t += MINUTE_MS) if (this.fires(t)) return t;
    return undefined;
  }

  /** The last firing minute at or before `atOrBefore`, or undefined within a year. */
  previous(atOrBefore: number): number | undefined {
    let t = Math.floor(atOrBefore / MINUTE_MS) * MINUTE_MS;
    for (let i = 0; i < SEARCH_LIMIT_MINUTES; i++, t -= MINUTE_MS) if (this.fires(t)) return t;
    return undefined;
  }
}

/**
 * The DST transitions of `timezone` in the year from `from`: for each, the local wall minutes it skips or repeats
 * (as UTC-encoded wall times, [start, end)) and the instant of the change.
 */
export function dstTransitions(timezone: string, from: number): Array<{ at: number; kind: 'skipped' | 'repeated'; wallStart: number; wallEnd: number }> {
  const out: Array<{ at: number; kind: 'skipped' | 'repeated'; wallStart: number; wallEnd: number }> = [];
  const off = (t: number): number => offsetMinutes(t, timezone) * MINUTE_MS;
  let t = Math.floor(from / HOUR_MS) * HOUR_MS;
  for (let i = 0; i < 366 * 24; i++, t += HOUR_MS) {
    const a = off(t);
    const b = off(t + HOUR_MS);
    if (a === b) continue;
    // Find the quarter-hour of the change inside this hour.
    let at = t + QUARTER_MS;
    while (at < t + HOUR_MS && off(at) === a) at += QUARTER_MS;
    if (b > a) out.push({ at, kind: 'skipped', wallStart: at + a, wallEnd: at + b });
    else out.push({ at, kind: 'repeated', wallStart: at + b, wallEnd: at + a });
  }
  return out;
}

/**
 * One warning per fixed-time job whose local time falls in an hour that DST skips or repeats in `timezone` within a
 * year of `from` (e.g. `cleanup` at `0 2 * * 0` in Europe/Madrid: 02:00-02:59 is skipped on the last Sunday of March
 * and repeated on the last Sunday of October). Such a job still runs once per local day (see `LocalCron`).
 */
export function dstHourWarnings(jobs: Array<{ id: string; cron: string; enabled: boolean }>, timezone: string, from: number): string[] {
  const transitions = dstTransitions(timezone, from);
  const warnings: string[] = [];
  for (const job of jobs) {
    if (!job.enabled) continue;
    const cron = new LocalCron(job.cron, timezone);
    if (!cron.fixedTime) continue;
    // Minute and hour only: a job that does not fall on that date this year is still named.
    const time = new LocalCron(`${cron.timeFields} * * *`, timezone);
    const hits = transitions.filter((tr) => {
      for (let w = tr.wallStart; w < tr.wallEnd; w += MINUTE_MS) if (time.matchesWall(w)) return true;
      return false;
    });
    if (!hits.length) continue;
    const describe = hits.map((tr) => {
      const hh = (w: number): string => new Date(w).toISOString().slice(11, 16);
      return `${hh(tr.wallStart)}-${hh(tr.wallEnd - MINUTE_MS)} is ${tr.kind} on ${formatLocalIso(tr.at, timezone).slice(0, 10)} (${tr.kind === 'skipped' ? 'it runs once right after the jump' : 'it runs once, in the first pass'})`;
    });
    warnings.push(`job ${job.id} (${JSON.stringify(job.cron)}) is scheduled in a local hour that daylight saving time changes in ${timezone}: ${describe.join('; ')}; a time outside that hour avoids it`);
  }
  return warnings;
}
