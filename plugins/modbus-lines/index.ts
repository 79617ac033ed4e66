import type { TimerHandle } from '../../gateway/clock.js';
import type { Config } from '../../gateway/config/schema.js';
import { errorMessage } from '../../gateway/errors.js';
import { HealthTracker, worst, type ComponentHealth } from '../../gateway/health.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/plugin.js';
import { closeModbus, connectModbus, type ModbusClient } from '../modbus-client.js';

type LineConfig = Config['lines'][number];

export const COMMAND_CODES = { idle: 0, run: 1, halt: 2 } as const;

export interface LineState {
  command: keyof typeof COMMAND_CODES;
  powerKw: number;
  validUntil: number;
}

/** What line `line` should do at `now` according to the plan (idle when the plan has nothing for it). */
export function lineStateAt(doc: PlanDocumentPayload | null, line: string, now: number, kwOf: (process: string) => number): LineState {
  const fallbackUntil = now + 15 * 60_000;
  if (!doc) return { command: 'idle', powerKw: 0, validUntil: fallbackUntil };
  const hour = doc.hours.find((h) => Date.parse(h.start) <= now && Date.parse(h.start) + 3_600_000 > now);
  const runs = doc.runs.filter((r) => r.line === line).map((r) => ({ ...r, s: Date.parse(r.start), e: Date.parse(r.end) }));
  const running = runs.find((r) => r.s <= now && r.e > now);
  const next = runs.filter((r) => r.s > now).sort((a, b) => a.s - b.s)[0];
  if (hour?.recommendation === 'Halt' && !running) return { command: 'halt', powerKw: 0, validUntil: Math.min(fallbackUntil * 4, next?.s ?? Infinity) };
  if (running) return { command: 'run', powerKw: kwOf(running.process), validUntil: running.e };
  return { command: 'idle', powerKw: 0, validUntil: next?.s ?? Date.parse(doc.horizon.end) };
}

/** One line's PLC: writes the plan's command, re-writes it as a watchdog with a heartbeat, verifies by reading back. */
class LineWriter {
  private client?: ModbusClient;
  private timer?: TimerHandle;
  private backoffMs = 0;
  private stopped = false;
  private heartbeat = 0;
  readonly tracker: HealthTracker;
  writes = 0;
  failures = 0;
  lastWritten: { state: LineState; heartbeat: number; at: number } | null = null;

  constructor(
    private readonly cfg: LineConfig,
    private readonly ctx: PluginContext,
    private readonly state: () => LineState,
    private readonly onFailure: (message: string) => void,
  ) {
    this.tracker = new HealthTracker(() => ctx.clock.now());
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await closeModbus(this.client);
  }

  /** Writes now (a new plan), then carries on with the watchdog period. */
  writeNow(): void {
    this.timer?.cancel();
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.timer = this.ctx.clock.setTimeout(() => void this.cycle(), ms);
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    try {
      // A line without a host talks to a PLC on this box, as before.
      if (!this.client?.isOpen) this.client = await connectModbus({ ...this.cfg, host: this.cfg.host ?? '127.0.0.1' }, `line ${this.cfg.line}`);
      await this.write(this.client, this.state());
      this.backoffMs = 0;
      this.schedule(this.cfg.watchdogMs);
    } catch (error) {
      this.failures++;
      await closeModbus(this.client).catch(() => undefined);
      this.backoffMs = Math.min(this.cfg.maxBackoffMs, Math.max(500, this.backoffMs * 2));
      const message = `line ${this.cfg.line}: write failed (${errorMessage(error)}); retrying in ${this.backoffMs} ms`;
      this.tracker.set('failed', message, 'plc_write_failed');
      this.onFailure(message);
      this.schedule(Math.min(this.backoffMs, this.cfg.watchdogMs));
    }
  }

  private async write(client: ModbusClient, state: LineState): Promise<void> {
    const r = this.cfg.registers;
    this.heartbeat = (this.heartbeat + 1) & 0xffff;
    const seconds = Math.floor(state.validUntil / 1000);
    const values: Array<[number, number]> = [
      [r.command, COMMAND_CODES[state.command]],
      [r.powerSetpoint, Math.round(state.powerKw * 10) & 0xffff],
      [r.validUntil, (seconds >>> 16) & 0xffff],
      [r.validUntil + 1, seconds & 0xffff],
      [r.heartbeat, this.heartbeat],
    ];
    for (const [address, value] of values) await client.writeRegisters(address, [value]);
    for (const [address, value] of values) {
      const got = (await client.readHoldingRegisters(address, 1)).data[0];
      if (got !== value) throw new Error(`read-back of register ${address} gave ${got}, wrote ${value}`);
    }
    this.writes++;
    this.lastWritten = { state, heartbeat: this.heartbeat, at: this.ctx.clock.now() };
    this.tracker.set('ok', `${state.command} ${state.powerKw} kW until ${new Date(state.validUntil).toISOString()}, heartbeat ${this.heartbeat}`);
  }
}

export function createModbusLines(ctx: PluginContext): Plugin & { writers(): Record<string, { writes: number; failures: number; lastWritten: unknown }> } {
  let doc: PlanDocumentPayload | null = null;
  const kwOf = (process: string) => ctx.config.planner.processes.find((p) => p.name === process)?.kw ?? 0;
  let lastAlert = 0;
  const writers = ctx.config.lines.map(
    (cfg) =>
      new LineWriter(
        cfg,
        ctx,
        () => lineStateAt(doc, cfg.line, ctx.clock.now(), kwOf),
        (message) => {
          const now = ctx.clock.now();
          if (now - lastAlert < 60_000) return;
          lastAlert = now;
          ctx.bus.emit('alert', { code: 'PLC_WRITE_FAILED', level: 'critical', message, at: now });
        },
      ),
  );
  return {
    name: 'modbus-lines',
    async start() {
      ctx.bus.on('plan.updated', 'modbus-lines', (e) => {
        doc = e.doc;
        for (const w of writers) w.writeNow();
      });
      for (const w of writers) w.start();
    },
    async stop() {
      ctx.bus.removeOwner('modbus-lines');
      await Promise.all(writers.map((w) => w.stop()));
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
      return Object.fromEntries(writers.map((w, i) => [ctx.config.lines[i]!.line, { writes: w.writes, failures: w.failures, lastWritten: w.lastWritten }]));
    },
  };
}

export const modbusLinesPlugin: PluginFactory = {
  name: 'modbus-lines',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.lines.length ? true : { enabled: false, reason: 'no lines configured (lines)' }),
  create: createModbusLines,
};
