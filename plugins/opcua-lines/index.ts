import { realClock, type Clock, type TimerHandle } from '../../gateway/time/clock.js';
import type { Config } from '../../gateway/config/schema.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker, worst, type ComponentHealth } from '../../gateway/util/health.js';
import { PAYLOAD_VERSION, topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { formatUtcIso } from '../../gateway/time/tz.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { NamespaceMissing, parseUriNodeId, resolveNodeId } from '../../gateway/opcua/node-id.js';
import { loadOpcua, OpcuaFault, openSession, type OpcuaModules, type OpcuaSession } from '../../gateway/opcua/session.js';
import { COMMAND_CODES, FAILED_CYCLES_BEFORE_ALERT, lineStateAt, withGuardShifts, type LineState } from '../modbus-lines/index.js';
import { opcuaPkiDir } from '../opcua-sensors/index.js';
import { outputModeOf, type OutputMode } from '../../gateway/core/output-mode.js';

type LineConfig = Config['opcua']['lines'][number];
const ROLES = ['command', 'powerSetpoint', 'validUntil', 'heartbeat'] as const;
type Role = (typeof ROLES)[number];

/** A cycle stopped between requests because a newer plan arrived (or the plugin stops): not a failure. */
class Superseded extends Error {}

/** The variables of one line on the current session: resolved node id and built-in data type (DataType enum name). */
interface Resolved {
  nodes: Record<Role, { nodeId: string; dataType: string }>;
  method?: { objectId: string; methodId: string; argTypes: string[] };
}

const INTEGER = /^(S?Byte|U?Int(16|32|64))$/;

/**
 * One line's PLC over OPC UA: the plan's command, power setpoint and valid-until written to PLC variables (or passed
 * to a method), then read back and compared; rewritten every `watchdogMs` of device time with the heartbeat + 1, so
 * a PLC that sees the heartbeat stop falls back safely. The same promises as the Modbus lines: one write cycle at a
 * time, a newer plan stops a running cycle between two requests, three failed cycles in a row raise PLC_WRITE_FAILED.
 * In the write-nothing mode (`outputs.dryRun`, or this line's `dryRun`) a cycle writes and calls nothing: it reads
 * the variables (the session, node ids and data types are checked as live) and records what it would write.
 */
class OpcuaLineWriter {
  private session?: OpcuaSession;
  private resolved?: Resolved;
  private lostFault?: OpcuaFault;
  private knownThumbprint: string | null = null;
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
  supersededCycles = 0;
  maxConcurrentCycles = 0;
  sessions = 0;
  private concurrentCycles = 0;
  lastWritten: { state: LineState; heartbeat: number; at: number } | null = null;
  lastFault: { code: string; message: string; at: string } | null = null;
  /** Cycles that only computed (and read) what they would write: the write-nothing mode (outputs.dryRun). */
  dryCycles = 0;

  constructor(
    private readonly cfg: LineConfig,
    private readonly ctx: PluginContext,
    private readonly pkiDir: string,
    private readonly state: () => LineState,
    private readonly onFailure: (message: string) => void,
    private readonly onChange: (writer: OpcuaLineWriter) => void,
    private readonly outputs: OutputMode,
  ) {
    this.tracker = new HealthTracker(() => ctx.clock.now());
    this.deviceClock = ctx.deviceClock ?? realClock;
  }

  get line(): string {
    return this.cfg.line;
  }

  get label(): string {
    return `line ${this.cfg.line}`;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.session?.close();
  }

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
      const m = await loadOpcua(this.ctx.log);
      if (this.lostFault) throw this.lostFault;
      if (!this.session) await this.connect(m);
      if (this.outputs.dryRunFor(this.cfg.line)) await this.dryRun(m, this.session!, this.resolved!, this.state());
      else await this.write(m, this.session!, this.resolved!, this.state());
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

  /** A fresh session, its namespaces read, every node id resolved by URI and each variable's data type read. */
  private async connect(m: OpcuaModules): Promise<void> {
    const s = await openSession(m, this.cfg, { pkiDir: this.pkiDir, label: this.label, knownThumbprint: this.knownThumbprint, log: this.ctx.log });
    this.sessions++;
    if (s.serverThumbprint) this.knownThumbprint = s.serverThumbprint;
    this.session = s;
    void s.lost.then((fault) => {
      if (this.session === s) this.lostFault = fault;
    });
    const resolve = (text: string) => {
      try {
        return resolveNodeId(parseUriNodeId(text), s.namespaces);
      } catch (error) {
        throw new OpcuaFault(error instanceof NamespaceMissing ? 'namespace_missing' : 'node_missing', `${this.label}: ${text}: ${errorMessage(error)}`);
      }
    };
    const ids = ROLES.map((r) => resolve(this.cfg.nodes[r]));
    const { AttributeIds, DataType } = m.client;
    const types = await s.session.read(ids.map((nodeId) => ({ nodeId, attributeId: AttributeIds.DataType })));
    const nodes = {} as Resolved['nodes'];
    ROLES.forEach((role, i) => {
      const dv = types[i]!;
      if (dv.statusCode.isNotGood()) {
        throw new OpcuaFault(/BadNodeIdUnknown/.test(dv.statusCode.name) ? 'node_missing' : 'bad_status', `${this.label}: ${role} ${this.cfg.nodes[role]}: ${dv.statusCode.name}${/BadNodeIdUnknown/.test(dv.statusCode.name) ? ' (not on the PLC: removed by a download?)' : ''}`);
      }
      const typeId = dv.value.value as { namespace: number; value: unknown };
      // Built-in types are ns=0 i=1..25; an enumeration (or a PLC's own type) is written as its Int32 value.
      const name = typeId.namespace === 0 && typeof typeId.value === 'number' && typeId.value <= 25 ? DataType[typeId.value] : 'Int32';
      const numeric = name !== undefined && (INTEGER.test(name) || name === 'Float' || name === 'Double' || name === 'Boolean');
      if (!numeric && !(role === 'validUntil' && name === 'DateTime')) throw new OpcuaFault('wrong_type', `${this.label}: ${role} ${this.cfg.nodes[role]} is of type ${name}, expected a number${role === 'validUntil' ? ' or a DateTime' : ''}`);
      nodes[role] = { nodeId: ids[i]!, dataType: name! };
    });
    let method: Resolved['method'];
    if (this.cfg.method) {
      const objectId = resolve(this.cfg.method.objectId);
      const methodId = resolve(this.cfg.method.methodId);
      const args = await s.session.getArgumentDefinition(methodId).catch((error: unknown) => {
        throw new OpcuaFault('node_missing', `${this.label}: method ${this.cfg.method!.methodId}: ${errorMessage(error)}`);
      });
      if (args.inputArguments.length !== 4) throw new OpcuaFault('wrong_type', `${this.label}: method ${this.cfg.method.methodId} takes ${args.inputArguments.length} arguments, expected 4 (command, power setpoint, valid until, heartbeat)`);
      method = { objectId, methodId, argTypes: args.inputArguments.map((a) => DataType[(a.dataType as { value: number }).value] ?? 'Int32') };
    }
    this.resolved = { nodes, ...(method ? { method } : {}) };
  }

  private async failed(error: unknown): Promise<number> {
    this.failures++;
    this.consecutiveFailures++;
    const fault = error instanceof OpcuaFault ? error : new OpcuaFault('unreachable', `${this.label}: ${errorMessage(error)}`);
    // A request that timed out may still be answered: a fresh session never mistakes that answer for another's.
    const s = this.session;
    this.session = undefined;
    this.resolved = undefined;
    this.lostFault = undefined;
    await s?.close().catch(() => undefined);
    this.backoffMs = Math.min(this.cfg.maxBackoffMs, Math.max(500, this.backoffMs * 2));
    this.lastFault = { code: fault.code, message: fault.message, at: formatUtcIso(this.ctx.clock.now()) };
    if (this.outputs.dryRunFor(this.cfg.line)) {
      // Nothing is written in a dry run: a PLC that cannot be read is worth knowing before going live, not an alarm.
      this.tracker.set('degraded', `dry run: ${this.label}: PLC not readable (${fault.message}); retrying in ${this.backoffMs} ms; nothing is written`, fault.code);
      this.onChange(this);
      return Math.min(this.backoffMs, this.cfg.watchdogMs);
    }
    const message = `${this.label}: write failed (${fault.message}); retrying in ${this.backoffMs} ms`;
    if (this.consecutiveFailures >= FAILED_CYCLES_BEFORE_ALERT) {
      this.tracker.set('failed', `${message}; ${this.consecutiveFailures} cycles failed in a row`, fault.code);
      this.onFailure(message);
    } else {
      this.tracker.set('degraded', message, fault.code);
    }
    this.onChange(this);
    return Math.min(this.backoffMs, this.cfg.watchdogMs);
  }

  /** The four values a write of `state` sets, before typing: command code, kW × powerScale, Unix seconds, heartbeat. */
  private raw(state: LineState, heartbeat: number): Record<Role, number> {
    return { command: COMMAND_CODES[state.command], powerSetpoint: state.powerKw * this.cfg.powerScale, validUntil: Math.floor(state.validUntil / 1000), heartbeat };
  }

  /**
   * The write-nothing mode: one Read request of the four variables (a read changes nothing on the PLC), and what
   * this cycle would have written (or passed to the method) recorded and shown; no Write, no Call.
   */
  private async dryRun(m: OpcuaModules, s: OpcuaSession, r: Resolved, state: LineState): Promise<void> {
    const raw = this.raw(state, (this.heartbeat + 1) & 0xffff);
    const back = await s.session.read(ROLES.map((role) => ({ nodeId: r.nodes[role].nodeId, attributeId: m.client.AttributeIds.Value })));
    if (this.stopped || this.superseded || !this.outputs.dryRunFor(this.cfg.line)) throw new Superseded('the mode changed');
    const holds = ROLES.map((role, i) => {
      const dv = back[i]!;
      if (dv.statusCode.isNotGood()) throw new OpcuaFault('bad_status', `${this.label}: read of ${role} ${this.cfg.nodes[role]} answered ${dv.statusCode.name}`);
      return `${role}=${show(dv.value.value)}`;
    });
    const shown = (role: Role) => (r.nodes[role].dataType === 'DateTime' ? new Date(raw[role] * 1000).toISOString() : INTEGER.test(r.nodes[role].dataType) ? Math.round(raw[role]) : raw[role]);
    this.dryCycles++;
    const what = `${state.command} ${state.powerKw} kW until ${new Date(state.validUntil).toISOString()}${r.method ? ` (method ${this.cfg.method!.methodId})` : ''}`;
    // The heartbeat is left out of the recorded values: it would make every watchdog cycle look like new content.
    const values = Object.fromEntries(ROLES.filter((role) => role !== 'heartbeat').map((role) => [`${role} ${this.cfg.nodes[role]}`, shown(role)]));
    this.outputs.wouldWrite('opcua', `${this.label} (${this.cfg.endpointUrl})`, what, values, this.cfg.line);
    this.tracker.set('ok', `dry run: would ${r.method ? 'call' : 'write'} ${what} (${ROLES.map((role) => `${role}=${show(shown(role))}`).join(', ')}); PLC holds ${holds.join(', ')}; nothing written`);
    this.onChange(this);
  }

  private async write(m: OpcuaModules, s: OpcuaSession, r: Resolved, state: LineState): Promise<void> {
    const { AttributeIds, DataType, Variant } = m.client;
    const heartbeat = (this.heartbeat = (this.heartbeat + 1) & 0xffff);
    const raw = this.raw(state, heartbeat);
    const typed = (role: Role, type: string) => {
      const v = raw[role];
      if (type === 'DateTime') return new Variant({ dataType: DataType.DateTime, value: new Date(v * 1000) });
      if (type === 'Boolean') return new Variant({ dataType: DataType.Boolean, value: v !== 0 });
      const value = INTEGER.test(type) ? Math.round(v) : v;
      return new Variant({ dataType: DataType[type as keyof typeof DataType] as number, value: /64$/.test(type) ? [Math.floor(value / 2 ** 32), value >>> 0] : value });
    };
    const betweenRequests = () => {
      if (this.superseded || this.stopped || this.outputs.dryRunFor(this.cfg.line)) throw new Superseded('a newer plan arrived (or the write-nothing mode went on)');
    };
    betweenRequests();
    if (r.method) {
      const result = await s.session.call({ objectId: r.method.objectId, methodId: r.method.methodId, inputArguments: ROLES.map((role, i) => typed(role, r.method!.argTypes[i]!)) });
      if (result.statusCode.isNotGood()) throw new OpcuaFault('write_refused', `${this.label}: method ${this.cfg.method!.methodId} answered ${result.statusCode.name}`);
    } else {
      // One Write request for the four variables: the PLC sees them in the same cycle.
      const statuses = await s.session.write(ROLES.map((role) => ({ nodeId: r.nodes[role].nodeId, attributeId: AttributeIds.Value, value: { value: typed(role, r.nodes[role].dataType) } })));
      const bad = ROLES.map((role, i) => [role, statuses[i]!] as const).filter(([, st]) => st.isNotGood());
      if (bad.length) throw new OpcuaFault(bad.some(([, st]) => /BadNodeIdUnknown/.test(st.name)) ? 'node_missing' : 'write_refused', `${this.label}: ${bad.map(([role, st]) => `${role} ${this.cfg.nodes[role]} answered ${st.name}`).join('; ')}`);
    }
    betweenRequests();
    const back = await s.session.read(ROLES.map((role) => ({ nodeId: r.nodes[role].nodeId, attributeId: AttributeIds.Value })));
    ROLES.forEach((role, i) => {
      const dv = back[i]!;
      if (dv.statusCode.isNotGood()) throw new OpcuaFault('bad_status', `${this.label}: read-back of ${role} ${this.cfg.nodes[role]} answered ${dv.statusCode.name}`);
      const want = typed(role, r.nodes[role].dataType).value as unknown;
      const got = dv.value.value as unknown;
      if (!sameValue(want, got, r.nodes[role].dataType)) throw new OpcuaFault('readback_mismatch', `${this.label}: read-back of ${role} ${this.cfg.nodes[role]} gave ${show(got)}, wrote ${show(want)}`);
    });
    this.writes++;
    this.lastWritten = { state, heartbeat, at: this.ctx.clock.now() };
    this.tracker.set('ok', `${state.command} ${state.powerKw} kW until ${new Date(state.validUntil).toISOString()}, heartbeat ${heartbeat}`);
    this.onChange(this);
  }
}

function show(v: unknown): string {
  return v instanceof Date ? v.toISOString() : JSON.stringify(v);
}

/** Equal as the PLC stores it: a Float holds single precision, a DateTime whole seconds are compared. */
function sameValue(want: unknown, got: unknown, type: string): boolean {
  if (want instanceof Date && got instanceof Date) return Math.floor(want.getTime() / 1000) === Math.floor(got.getTime() / 1000);
  if (type === 'Float' && typeof want === 'number' && typeof got === 'number') return Math.fround(want) === Math.fround(got);
  return JSON.stringify(want) === JSON.stringify(got);
}

export type OpcuaLinesPlugin = Plugin & { writers(): Record<string, { protocol: 'opcua'; writes: number; dryCycles: number; failures: number; supersededCycles: number; maxConcurrentCycles: number; sessions: number; lastWritten: unknown; lastFault: unknown }> };

export function createOpcuaLines(ctx: PluginContext): OpcuaLinesPlugin {
  let doc: PlanDocumentPayload | null = null;
  /** Run starts the quarter-hour guard (plugins/power-guard) moved later, as the Modbus lines take them. */
  let shifts: Array<{ line: string; runStart: number; shiftMs: number }> = [];
  const kwOf = (process: string) => ctx.config.planner.processes.find((p) => p.name === process)?.kw ?? 0;
  const deviceClock = ctx.deviceClock ?? realClock;
  const pki = opcuaPkiDir(ctx.config);
  let lastAlert = -Infinity;
  const published = new Map<string, string>();
  let stopping = false;
  const outputs = outputModeOf(ctx);

  /** Republishes the retained line state when what it says changed (not at every heartbeat); the Modbus lines' contract. */
  const publishState = (w: OpcuaLineWriter, override?: 'stopped') => {
    const h = w.tracker.get();
    const state = override ?? (h.state === 'disabled' ? 'stopped' : outputs.dryRunFor(w.line) && h.state === 'ok' ? 'dry_run' : h.state);
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

  const writers = ctx.config.opcua.lines.map(
    (cfg) =>
      new OpcuaLineWriter(
        cfg,
        ctx,
        pki,
        () => lineStateAt(withGuardShifts(doc, shifts), cfg.line, ctx.clock.now(), kwOf),
        (message) => {
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
    name: 'opcua-lines',
    async start() {
      ctx.bus.on('plan.updated', 'opcua-lines', (e) => {
        doc = e.doc;
        for (const w of writers) w.writeNow();
      });
      ctx.bus.on('power.guard', 'opcua-lines', (e) => {
        const changed = JSON.stringify(e.shifts.map((x) => [x.line, x.runStart, x.shiftMs])) !== JSON.stringify(shifts.map((x) => [x.line, x.runStart, x.shiftMs]));
        shifts = e.shifts;
        if (changed) for (const w of writers) if (e.shifts.some((x) => x.line === w.line)) w.writeNow();
      });
      // Switching the write-nothing mode takes effect at once: off writes the plan now, on stops between two requests.
      ctx.bus.on('outputs.mode', 'opcua-lines', () => {
        for (const w of writers) w.writeNow();
      });
      for (const w of writers) w.start();
    },
    async stop() {
      stopping = true;
      ctx.bus.removeOwner('opcua-lines');
      await Promise.all(writers.map((w) => w.stop()));
      await Promise.all(writers.map((w) => publishState(w, 'stopped')));
    },
    health(): ComponentHealth {
      const states = writers.map((w) => w.tracker.get());
      return {
        state: states.length ? worst(states.map((s) => s.state)) : 'ok',
        message: states.map((s, i) => `${ctx.config.opcua.lines[i]!.line}: ${s.message}`).join('; ') || 'no lines',
        details: this.writers(),
      };
    },
    writers() {
      return Object.fromEntries(
        writers.map((w) => [
          w.line,
          { protocol: 'opcua' as const, state: w.tracker.get().state, code: w.tracker.get().code ?? null, writes: w.writes, dryCycles: w.dryCycles, failures: w.failures, supersededCycles: w.supersededCycles, maxConcurrentCycles: w.maxConcurrentCycles, sessions: w.sessions, lastWritten: w.lastWritten, lastFault: w.lastFault },
        ]),
      );
    },
  };
}

export const opcuaLinesPlugin: PluginFactory = {
  name: 'opcua-lines',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.opcua.lines.length ? true : { enabled: false, reason: 'no OPC UA lines configured (opcua.lines)' }),
  create: createOpcuaLines,
};
