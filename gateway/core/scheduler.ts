import { validate } from 'node-cron';
import { LocalCron } from './cron-local.js';

const MINUTE_MS = 60_000;
import type { Clock, TimerHandle } from '../time/clock.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { SeriesStore } from '../series/store.js';


export type JobOutcome = 'ok' | 'failed' | 'placeholder' | 'skipped-overlap' | 'skipped-stopped';

export interface JobDefinition {
  id: string;
  cron: string;
  enabled: boolean;
  /** Returns a short summary; throws on failure. */
  run?: () => Promise<string>;
  /** Set when nothing serves this job yet: it runs, does nothing, and says so. */
  placeholder?: string;
  /** Run once when the scheduler starts, whatever the persisted last run says. */
  runOnStart?: boolean;
  /** Jobs whose run this job's scheduled run waits for: a run still going, or one due at the same minute. */
  after?: string[];
}

export interface JobStatus {
  id: string;
  cron: string;
  enabled: boolean;
  paused: boolean;
  running: boolean;
  placeholder: string | null;
  runs: number;
  failures: number;
  skippedOverlaps: number;
  lastRun: { at: string; durationMs: number; outcome: JobOutcome; reason: RunReason; summary: string; error: string | null } | null;
  lastError: { at: string; message: string } | null;
  nextRun: string | null;
}

export type RunReason = 'scheduled' | 'manual' | 'startup' | 'missed';

interface JobState {
  def: JobDefinition;
  /** The expression fired once per local occurrence across DST (`LocalCron`). */
  matcher: LocalCron;
  timer?: TimerHandle;
  nextAt?: number;
  running?: Promise<JobOutcome>;
  /** A scheduled run from its timer until it ends, waiting for its `after` jobs included. */
  scheduled?: Promise<JobOutcome>;
  /** A manual trigger waiting for the run going on, then running: the triggers made meanwhile share it. */
  manual?: Promise<JobOutcome>;
  paused: boolean;
  runs: number;
  failures: number;
  skippedOverlaps: number;
  /** Runs skipped while the current run goes on: logged once when the first is skipped and once when it ends. */
  skippedDuringRun: number;
  lastRun: JobStatus['lastRun'];
  lastError: JobStatus['lastError'];
}

export class UnknownJobError extends Error {}

/** node-cron expressions evaluated in the plant's zone, once per local occurrence across DST (`LocalCron`), fired through the injected clock. */
export class Scheduler {
  private readonly jobs = new Map<string, JobState>();
  private started = false;
  private onFinished: (id: string, outcome: JobOutcome, durationMs: number, error?: string) => void = () => undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timezone: string,
    private readonly store?: SeriesStore,
  ) {}

  onJobFinished(listener: (id: string, outcome: JobOutcome, durationMs: number, error?: string) => void): void {
    this.onFinished = listener;
  }

  add(def: JobDefinition): void {
    if (!validate(def.cron)) throw new Error(`job ${def.id}: invalid cron expression ${JSON.stringify(def.cron)}`);
    if (this.jobs.has(def.id)) throw new Error(`job ${def.id} defined twice`);
    const matcher = new LocalCron(def.cron, this.timezone);
    this.jobs.set(def.id, { def, matcher, paused: false, runs: 0, failures: 0, skippedOverlaps: 0, skippedDuringRun: 0, lastRun: null, lastError: null });
  }

  async start(): Promise<void> {
    this.started = true;
    const catchUp: Array<[JobState, RunReason]> = [];
    for (const job of this.jobs.values()) {
      if (!job.def.enabled) continue;
      let persisted: number | undefined;
      let unreadable = false;
      try {
        persisted = await this.store?.getValue<number>(`job.${job.def.id}.lastRun`);
      } catch (e) {
        // A damaged store (a garbled table) must not stop the start: the job runs on its schedule, with no catch-up of
        // a run missed while stopped, and its status says why (the store's health carries the damage and the remedy).
        unreadable = true;
        job.lastError = { at: new Date(this.clock.now()).toISOString(), message: `last run unreadable, no catch-up of a run missed while stopped: ${errorMessage(e)}` };
        this.log.error({ job: job.def.id, err: errorMessage(e) }, 'job: last run unreadable from the store; it runs on its schedule');
      }
      const previous = this.previousFireTime(job, this.clock.now());
      if (job.def.runOnStart) catchUp.push([job, 'startup']);
      else if (persisted !== undefined && previous !== undefined && persisted < previous) catchUp.push([job, 'missed']);
      else if (persisted === undefined && !unreadable) await this.store?.setValue(`job.${job.def.id}.lastRun`, this.clock.now()).catch((e: unknown) => this.log.warn({ job: job.def.id, err: errorMessage(e) }, 'could not persist job run time'));
      this.arm(job, this.clock.now());
    }
    for (const [job, reason] of catchUp) {
      this.log.info({ job: job.def.id, reason }, 'running job at start');
      void this.execute(job, reason);
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const job of this.jobs.values()) {
      job.timer?.cancel();
      job.timer = undefined;
      job.nextAt = undefined;
    }
    await Promise.allSettled([...this.jobs.values()].flatMap((j) => [j.scheduled, j.running, j.manual]).filter(Boolean));
  }

  /**
   * Runs job `id` now and returns its status once that run has ended. "Now" means a run that starts after the call:
   * while a run of the job is going (scheduled or not), the trigger waits for it to end and then runs once more (its
   * result may be stale: it read its inputs before the call). Triggers made while one is waiting share that one run.
   * Throws `UnknownJobError` for an unknown id.
   */
  async trigger(id: string): Promise<JobStatus> {
    const job = this.require(id);
    if (!job.manual) {
      const manual = (async () => {
        // A scheduled run may start between two awaits: wait until the job is idle, then run.
        while (job.running) await job.running.catch(() => undefined);
        return this.execute(job, 'manual');
      })();
      job.manual = manual;
      void manual.finally(() => {
        if (job.manual === manual) job.manual = undefined;
      });
    }
    await job.manual;
    return this.statusOf(job);
  }

  pause(id: string): JobStatus {
    const job = this.require(id);
    job.paused = true;
    return this.statusOf(job);
  }

  resume(id: string): JobStatus {
    const job = this.require(id);
    job.paused = false;
    return this.statusOf(job);
  }

  status(): JobStatus[] {
    return [...this.jobs.values()].map((j) => this.statusOf(j));
  }

  private nextAfter(job: JobState, after: number): number | undefined {
    return job.matcher.next(after);
  }

  private previousFireTime(job: JobState, atOrBefore: number): number | undefined {
    return job.matcher.previous(atOrBefore);
  }

  private arm(job: JobState, after: number): void {
    if (!this.started) return;
    const next = this.nextAfter(job, after);
    job.nextAt = next;
    if (next === undefined) return;
    job.timer = this.clock.setTimeout(() => {
      job.timer = undefined;
      if (!this.started) return;
      // Timers run on monotonic time: one that fires while the wall clock still reads before its minute (the clock
      // was stepped back, or the wait was longer than a timer can hold) waits again for that minute.
      if (this.clock.now() < next - 1000) return this.arm(job, next - MINUTE_MS);
      if (!job.paused) void this.executeAfter(job, next);
      this.arm(job, next);
    }, next - this.clock.now());
  }

  /**
   * The wall clock jumped (`ClockTrust` compares it with monotonic time): every timer was armed for the old time, so
   * each job is armed again from the new one, and the log says so. Returns the jobs' new next runs.
   */
  rearm(reason: string): Array<{ id: string; nextRun: string | null }> {
    const now = this.clock.now();
    const out: Array<{ id: string; nextRun: string | null }> = [];
    for (const job of this.jobs.values()) {
      if (!job.def.enabled || !this.started) continue;
      job.timer?.cancel();
      job.timer = undefined;
      this.arm(job, now);
      out.push({ id: job.def.id, nextRun: job.nextAt !== undefined ? new Date(job.nextAt).toISOString() : null });
    }
    this.rearmed = { at: now, reason };
    this.log.warn({ reason, jobs: out }, 'wall clock jumped: every job re-armed from the new time');
    return out;
  }

  /** The last re-arm after a wall-clock jump, for health. */
  rearmed: { at: number; reason: string } | null = null;

  /** A scheduled run due at `at`: first the runs of its `after` jobs due at the same minute, then this one. */
  private executeAfter(job: JobState, at: number): Promise<JobOutcome> {
    const run = (async () => {
      for (const id of job.def.after ?? []) {
        const dep = this.jobs.get(id);
        if (!dep?.def.enabled || dep.paused) continue;
        if (!dep.scheduled && !dep.running && dep.nextAt === at && this.started) {
          // Its timer for the same minute has not fired yet (timers of one instant fire in any order): run it now instead.
          dep.timer?.cancel();
          dep.timer = undefined;
          void this.executeAfter(dep, at);
          this.arm(dep, at);
        }
        await (dep.scheduled ?? dep.running);
      }
      // The scheduler may have stopped while this run waited for the jobs it comes after.
      return this.started ? this.execute(job, 'scheduled') : 'skipped-stopped';
    })();
    job.scheduled = run;
    void run.finally(() => {
      if (job.scheduled === run) job.scheduled = undefined;
    });
    return run;
  }

  private async execute(job: JobState, reason: RunReason): Promise<JobOutcome> {
    if (job.running) {
      job.skippedOverlaps++;
      if (job.skippedDuringRun++ === 0) this.log.warn({ job: job.def.id, reason }, 'job still running; this run is skipped (further skips are counted until it ends)');
      return 'skipped-overlap';
    }
    const run = this.runOnce(job, reason);
    job.running = run;
    const startedAt = this.clock.now();
    try {
      return await run;
    } finally {
      job.running = undefined;
      if (job.skippedDuringRun > 1) this.log.warn({ job: job.def.id, skipped: job.skippedDuringRun, runMs: this.clock.now() - startedAt }, `job finished; ${job.skippedDuringRun} runs were skipped while it ran`);
      job.skippedDuringRun = 0;
    }
  }

  private async runOnce(job: JobState, reason: RunReason): Promise<JobOutcome> {
    const startedAt = this.clock.now();
    const realStart = performance.now();
    let outcome: JobOutcome = 'ok';
    let summary = '';
    let error: string | null = null;
    try {
      if (job.def.run) summary = await job.def.run();
      else {
        outcome = 'placeholder';
        summary = job.def.placeholder ?? 'no plugin serves this job';
      }
    } catch (e) {
      outcome = 'failed';
      error = errorMessage(e);
      job.failures++;
      job.lastError = { at: new Date(this.clock.now()).toISOString(), message: error };
      this.log.error({ job: job.def.id, err: error }, 'job failed');
    }
    const durationMs = Math.round(performance.now() - realStart);
    job.runs++;
    job.lastRun = { at: new Date(startedAt).toISOString(), durationMs, outcome, reason, summary, error };
    try {
      await this.store?.setValue(`job.${job.def.id}.lastRun`, startedAt);
    } catch (e) {
      this.log.warn({ job: job.def.id, err: errorMessage(e) }, 'could not persist job run time');
    }
    this.onFinished(job.def.id, outcome, durationMs, error ?? undefined);
    return outcome;
  }

  private statusOf(job: JobState): JobStatus {
    return {
      id: job.def.id,
      cron: job.def.cron,
      enabled: job.def.enabled,
      paused: job.paused,
      running: Boolean(job.running),
      placeholder: job.def.run ? null : (job.def.placeholder ?? 'no plugin serves this job'),
      runs: job.runs,
      failures: job.failures,
      skippedOverlaps: job.skippedOverlaps,
      lastRun: job.lastRun,
      lastError: job.lastError,
      nextRun: job.nextAt !== undefined && !job.paused ? new Date(job.nextAt).toISOString() : null,
    };
  }

  private require(id: string): JobState {
    const job = this.jobs.get(id);
    if (!job) throw new UnknownJobError(`no job named ${JSON.stringify(id)}; jobs: ${[...this.jobs.keys()].join(', ')}`);
    return job;
  }
}
