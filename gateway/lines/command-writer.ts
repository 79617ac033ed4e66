import { realClock, type Clock, type TimerHandle } from '../time/clock.js';
import { formatUtcIso } from '../time/tz.js';
import { errorMessage } from '../util/errors.js';
import { HealthTracker, type LastFault } from '../util/health.js';
import type { OutputMode, WouldWrite } from '../core/output-mode.js';
import { describeLineState, type LineState } from './line-state.js';

/** Consecutive failed cycles before a line is reported failed and PLC_WRITE_FAILED is raised (one slow answer is not a fault). */
export const FAILED_CYCLES_BEFORE_ALERT = 3;

/** What a line's retained `lines/<line>/state` says, and what its health says. */
export type LineWriterState = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped' | 'dry_run';

/** A cycle stopped between requests because a newer plan arrived (or the writer stops, or the mode changed): not a failure. */
export class Superseded extends Error {}

/** The checks a transport calls between two requests of a cycle; each throws {@link Superseded} to stop the cycle there. */
export interface CycleGuard {
  /** Before each request of a write: a newer plan arrived, the writer stops or the line went into the write-nothing mode. */
  beforeWrite(): void;
  /**
   * Between the reads of a write-nothing cycle: the writer stops or the line left the write-nothing mode; with
   * `orNewerPlan` also when a newer plan arrived.
   */
  dryRunGoesOn(opts?: { orNewerPlan?: boolean }): void;
}

/** What a write-nothing cycle would have sent, as the transport read and described it. */
export interface DryRunReport {
  via: WouldWrite['via'];
  /** `line conche-1 (127.0.0.1:502 unit 1)`. */
  target: string;
  /** Short text of what would be written. */
  what: string;
  /** Register/node → value that would be written, the heartbeat left out (it would make every watchdog cycle new content). */
  values: Record<string, unknown>;
  /** The health message: what would be written and what the PLC holds now. */
  message: string;
}

/**
 * How one line's PLC is reached: the protocol part of a line command writer (Modbus registers, OPC UA variables or a
 * method). The writer decides when and what; the transport only talks to the PLC. Errors it throws are failed
 * cycles, except {@link Superseded} from the guard.
 */
export interface LineTransport {
  /** Opens the link when it is not open (nothing to do on a live one); throws when the PLC cannot be reached. */
  connect(): Promise<void>;
  /** Sends `state` with `heartbeat` (0..65535), calling `guard.beforeWrite()` before each request. */
  writeState(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void>;
  /** Reads back what {@link writeState} wrote, calling `guard.beforeWrite()` before each request; throws on a difference. */
  readBack(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void>;
  /** The write-nothing mode: reads what the PLC holds (a read changes nothing) and says what a write of `state` would send. */
  dryRun(state: LineState, heartbeat: number, guard: CycleGuard): Promise<DryRunReport>;
  /** A failed cycle's fault: the message, and the code (null: the writer's plc_unreachable / plc_write_retrying / plc_write_failed). */
  fault(error: unknown): { code: string | null; message: string };
  /** Drops the link: after a failed cycle (a fresh one never mistakes a late answer for another's) and at stop. */
  close(): Promise<void>;
}

/** The part of a line's configuration the writer needs. */
export interface LineWriterConfig {
  line: string;
  /** Rewrite period (device time, ms): the PLC falls back safely when the heartbeat stops. */
  watchdogMs: number;
  /** Longest wait between two cycles after failures (device time, ms). */
  maxBackoffMs: number;
}

export interface LineWriterDeps {
  /** The gateway's clock: the plan's times and the stamps. */
  clock: Clock;
  /** Device (monotonic) time for the watchdog and the backoff; real time when not given. */
  deviceClock?: Clock;
  /** The write-nothing mode (outputs.dryRun) the writer follows line by line. */
  outputs: Pick<OutputMode, 'dryRunFor' | 'wouldWrite'>;
  /** What the line should do now (the plan, at the gateway's clock). */
  state: () => LineState;
  /** Called with the message when {@link FAILED_CYCLES_BEFORE_ALERT} cycles in a row failed, and at each failure after. */
  onFailure: (message: string) => void;
  /** Called when the writer's health or last write changed. */
  onChange: (writer: LineCommandWriter) => void;
}

/**
 * One line's PLC: writes the plan's command, rewrites it every `watchdogMs` of device time (cycle start to cycle
 * start, whatever the PLC's answer time) with the heartbeat + 1
 * (a PLC that sees the heartbeat stop falls back safely), verifies by reading back. The promises, whatever the
 * protocol: one write cycle at a time; a newer plan while a cycle runs stops that cycle between two requests
 * (counted in `supersededCycles`, not a failure) and the next cycle writes the newer state at once, except once a
 * watchdog period has passed without a verified write: then the cycle finishes, so that plans arriving faster than
 * a cycle never starve the PLC of its heartbeat, and the newer state follows at once; the read-back
 * is compared with what this cycle wrote; a failure backs off (doubling from 500 ms up to `maxBackoffMs`, at most
 * `watchdogMs`) and {@link FAILED_CYCLES_BEFORE_ALERT} failed cycles in a row make the line `failed` and call
 * `onFailure` (PLC_WRITE_FAILED). In the write-nothing mode a cycle writes nothing: it reads the PLC and records
 * what it would write. The watchdog period and the backoff run on device time, the plan's times on the gateway's clock.
 */
export class LineCommandWriter<T extends LineTransport = LineTransport> {
  private timer?: TimerHandle;
  private backoffMs = 0;
  private stopped = false;
  private heartbeat = 0;
  private running = false;
  private superseded = false;
  /** Device time of the last verified write (or of the start). */
  private lastVerifiedAt = 0;
  private concurrentCycles = 0;
  private readonly deviceClock: Clock;
  private readonly guard: CycleGuard;
  readonly tracker: HealthTracker;
  writes = 0;
  failures = 0;
  consecutiveFailures = 0;
  /** Cycles stopped early for a newer plan. */
  supersededCycles = 0;
  /** Most cycles ever running at once on this line (1 when cycles never overlap). */
  maxConcurrentCycles = 0;
  lastWritten: { state: LineState; heartbeat: number; at: number } | null = null;
  lastFault: LastFault | null = null;
  /** Cycles that only computed (and read) what they would write: the write-nothing mode (outputs.dryRun). */
  dryCycles = 0;
  /** The last finished cycle wrote and read back (not failed, not a write-nothing cycle): the PLC verifiably holds the plan. */
  verified = false;

  constructor(
    private readonly cfg: LineWriterConfig,
    readonly transport: T,
    private readonly deps: LineWriterDeps,
  ) {
    this.tracker = new HealthTracker(() => deps.clock.now());
    this.deviceClock = deps.deviceClock ?? realClock;
    const dry = () => deps.outputs.dryRunFor(cfg.line);
    this.guard = {
      beforeWrite: () => {
        if (this.stopped || dry()) throw new Superseded('the writer stops or the write-nothing mode went on');
        // Plans faster than a cycle (a slow PLC, re-plans in a burst) would stop every cycle: no heartbeat would reach
        // the PLC and it would fall back. Once a watchdog period has passed without a verified write, the cycle goes on.
        if (this.superseded && !this.heartbeatOverdue()) throw new Superseded('a newer plan arrived');
      },
      dryRunGoesOn: (opts) => {
        if (this.stopped || (opts?.orNewerPlan && this.superseded) || !dry()) throw new Superseded('the mode changed');
      },
    };
  }

  get line(): string {
    return this.cfg.line;
  }

  start(): void {
    this.lastVerifiedAt = this.deviceClock.now();
    this.schedule(0);
  }

  /** A watchdog period of device time has passed since the last verified write (or the start) without another. */
  private heartbeatOverdue(): boolean {
    return this.deviceClock.now() - this.lastVerifiedAt >= this.cfg.watchdogMs;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.transport.close();
  }

  /** A new plan: write it now if idle; a running cycle stops between requests and the new state follows at once. */
  writeNow(): void {
    if (this.running) {
      this.superseded = true;
      return;
    }
    this.timer?.cancel();
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.timer = this.deviceClock.setTimeout(() => void this.cycle(), ms);
  }

  private async cycle(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.superseded = false;
    this.concurrentCycles++;
    this.maxConcurrentCycles = Math.max(this.maxConcurrentCycles, this.concurrentCycles);
    const startedAt = this.deviceClock.now();
    let next: number;
    try {
      await this.transport.connect();
      if (this.deps.outputs.dryRunFor(this.cfg.line)) await this.dryRun(this.deps.state());
      else await this.write(this.deps.state());
      this.backoffMs = 0;
      this.consecutiveFailures = 0;
      // The watchdog period runs from cycle start to cycle start: a slow PLC's cycle time is not added to it (a
      // 4 s cycle with watchdogMs 2000 rewrote every 6 s), and a cycle longer than the period is followed at once.
      next = Math.max(0, this.cfg.watchdogMs - (this.deviceClock.now() - startedAt));
    } catch (error) {
      if (error instanceof Superseded || this.stopped) {
        this.supersededCycles++;
        next = 0;
      } else {
        next = await this.failed(error);
      }
    } finally {
      this.concurrentCycles--;
      this.running = false;
    }
    // stop() came while this cycle was opening the link: close what it opened (an OPC UA session held on the PLC,
    // a socket keeping the process alive), since stop() closed the link before it existed.
    if (this.stopped) await this.transport.close().catch(() => undefined);
    this.schedule(this.superseded ? 0 : next);
  }

  /** Counts a failed cycle; returns the wait before the next one. */
  private async failed(error: unknown): Promise<number> {
    this.failures++;
    this.consecutiveFailures++;
    this.verified = false;
    const fault = this.transport.fault(error);
    // A request that timed out may still be answered: a fresh connection never mistakes that answer for another's.
    await this.transport.close().catch(() => undefined);
    this.backoffMs = Math.min(this.cfg.maxBackoffMs, Math.max(500, this.backoffMs * 2));
    const label = `line ${this.cfg.line}`;
    const dry = this.deps.outputs.dryRunFor(this.cfg.line);
    const failed = !dry && this.consecutiveFailures >= FAILED_CYCLES_BEFORE_ALERT;
    const code = fault.code ?? (dry ? 'plc_unreachable' : failed ? 'plc_write_failed' : 'plc_write_retrying');
    this.lastFault = { code, message: fault.message, at: formatUtcIso(this.deps.clock.now()) };
    if (dry) {
      // Nothing is written in a dry run: a PLC that cannot be read is worth knowing before going live, not an alarm.
      this.tracker.set('degraded', `dry run: ${label}: PLC not readable (${fault.message}); retrying in ${this.backoffMs} ms; nothing is written`, code);
    } else {
      const message = `${label}: write failed (${fault.message}); retrying in ${this.backoffMs} ms`;
      if (failed) {
        this.tracker.set('failed', `${message}; ${this.consecutiveFailures} cycles failed in a row`, code);
        this.deps.onFailure(message);
      } else {
        this.tracker.set('degraded', message, code);
      }
    }
    this.deps.onChange(this);
    return Math.min(this.backoffMs, this.cfg.watchdogMs);
  }

  /** The write-nothing mode: what this cycle would write is recorded (and shown), nothing is sent; the PLC is read. */
  private async dryRun(state: LineState): Promise<void> {
    const report = await this.transport.dryRun(state, (this.heartbeat + 1) & 0xffff, this.guard);
    this.dryCycles++;
    this.verified = false;
    this.deps.outputs.wouldWrite(report.via, report.target, report.what, report.values, this.cfg.line);
    this.tracker.set('ok', report.message);
    this.deps.onChange(this);
  }

  private async write(state: LineState): Promise<void> {
    const heartbeat = (this.heartbeat = (this.heartbeat + 1) & 0xffff);
    await this.transport.writeState(state, heartbeat, this.guard);
    await this.transport.readBack(state, heartbeat, this.guard);
    this.writes++;
    this.verified = true;
    this.lastVerifiedAt = this.deviceClock.now();
    this.lastWritten = { state, heartbeat, at: this.deps.clock.now() };
    this.tracker.set('ok', `${describeLineState(state)}, heartbeat ${heartbeat}`);
    this.deps.onChange(this);
  }
}

/** A failure's message as the writer shows it, for transports without their own fault codes. */
export function plainFault(error: unknown): { code: null; message: string } {
  return { code: null, message: errorMessage(error) };
}
