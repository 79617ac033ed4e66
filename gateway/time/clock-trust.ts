import { execFile } from 'node:child_process';
import type { Clock, TimerHandle } from './clock.js';

/**
 * The gateway's source is no older than this (the release it belongs to): a wall clock before it is wrong, whatever
 * else says so (an edge box without a battery-backed clock boots in 1970 or 2000, or on its last shutdown time).
 */
export const BUILD_NOT_BEFORE = Date.parse('2026-12-01T00:00:00Z');

/** A step of the wall clock against monotonic time: when (wall time after the step) and by how much (ms, + forward). */
export interface ClockStep {
  at: number;
  stepMs: number;
  /** Wall time just before the step, as the clock read then. */
  before: number;
}

export type ClockTrustState = { trusted: true; how: string } | { trusted: false; why: string };

export interface ClockTrustOptions {
  /** The wall clock under watch (the gateway's `clock`). */
  wall: Clock;
  /** Monotonic time (device time): `now()` never jumps; its timers run on it. */
  mono: Clock;
  /** Whether the system reports its clock synchronised (NTP): true, false, or undefined when it cannot say. */
  systemSynchronised?: () => Promise<boolean | undefined>;
  notBefore?: number;
  /** How often wall and monotonic time are compared, ms of monotonic time. */
  checkEveryMs?: number;
  /** A change of (wall − monotonic) larger than this is a step. */
  stepThresholdMs?: number;
  /** How far a server's `Date` may be from the wall clock and still agree (`Date` has 1 s resolution; transit). */
  serverToleranceMs?: number;
  /** Take the wall clock as it is (config `clock.verify: false`): trusted unless it reads before the release. */
  assumeGood?: boolean;
  onStep?: (step: ClockStep) => void;
  onTrustChange?: (state: ClockTrustState) => void;
}

/** `timedatectl show -p NTPSynchronized --value` (systemd-timesyncd, chrony, ntpd all set it): yes/no, or undefined without systemd. */
export function timedatectlSynchronised(): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      const v = stdout.trim();
      resolve(v === 'yes' ? true : v === 'no' ? false : undefined);
    });
  });
}

/**
 * Watches the wall clock an edge box cannot take for granted:
 * - a step (NTP setting a clock that booted wrong, an operator's `date -s`) is found by comparing wall and monotonic
 *   time every `checkEveryMs`, reported (`onStep`, `steps`) so that schedules re-arm;
 * - the clock is trusted only once it is known good: the system says it is synchronised, or it agrees (within
 *   `serverToleranceMs`) with the `Date` of a server the gateway talks to; and never while it reads before the
 *   gateway's own release (`notBefore`). A server `Date` far from the clock, or a step, withdraws the trust until
 *   it is known good again.
 */
export class ClockTrust {
  private state: ClockTrustState = { trusted: false, why: 'not checked yet' };
  private offset: number;
  private timer?: TimerHandle;
  private stopped = false;
  readonly steps: ClockStep[] = [];
  /** Values stored before a backward step that now lie in the future (stamped by the wrong clock): flagged, not trusted. */
  futureDated: Array<{ series: string; count: number; from: string; step: string }> = [];
  private lastServer: { host: string; dateMs: number; diffMs: number; at: number } | null = null;
  private readonly o: Required<Omit<ClockTrustOptions, 'onStep' | 'onTrustChange' | 'systemSynchronised'>> & Pick<ClockTrustOptions, 'onStep' | 'onTrustChange' | 'systemSynchronised'>;

  constructor(options: ClockTrustOptions) {
    this.o = { notBefore: BUILD_NOT_BEFORE, checkEveryMs: 2000, stepThresholdMs: 5000, serverToleranceMs: 120_000, assumeGood: false, ...options };
    this.offset = this.o.wall.now() - this.o.mono.now();
  }

  async start(): Promise<void> {
    await this.evaluate();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  trusted(): boolean {
    return this.state.trusted;
  }

  /** Why the clock is not trusted, or how it was found good. */
  get current(): ClockTrustState {
    return this.state;
  }

  /** A server's `Date` header (ms) on an answer the gateway got: evidence for or against the wall clock. */
  observeServerDate(host: string, dateMs: number): void {
    if (!Number.isFinite(dateMs)) return;
    const now = this.o.wall.now();
    const diffMs = now - dateMs;
    this.lastServer = { host, dateMs, diffMs, at: now };
    if (now < this.o.notBefore) return this.set({ trusted: false, why: this.beforeBuild(now) });
    if (this.o.assumeGood) return;
    if (Math.abs(diffMs) <= this.o.serverToleranceMs) {
      if (!this.state.trusted) this.set({ trusted: true, how: `agrees with the Date of ${host} (${Math.round(diffMs / 1000)} s)` });
    } else {
      this.set({ trusted: false, why: `the wall clock is ${describeMs(diffMs)} ${diffMs > 0 ? 'ahead of' : 'behind'} the Date of ${host}` });
    }
  }

  /** Compares wall and monotonic time now; a step is recorded and reported, and the trust is checked again. */
  async check(): Promise<ClockStep | undefined> {
    const wall = this.o.wall.now();
    const offset = wall - this.o.mono.now();
    const stepMs = offset - this.offset;
    this.offset = offset;
    let step: ClockStep | undefined;
    if (Math.abs(stepMs) > this.o.stepThresholdMs) {
      step = { at: wall, stepMs, before: wall - stepMs };
      this.steps.push(step);
      if (this.steps.length > 20) this.steps.shift();
      // What made the clock trusted (a server's Date, the system) spoke of the clock before the step.
      this.set({ trusted: false, why: `the wall clock stepped ${describeMs(stepMs)} ${stepMs > 0 ? 'forward' : 'back'}; checking it again` });
      this.o.onStep?.(step);
    }
    await this.evaluate();
    return step;
  }

  /** Health: ok when trusted, degraded (with what is held back) when not, with the steps seen. */
  health(): { state: 'ok' | 'degraded'; message: string; code?: string; details: Record<string, unknown> } {
    const details = {
      trusted: this.state.trusted,
      wall: new Date(this.o.wall.now()).toISOString(),
      notBefore: new Date(this.o.notBefore).toISOString(),
      lastServerDate: this.lastServer ? { host: this.lastServer.host, date: new Date(this.lastServer.dateMs).toISOString(), diffS: Math.round(this.lastServer.diffMs / 1000) } : null,
      steps: this.steps.map((s) => ({ at: new Date(s.at).toISOString(), before: new Date(s.before).toISOString(), stepS: Math.round(s.stepMs / 1000) })),
      futureDated: this.futureDated,
    };
    const flagged = this.futureDated.length ? `; ${this.futureDated.reduce((n, f) => n + f.count, 0)} values stamped by the wrong clock lie in the future (${this.futureDated.map((f) => f.series).join(', ')}): flagged` : '';
    if (this.state.trusted) return { state: flagged ? 'degraded' : 'ok', message: `wall clock trusted: ${this.state.how}${flagged}`, ...(flagged ? { code: 'clock_future_dated' } : {}), details };
    return {
      state: 'degraded',
      code: 'clock_untrusted',
      message: `wall clock not trusted: ${this.state.why}; polling goes on, but nothing is planned and no price or reading is stored as current until it is known good${flagged}`,
      details,
    };
  }

  private async evaluate(): Promise<void> {
    const now = this.o.wall.now();
    if (now < this.o.notBefore) return this.set({ trusted: false, why: this.beforeBuild(now) });
    if (this.o.assumeGood) return this.set({ trusted: true, how: 'taken as it is (clock.verify: false)' });
    const synced = await this.o.systemSynchronised?.().catch(() => undefined);
    if (synced === true) return this.set({ trusted: true, how: 'the system reports it synchronised (NTP)' });
    if (this.state.trusted) return;
    if (this.state.why === 'not checked yet' || /release|stepped/.test(this.state.why)) {
      this.set({ trusted: false, why: synced === false ? 'the system reports it not synchronised (NTP) and no server Date has confirmed it yet' : 'no NTP status from the system and no server Date has confirmed it yet' });
    }
  }

  private beforeBuild(now: number): string {
    return `it reads ${new Date(now).toISOString()}, before this gateway's release (${new Date(this.o.notBefore).toISOString().slice(0, 10)})`;
  }

  private set(state: ClockTrustState): void {
    const changed = state.trusted !== this.state.trusted || (state.trusted ? '' : state.why) !== (this.state.trusted ? '' : this.state.why);
    this.state = state;
    if (changed) this.o.onTrustChange?.(state);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.mono.setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.o.checkEveryMs);
  }
}

function describeMs(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 86_400_000) return `${(a / 86_400_000).toFixed(1)} days`;
  if (a >= 3_600_000) return `${(a / 3_600_000).toFixed(1)} h`;
  if (a >= 60_000) return `${(a / 60_000).toFixed(1)} min`;
  return `${(a / 1000).toFixed(1)} s`;
}
