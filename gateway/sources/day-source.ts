import { sleepUnlessAborted } from '../time/clock.js';
import { GatewayError, StoreError, errorCode, errorMessage, retryingLabel } from '../util/errors.js';
import { FetchStats, HealthTracker, type ComponentHealth } from '../util/health.js';
import type { JobRunResult, Plugin, PluginContext, SeriesDescriptor } from '../core/plugin-api.js';
import { findGaps, type Slot, type Unit } from '../series/slots.js';
import { assertInsideDay } from './payload-checks.js';
import { addDays, localDate, localDayRange, localParts } from '../time/tz.js';

export interface DaySeries {
  id: string;
  unit: Unit;
  slots: Slot[];
}

/**
 * What a source returns for one local day: its series, or `notPublished` when the day does not exist there yet.
 * `failures` lists the parts of a day fetched piece by piece (ESIOS indicators) that failed while others came.
 */
export type DayResult = { kind: 'data'; series: DaySeries[]; failures?: Array<{ what: string; error: unknown }> } | { kind: 'not-published'; detail: string };

/** The last outcome of one local day; a failed day stays failed in the source's health until it is fetched again successfully. */
export interface DayOutcome {
  state: 'complete' | 'partial' | 'not published yet' | 'failed';
  at: number;
  message: string;
  code?: string;
  transient?: boolean;
  /** Failed attempts at this day since its last success. */
  failures: number;
}

export interface DaySourceOptions {
  name: string;
  timezone: string;
  /** Series that must cover the whole day for it to count as complete. */
  primarySeries: string[];
  describe: Array<Omit<SeriesDescriptor, 'source' | 'staleAfterMs'>>;
  publishAfter: string;
  staleAfterMs: number;
  backfillDays: number;
  backfillIntervalMs: number;
  fetchDay: (date: string) => Promise<DayResult>;
  /** Extra jobs (e.g. token check). */
  tokenCheck?: () => Promise<string>;
}

/** The timing settings every day source shares in its config slice. */
export interface DaySourceTimingConfig {
  publishAfter: string;
  staleAfterMinutes: number;
  backfillDays: number;
  backfillIntervalMs: number;
}

export function timingFrom(cfg: DaySourceTimingConfig): Pick<DaySourceOptions, 'publishAfter' | 'staleAfterMs' | 'backfillDays' | 'backfillIntervalMs'> {
  return { publishAfter: cfg.publishAfter, staleAfterMs: cfg.staleAfterMinutes * 60_000, backfillDays: cfg.backfillDays, backfillIntervalMs: cfg.backfillIntervalMs };
}

/** What a day source needs of the plugin context (its `clockUntrusted`: then nothing is stored, the "day" it asks for may be another). */
export type DaySourceDeps = Pick<PluginContext, 'clock' | 'log' | 'bus' | 'store' | 'clockUntrusted'>;

/**
 * The ingestion engine shared by day-published price sources (REE, ESIOS, OMIE, replay):
 * poll today and D+1 from publication time until complete, backfill gaps day by day, write whole days
 * atomically, and keep an honest health record.
 */
export class DaySource implements Plugin {
  readonly name: string;
  private readonly tracker: HealthTracker;
  private readonly stats = new FetchStats();
  /** Aborted when the gateway starts stopping: a backfill ends, and its pause between days with it. */
  private readonly stopping = new AbortController();
  private readonly days = new Map<string, DayOutcome>();
  readonly jobs: Plugin['jobs'];

  constructor(
    private readonly options: DaySourceOptions,
    private readonly deps: DaySourceDeps,
  ) {
    this.name = options.name;
    this.tracker = new HealthTracker(() => deps.clock.now());
    this.jobs = {
      priceIngestion: () => this.poll(),
      backfill: () => this.backfill(),
      ...(options.tokenCheck ? { tokenCheck: async () => ({ summary: await options.tokenCheck!() }) } : {}),
    };
  }

  async start(): Promise<void> {
    this.tracker.set('starting', 'waiting for the first fetch');
    this.deps.bus.on('gateway.stopping', this.name, () => this.stopping.abort());
  }

  async stop(): Promise<void> {
    this.deps.bus.removeOwner(this.name);
  }

  /** Derived from the per-day outcomes: any day whose last attempt failed keeps the source degraded (or failed when stale). */
  health(): ComponentHealth {
    this.forgetOldDays();
    const failed = [...this.days.entries()].filter(([, o]) => o.state === 'failed').sort(([a], [b]) => a.localeCompare(b));
    this.stats.consecutiveFailures = Math.max(0, ...failed.map(([, o]) => o.failures));
    const details = { ...this.stats.details(), days: Object.fromEntries([...this.days].map(([d, o]) => [d, o.state === 'failed' ? `failed: ${o.code ?? 'unknown'}: ${o.message}` : o.state])) };
    if (!failed.length) {
      const h = this.tracker.get();
      return { ...h, details: { ...h.details, ...details } };
    }
    const [, first] = failed[0]!;
    const state = this.isStale() ? 'failed' : 'degraded';
    const message = `${retryingLabel(first.code, first.transient)}${failed.map(([d, o]) => `${d}: ${o.message}`).join('; ')}`;
    return { state, message, code: first.code, since: Math.min(...failed.map(([, o]) => o.at)), details };
  }

  /** Days outside today, tomorrow and the backfill window are no longer wanted: their outcomes are dropped. */
  private forgetOldDays(): void {
    const oldest = addDays(localDate(this.deps.clock.now(), this.options.timezone), -this.options.backfillDays);
    for (const d of this.days.keys()) if (d < oldest) this.days.delete(d);
  }

  /** A day is done when its primary series are complete and its last attempt did not fail. */
  private async isDone(date: string): Promise<boolean> {
    return this.days.get(date)?.state !== 'failed' && (await this.isComplete(date));
  }

  series(): SeriesDescriptor[] {
    return this.options.describe.map((d) => ({ ...d, source: this.name, staleAfterMs: this.options.staleAfterMs }));
  }

  /** Days the poller wants now: today, and tomorrow once the publication time has passed. */
  wantedDays(now = this.deps.clock.now()): string[] {
    const today = localDate(now, this.options.timezone);
    const p = localParts(now, this.options.timezone);
    const [h, m] = this.options.publishAfter.split(':').map(Number) as [number, number];
    const afterPublication = p.hour * 60 + p.minute >= h * 60 + m;
    return afterPublication ? [today, addDays(today, 1)] : [today];
  }

  async isComplete(date: string): Promise<boolean> {
    const { start, end } = localDayRange(date, this.options.timezone);
    for (const id of this.options.primarySeries) {
      if ((await this.deps.store.gaps(id, start, end)).length > 0) return false;
    }
    return true;
  }

  /** Every primary series is among `series` and its slots leave no gap in the local day. */
  private coversDay(date: string, series: DaySeries[]): boolean {
    const { start, end } = localDayRange(date, this.options.timezone);
    return this.options.primarySeries.every((id) => {
      const s = series.find((x) => x.id === id);
      return s !== undefined && findGaps([...s.slots].sort((a, b) => a.start - b.start), start, end).length === 0;
    });
  }

  async poll(): Promise<JobRunResult> {
    const parts: string[] = [];
    let failure: unknown;
    for (const date of this.wantedDays()) {
      if (await this.isDone(date)) {
        parts.push(`${date}: complete`);
        continue;
      }
      try {
        parts.push(`${date}: ${await this.ingestDay(date)}`);
      } catch (error) {
        failure ??= error;
        parts.push(`${date}: ${errorMessage(error)}`);
      }
    }
    if (failure) throw new Error(`${this.name}: ${parts.join('; ')}`);
    return { summary: `${this.name}: ${parts.join('; ')}` };
  }

  /** Fills missing days of the last `backfillDays`, oldest first, pausing between requests. */
  async backfill(days = this.options.backfillDays): Promise<JobRunResult> {
    const today = localDate(this.deps.clock.now(), this.options.timezone);
    const filled: string[] = [];
    const unavailable: string[] = [];
    const failed: string[] = [];
    let first = true;
    for (let i = days; i >= 1 && !this.stopping.signal.aborted; i--) {
      const date = addDays(today, -i);
      if (await this.isDone(date)) continue;
      if (!first && this.options.backfillIntervalMs > 0) await sleepUnlessAborted(this.deps.clock, this.options.backfillIntervalMs, this.stopping.signal);
      if (this.stopping.signal.aborted) break;
      first = false;
      try {
        const outcome = await this.ingestDay(date);
        (this.days.get(date)?.state === 'not published yet' ? unavailable : filled).push(`${date} (${outcome})`);
      } catch (error) {
        failed.push(`${date}: ${errorMessage(error)}`);
      }
    }
    const parts = [
      filled.length ? `filled ${filled.join(', ')}` : '',
      unavailable.length ? `not available at the source: ${unavailable.join(', ')}` : '',
      failed.length ? `failed ${failed.join('; ')}` : '',
    ].filter(Boolean);
    const summary = `${this.name}: backfill of ${days} days: ${parts.join('; ') || 'nothing missing'}`;
    if (failed.length && !filled.length) throw new Error(summary);
    return { summary };
  }

  /**
   * Fetches and stores one local day; returns a summary. A payload is stored only when it is whole, valid and for
   * this day (`assertInsideDay`); parts that failed (`failures`) make the day failed, and the call throws.
   */
  async ingestDay(date: string): Promise<string> {
    const now = this.deps.clock.now();
    // The day asked for comes from the clock now: a clock not trusted when asking taints the answer even if the
    // answer's Date makes the clock trusted meanwhile (a 2002 day fetched before NTP stepped the clock).
    const untrustedWhenAsked = this.deps.clockUntrusted?.();
    this.stats.attempt(now);
    let result: DayResult;
    try {
      result = await this.options.fetchDay(date);
      if (result.kind === 'data') result = this.judgeEachSeries(date, result);
    } catch (error) {
      this.stats.errors++;
      this.recordFailure(date, error);
      throw error;
    }
    this.stats.lastSuccessAt = now;
    if (result.kind === 'not-published') {
      this.setDay(date, 'not published yet', `not published yet (${result.detail})`);
      this.tracker.set('ok', `reachable; ${date} not published yet`);
      return `not published yet (${result.detail})`;
    }
    // Fetched on a clock not known good: its "today" may be another day (a box booted in 2002 asks for 2002 and gets
    // it). The answer's Date has been weighed by the fetcher; nothing is stored as current until the clock is trusted.
    const untrusted = untrustedWhenAsked ?? this.deps.clockUntrusted?.();
    if (untrusted) {
      this.tracker.set('degraded', `fetched ${date}, not stored: wall clock not trusted (${untrusted})`, 'clock_untrusted');
      return `not stored: wall clock not trusted (${untrusted})`;
    }
    const counts: string[] = [];
    const written = result.series.filter((s) => s.slots.length);
    try {
      // The day's series in one batch: stored all or none, one fsync (the ES and PT prices of a day are one answer).
      if (written.length) await this.deps.store.writeMany(written.map((s) => ({ series: s.id, unit: s.unit, slots: s.slots })), { source: this.name, fetchedAt: now, replaceRange: true });
      for (const s of written) {
        const from = s.slots[0]!.start;
        const to = s.slots[s.slots.length - 1]!.end;
        this.deps.bus.emit('series.updated', { series: s.id, source: this.name, from, to, count: s.slots.length, fetchedAt: now });
        counts.push(`${s.id} ${s.slots.length}`);
      }
    } catch (error) {
      const failure = error instanceof GatewayError ? error : new StoreError(`store: ${errorMessage(error)}`, error);
      this.recordFailure(date, failure);
      throw failure;
    }
    const stored = counts.join(', ') || 'no values';
    if (result.failures?.length) {
      const first = result.failures[0]!.error;
      const message = `${result.failures.map((f) => `${f.what}: ${errorMessage(f.error)}`).join('; ')} (stored ${stored})`;
      const error = new GatewayError(first instanceof GatewayError ? first.code : 'plugin_failed', message, first instanceof GatewayError ? first.transient : false);
      this.recordFailure(date, error);
      throw error;
    }
    // The slots just written cover the day: complete without reading it back; otherwise the store says (other writes may fill it).
    const complete = this.coversDay(date, written) || (await this.isComplete(date));
    this.setDay(date, complete ? 'complete' : 'partial', stored);
    this.tracker.set('ok', `last fetch ${date}: ${stored}`);
    this.deps.bus.emit('source.status', { source: this.name, state: 'ok', message: `fetched ${date}` });
    return `${stored}${complete ? '' : ' (incomplete, will poll again)'}`;
  }

  /**
   * Each series is judged on its own: one whose values lie outside the asked day joins `failures` and the others are
   * stored; when no series is left and the source reported no failed pieces, the payload is refused whole (the first refusal
   * is thrown).
   */
  private judgeEachSeries(date: string, result: Extract<DayResult, { kind: 'data' }>): DayResult {
    const series: DaySeries[] = [];
    const failures = [...(result.failures ?? [])];
    for (const s of result.series) {
      try {
        assertInsideDay(this.name, s.id, date, this.options.timezone, s.slots);
        series.push(s);
      } catch (error) {
        failures.push({ what: s.id, error });
      }
    }
    // A payload that is wholly for another day is refused whole, as one error (pieces the source already failed keep their own report).
    if (!series.some((s) => s.slots.length) && failures.length && !result.failures?.length) throw failures[0]!.error;
    return { kind: 'data', series, failures };
  }

  private setDay(date: string, state: Exclude<DayOutcome['state'], 'failed'>, message: string): void {
    this.days.set(date, { state, at: this.deps.clock.now(), message, failures: 0 });
  }

  private recordFailure(date: string, error: unknown): void {
    const code = errorCode(error);
    const transient = error instanceof GatewayError ? error.transient : false;
    const previous = this.days.get(date);
    this.days.set(date, {
      state: 'failed',
      at: previous?.state === 'failed' ? previous.at : this.deps.clock.now(),
      message: errorMessage(error),
      code,
      transient,
      failures: (previous?.state === 'failed' ? previous.failures : 0) + 1,
    });
    const h = this.health();
    this.deps.bus.emit('source.status', { source: this.name, state: h.state, message: h.message });
    this.deps.log.warn({ date, code, transient, err: errorMessage(error) }, 'price fetch failed');
  }

  private isStale(): boolean {
    return this.stats.isStale(this.deps.clock.now(), this.options.staleAfterMs);
  }
}

