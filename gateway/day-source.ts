import type { Clock } from './clock.js';
import type { EventBus } from './bus.js';
import { GatewayError, errorCode, errorMessage } from './errors.js';
import { FetchStats, HealthTracker, type ComponentHealth } from './health.js';
import type { Logger } from './log.js';
import type { JobRunResult, Plugin, SeriesDescriptor } from './plugin.js';
import type { Slot, Unit } from './series.js';
import type { SeriesStore } from './store/series-store.js';
import { addDays, localDate, localDayRange, localParts } from './tz.js';

export interface DaySeries {
  id: string;
  unit: Unit;
  slots: Slot[];
}

/** What a source returns for one local day: its series, or `notPublished` when the day does not exist there yet. */
export type DayResult = { kind: 'data'; series: DaySeries[] } | { kind: 'not-published'; detail: string };

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

export interface DaySourceDeps {
  clock: Clock;
  log: Logger;
  bus: EventBus;
  store: SeriesStore;
}

/**
 * The ingestion engine shared by day-published price sources (REE, ESIOS, OMIE, replay):
 * poll today and D+1 from publication time until complete, backfill gaps day by day, write whole days
 * atomically, and keep an honest health record.
 */
export class DaySource implements Plugin {
  readonly name: string;
  private readonly tracker: HealthTracker;
  private readonly stats = new FetchStats();
  private stopping = false;
  private readonly lastDayStatus = new Map<string, string>();
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
    this.deps.bus.on('gateway.stopping', this.name, () => (this.stopping = true));
  }

  async stop(): Promise<void> {
    this.deps.bus.removeOwner(this.name);
  }

  health(): ComponentHealth {
    const h = this.tracker.get();
    return {
      ...h,
      details: {
        ...h.details,
        ...this.stats.details(),
        days: Object.fromEntries(this.lastDayStatus),
      },
    };
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

  async poll(): Promise<JobRunResult> {
    const parts: string[] = [];
    let failure: unknown;
    for (const date of this.wantedDays()) {
      if (await this.isComplete(date)) {
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
    for (let i = days; i >= 1 && !this.stopping; i--) {
      const date = addDays(today, -i);
      if (await this.isComplete(date)) continue;
      if (!first && this.options.backfillIntervalMs > 0) await this.deps.clock.sleep(this.options.backfillIntervalMs);
      first = false;
      try {
        const outcome = await this.ingestDay(date);
        (this.lastDayStatus.get(date) === 'not published yet' ? unavailable : filled).push(`${date} (${outcome})`);
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

  /** Fetches and stores one local day; returns a summary. The store changes only when the whole payload is valid. */
  async ingestDay(date: string): Promise<string> {
    const now = this.deps.clock.now();
    this.stats.attempt(now);
    let result: DayResult;
    try {
      result = await this.options.fetchDay(date);
    } catch (error) {
      this.stats.consecutiveFailures++;
      this.stats.errors++;
      const code = errorCode(error);
      const transient = error instanceof GatewayError ? error.transient : false;
      const state = this.isStale() ? 'failed' : 'degraded';
      const message = transient ? `unreachable, retrying: ${errorMessage(error)}` : errorMessage(error);
      this.tracker.set(state, message, code);
      this.lastDayStatus.set(date, `error: ${code}`);
      this.deps.bus.emit('source.status', { source: this.name, state, message });
      this.deps.log.warn({ date, code, transient, err: errorMessage(error) }, 'price fetch failed');
      throw error;
    }
    this.stats.consecutiveFailures = 0;
    this.stats.lastSuccessAt = now;
    if (result.kind === 'not-published') {
      this.lastDayStatus.set(date, 'not published yet');
      this.tracker.set('ok', `reachable; ${date} not published yet`);
      return `not published yet (${result.detail})`;
    }
    const counts: string[] = [];
    for (const s of result.series) {
      if (!s.slots.length) continue;
      await this.deps.store.write(s.id, s.unit, s.slots, { source: this.name, fetchedAt: now, replaceRange: true });
      const from = s.slots[0]!.start;
      const to = s.slots[s.slots.length - 1]!.end;
      this.deps.bus.emit('series.updated', { series: s.id, source: this.name, from, to, count: s.slots.length, fetchedAt: now });
      counts.push(`${s.id} ${s.slots.length}`);
    }
    const complete = await this.isComplete(date);
    this.lastDayStatus.set(date, complete ? 'complete' : 'partial');
    this.tracker.set('ok', `last fetch ${date}: ${counts.join(', ') || 'no values'}`);
    this.deps.bus.emit('source.status', { source: this.name, state: 'ok', message: `fetched ${date}` });
    return `${counts.join(', ') || 'no values'}${complete ? '' : ' (incomplete, will poll again)'}`;
  }

  private isStale(): boolean {
    return this.stats.isStale(this.deps.clock.now(), this.options.staleAfterMs);
  }
}

