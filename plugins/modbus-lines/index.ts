import { realClock, type Clock, type TimerHandle } from '../../gateway/time/clock.js';
import type { Config } from '../../gateway/config/schema.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker, worst, type ComponentHealth } from '../../gateway/util/health.js';
import { PAYLOAD_VERSION, topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { formatUtcIso } from '../../gateway/time/tz.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { closeModbus, connectModbus, preloadModbus, type ModbusClient } from '../../gateway/modbus/client.js';
import { outputModeOf, type OutputMode } from '../../gateway/core/output-mode.js';

type LineConfig = Config['lines'][number];

export const COMMAND_CODES = { idle: 0, run: 1, halt: 2 } as const;

export interface LineState {
  command: keyof typeof COMMAND_CODES;
  powerKw: number;
  validUntil: number;
  /** The plant-unique id of the batch the line runs now (null when it runs none). */
  batch: number | null;
}

/** What line `line` should do at `now` according to the plan (idle when the plan has nothing for it). */
export function lineStateAt(doc: PlanDocumentPayload | null, line: string, now: number, kwOf: (process: string) => number): LineState {
  const fallbackUntil = now + 15 * 60_000;
  if (!doc) return { command: 'idle', powerKw: 0, validUntil: fallbackUntil, batch: null };
  const hour = doc.hours.find((h) => Date.parse(h.start) <= now && Date.parse(h.start) + 3_600_000 > now);
  const runs = doc.runs.filter((r) => r.line === line).map((r) => ({ ...r, s: Date.parse(r.start), e: Date.parse(r.end) }));
  const running = runs.find((r) => r.s <= now && r.e > now);
  const next = runs.filter((r) => r.s > now).sort((a, b) => a.s - b.s)[0];
  if (hour?.recommendation === 'Halt' && !running) return { command: 'halt', powerKw: 0, validUntil: Math.min(fallbackUntil * 4, next?.s ?? Infinity), batch: null };
  if (running) return { command: 'run', powerKw: kwOf(running.process), validUntil: running.e, batch: running.batch };
  return { command: 'idle', powerKw: 0, validUntil: next?.s ?? Date.parse(doc.horizon.end), batch: null };
}

/** Consecutive failed cycles before a line is reported failed and PLC_WRITE_FAILED is raised (one slow answer is not a fault). */
export const FAILED_CYCLES_BEFORE_ALERT = 3;

/** What a line's retained `lines/<line>/state` says, and what its health says. */
export type LineWriterState = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped' | 'dry_run';

/** A cycle stopped between requests because a newer plan arrived (or the plugin stops): not a failure. */
class Superseded extends Error {}

/**
 * One line's PLC: writes the plan's command, re-writes it as a watchdog with a heartbeat, verifies by reading back.
 * One write cycle at a time: a newer plan while a cycle runs stops that cycle between two requests and the next
 * cycle writes the newer state at once; the read-back is compared with what this cycle wrote. The watchdog
 * period and the retry backoff run on device time (`deviceClock`), the plan's times on the gateway's clock.
 */
class LineWriter {
  private client?: ModbusClient;
  private timer?: TimerHandle;
  private backoffMs = 0;
  private stopped = false;
  private heartbeat = 0;
  private running = false;
  private superseded = false;
  private readonly deviceClock: Clock;
  readonly tracker: HealthTracker;
  writes = 0;
  failures = 0;
  consecutiveFailures = 0;
  /** Cycles stopped early for a newer plan. */
  supersededCycles = 0;
  /** Most cycles ever running at once on this line (1 when cycles never overlap). */
  maxConcurrentCycles = 0;
  private concurrentCycles = 0;
  lastWritten: { state: LineState; heartbeat: number; at: number } | null = null;
  /** Cycles that only computed (and read) what they would write: the write-nothing mode (outputs.dryRun). */
  dryCycles = 0;

  constructor(
    private readonly cfg: LineConfig,
    private readonly ctx: PluginContext,
    private readonly state: () => LineState,
    private readonly onFailure: (message: string) => void,
    private readonly onChange: (writer: LineWriter) => void,
    private readonly outputs: OutputMode,
  ) {
    this.tracker = new HealthTracker(() => ctx.clock.now());
    this.deviceClock = ctx.deviceClock ?? realClock;
  }

  get line(): string {
    return this.cfg.line;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await closeModbus(this.client);
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
    let next: number;
    try {
      // A line without a host talks to a PLC on this box, as before.
      if (!this.client?.isOpen) this.client = await connectModbus({ ...this.cfg, host: this.cfg.host ?? '127.0.0.1' }, `line ${this.cfg.line}`);
      if (this.outputs.dryRunFor(this.cfg.line)) await this.dryRun(this.client, this.state());
      else await this.write(this.client, this.state());
      this.backoffMs = 0;
      this.consecutiveFailures = 0;
      next = this.cfg.watchdogMs;
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
    this.schedule(this.superseded ? 0 : next);
  }

  /** Counts a failed cycle; returns the wait before the next one. */
  private async failed(error: unknown): Promise<number> {
    this.failures++;
    this.consecutiveFailures++;
    // A request that timed out may still be answered: a fresh connection never mistakes that answer for another's.
    await closeModbus(this.client).catch(() => undefined);
    this.backoffMs = Math.min(this.cfg.maxBackoffMs, Math.max(500, this.backoffMs * 2));
    if (this.outputs.dryRunFor(this.cfg.line)) {
      // Nothing is written in a dry run: a PLC that cannot be read is worth knowing before going live, not an alarm.
      this.tracker.set('degraded', `dry run: line ${this.cfg.line}: PLC not readable (${errorMessage(error)}); retrying in ${this.backoffMs} ms; nothing is written`, 'plc_unreachable');
      this.onChange(this);
      return Math.min(this.backoffMs, this.cfg.watchdogMs);
    }
    const message = `line ${this.cfg.line}: write failed (${errorMessage(error)}); retrying in ${this.backoffMs} ms`;
    if (this.consecutiveFailures >= FAILED_CYCLES_BEFORE_ALERT) {
      this.tracker.set('failed', `${message}; ${this.consecutiveFailures} cycles failed in a row`, 'plc_write_failed');
      this.onFailure(message);
    } else {
      this.tracker.set('degraded', message, 'plc_write_retrying');
    }
    this.onChange(this);
    return Math.min(this.backoffMs, this.cfg.watchdogMs);
  }

  /** The registers a write of `state` sets, in write order: [address, value, name]. */
  private registers(state: LineState, heartbeat: number): Array<[number, number, string]> {
    const r = this.cfg.registers;
    const seconds = Math.floor(state.validUntil / 1000);
    return [
      // The batch id first (uint32, high word first; 0 = no batch), when the line's register map has one: a PLC that
      // sees a run command already holds the batch it is for.
      ...(r.batch === undefined ? [] : ([[r.batch, ((state.batch ?? 0) >>> 16) & 0xffff, 'batch_hi'], [r.batch + 1, (state.batch ?? 0) & 0xffff, 'batch_lo']] as Array<[number, number, string]>)),
      [r.command, COMMAND_CODES[state.command], 'command'],
      [r.powerSetpoint, Math.round(state.powerKw * 10) & 0xffff, 'power_setpoint_kw_x10'],
      [r.validUntil, (seconds >>> 16) & 0xffff, 'valid_until_hi'],
      [r.validUntil + 1, seconds & 0xffff, 'valid_until_lo'],
      [r.heartbeat, heartbeat, 'heartbeat'],
    ];
  }

  /**
   * The write-nothing mode: what this cycle would write is recorded (and shown), nothing is sent. The PLC's
   * registers are read (a read changes nothing) so that commissioning sees the link works and what it holds.
   */
  private async dryRun(client: ModbusClient, state: LineState): Promise<void> {
    const registers = this.registers(state, (this.heartbeat + 1) & 0xffff);
    const holds: Record<string, number> = {};
    for (const [address, , name] of registers) {
      if (this.stopped || !this.outputs.dryRunFor(this.cfg.line)) throw new Superseded('the mode changed');
      holds[`${address} ${name}`] = (await client.readHoldingRegisters(address, 1)).data[0]!;
    }
    this.dryCycles++;
    const what = `${state.command} ${state.powerKw} kW until ${new Date(state.validUntil).toISOString()}`;
    const where = `${this.cfg.host ?? '127.0.0.1'}:${this.cfg.port} unit ${this.cfg.unitId}`;
    // The heartbeat is left out of the recorded values: it would make every watchdog cycle look like new content.
    this.outputs.wouldWrite('modbus', `line ${this.cfg.line} (${where})`, what, Object.fromEntries(registers.filter(([, , n]) => n !== 'heartbeat').map(([a, v, n]) => [`${a} ${n}`, v])), this.cfg.line);
    this.tracker.set('ok', `dry run: would write ${what} (registers ${registers.map(([a, v]) => `${a}=${v}`).join(', ')}); PLC holds ${Object.entries(holds).map(([k, v]) => `${k.split(' ')[0]}=${v}`).join(', ')}; nothing written`);
    this.onChange(this);
  }

  private async write(client: ModbusClient, state: LineState): Promise<void> {
    const heartbeat = (this.heartbeat = (this.heartbeat + 1) & 0xffff);
    const values = this.registers(state, heartbeat).map(([a, v]) => [a, v] as [number, number]);
    const betweenRequests = () => {
      if (this.superseded || this.stopped || this.outputs.dryRunFor(this.cfg.line)) throw new Superseded('a newer plan arrived');
    };
    for (const [address, value] of values) {
      betweenRequests();
      await client.writeRegisters(address, [value]);
    }
    for (const [address, value] of values) {
      betweenRequests();
      const got = (await client.readHoldingRegisters(address, 1)).data[0];
      if (got !== value) throw new Error(`read-back of register ${address} gave ${got}, wrote ${value}`);
    }
    this.writes++;
    this.lastWritten = { state, heartbeat, at: this.ctx.clock.now() };
    this.tracker.set('ok', `${state.command} ${state.powerKw} kW until ${new Date(state.validUntil).toISOString()}, heartbeat ${heartbeat}`);
    this.onChange(this);
  }
}

/**
 * The plan with the runs the quarter-hour guard (plugins/power-guard) moved later: each shift names a run by its
 * line and planned start, and moves its start and end (the guard moves only runs that have not begun).
 */
export function withGuardShifts(doc: PlanDocumentPayload | null, shifts: ReadonlyArray<{ line: string; runStart: number; shiftMs: number }>): PlanDocumentPayload | null {
  if (!doc || !shifts.length) return doc;
  const move = (iso: string, line: string, start: string) => {
    const s = shifts.find((x) => x.line === line && x.runStart === Date.parse(start));
    return s ? formatUtcIso(Date.parse(iso) + s.shiftMs) : iso;
  };
  return { ...doc, runs: doc.runs.map((r) => ({ ...r, start: move(r.start, r.line, r.start), end: move(r.end, r.line, r.start) })) };
}

export function createModbusLines(ctx: PluginContext): Plugin & { writers(): Record<string, { writes: number; failures: number; supersededCycles: number; maxConcurrentCycles: number; dryCycles: number; lastWritten: unknown }> } {
  let doc: PlanDocumentPayload | null = null;
  let shifts: Array<{ line: string; runStart: number; shiftMs: number }> = [];
  const kwOf = (process: string) => ctx.config.planner.processes.find((p) => p.name === process)?.kw ?? 0;
  const deviceClock = ctx.deviceClock ?? realClock;
  let lastAlert = -Infinity;
  const published = new Map<string, string>();
  let stopping = false;
  const outputs = outputModeOf(ctx);

  /** Republishes the retained line state when what it says changed (not at every heartbeat). */
  const publishState = (w: LineWriter, override?: 'stopped') => {
    const h = w.tracker.get();
    const state: LineWriterState = override ?? (h.state === 'disabled' ? 'stopped' : outputs.dryRunFor(w.line) && h.state === 'ok' ? 'dry_run' : (h.state as LineWriterState));
    const last = w.lastWritten;
    const written = last ? { command: last.state.command, power_kw: last.state.powerKw, valid_until: formatUtcIso(last.state.validUntil), at: formatUtcIso(last.at) } : null;
    const error = state === 'ok' ? null : h.message;
    const key = JSON.stringify([state, written?.command, written?.power_kw, written?.valid_until, error === null]);
    if (published.get(w.line) === key) return Promise.resolve();
    const previous = published.get(w.line);
    published.set(w.line, key);
    if (!previous || JSON.parse(previous)[0] !== state) ctx.bus.emit('line.state', { line: w.line, state, message: h.message });
    const now = ctx.clock.now();
    return ctx.mqtt
      .publish(topics.lineState(w.line), { v: PAYLOAD_VERSION, line: w.line, state, written, error, since: formatUtcIso(h.since ?? now), at: formatUtcIso(now) }, { retain: true })
      .catch((e: unknown) => ctx.log.warn({ line: w.line, err: errorMessage(e) }, 'line state not published'));
  };

  const writers = ctx.config.lines.map(
    (cfg) =>
      new LineWriter(
        cfg,
        ctx,
        () => lineStateAt(withGuardShifts(doc, shifts), cfg.line, ctx.clock.now(), kwOf),
        (message) => {
          // At most one alert a minute of device time, however fast the gateway's clock runs.
          const now = deviceClock.now();
          if (now - lastAlert < 60_000) return;
          lastAlert = now;
          ctx.bus.emit('alert', { code: 'PLC_WRITE_FAILED', level: 'critical', message, at: ctx.clock.now() });
        },
        (w) => {
          if (!stopping) void publishState(w);
        },
        outputs,
      ),
  );
  return {
    name: 'modbus-lines',
    async start() {
      if (writers.length) await preloadModbus();
      ctx.bus.on('plan.updated', 'modbus-lines', (e) => {
        doc = e.doc;
        for (const w of writers) w.writeNow();
      });
      ctx.bus.on('power.guard', 'modbus-lines', (e) => {
        const changed = JSON.stringify(e.shifts.map((x) => [x.line, x.runStart, x.shiftMs])) !== JSON.stringify(shifts.map((x) => [x.line, x.runStart, x.shiftMs]));
        shifts = e.shifts;
        if (changed) for (const w of writers) if (e.shifts.some((x) => x.line === w.line)) w.writeNow();
      });
      // Switching the write-nothing mode takes effect at once: off writes the plan now, on stops between two requests.
      ctx.bus.on('outputs.mode', 'modbus-lines', () => {
        for (const w of writers) w.writeNow();
      });
      for (const w of writers) w.start();
    },
    async stop() {
      stopping = true;
      ctx.bus.removeOwner('modbus-lines');
      await Promise.all(writers.map((w) => w.stop()));
      await Promise.all(writers.map((w) => publishState(w, 'stopped')));
    },
    health(): ComponentHealth {
      const states = writers.map((w) => w.tracker.get());
      return {
        state: states.length ? worst(states.map((s) => s.state)) : 'ok',
        message: states.map((s, i) => `${ctx.config.lines[i]!.line}: ${s.message}`).join('; ') || 'no lines',
        details: this.writers(),
      };
    },
    writers() {
      return Object.fromEntries(
        writers.map((w) => [w.line, { writes: w.writes, failures: w.failures, supersededCycles: w.supersededCycles, maxConcurrentCycles: w.maxConcurrentCycles, dryCycles: w.dryCycles, lastWritten: w.lastWritten }]),
      );
    },
  };
}

export const modbusLinesPlugin: PluginFactory = {
  name: 'modbus-lines',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.lines.length ? true : { enabled: false, reason: 'no lines configured (lines)' }),
  create: createModbusLines,
};
