import type { Config } from '../../gateway/config/schema.js';
import { errorMessage } from '../../gateway/util/errors.js';
import type { Logger } from '../../gateway/util/log.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { NamespaceMissing, parseUriNodeId, resolveNodeId } from '../../gateway/opcua/node-id.js';
import { loadOpcua, OpcuaFault, opcuaPkiDir, openSession, type OpcuaModules, type OpcuaSession } from '../../gateway/opcua/session.js';
import type { CycleGuard, DryRunReport, LineTransport } from '../../gateway/lines/command-writer.js';
import { createLinePlugin } from '../../gateway/lines/lines-plugin.js';
import { COMMAND_CODES, describeLineState, type LineState } from '../../gateway/lines/line-state.js';

type LineConfig = Config['opcua']['lines'][number];
const ROLES = ['command', 'powerSetpoint', 'validUntil', 'heartbeat'] as const;
type Role = (typeof ROLES)[number];

/** The variables of one line on the current session: resolved node id and built-in data type (DataType enum name). */
interface Resolved {
  nodes: Record<Role, { nodeId: string; dataType: string }>;
  method?: { objectId: string; methodId: string; argTypes: string[] };
}

const INTEGER = /^(S?Byte|U?Int(16|32|64))$/;

/**
 * One line's PLC over OPC UA: the plan's command, power setpoint and valid-until written to PLC variables (or passed
 * to a method), then read back and compared; rewritten every `watchdogMs` of device time with the heartbeat + 1, so
 * a PLC that sees the heartbeat stop falls back safely. The cycle, the watchdog, the backoff, superseded cycles and
 * PLC_WRITE_FAILED are the shared line writer's (gateway/lines/command-writer.ts), the same promises as the Modbus
 * lines. In the write-nothing mode (`outputs.dryRun`, or this line's `dryRun`) a cycle writes and calls nothing: it
 * reads the variables (the session, node ids and data types are checked as live) and records what it would write.
 */
class OpcuaLineTransport implements LineTransport {
  private m?: OpcuaModules;
  private session?: OpcuaSession;
  private resolved?: Resolved;
  private lostFault?: OpcuaFault;
  private knownThumbprint: string | null = null;
  sessions = 0;

  constructor(
    private readonly cfg: LineConfig,
    private readonly log: Logger,
    private readonly pkiDir: string,
  ) {}

  get label(): string {
    return `line ${this.cfg.line}`;
  }

  async connect(): Promise<void> {
    this.m = await loadOpcua(this.log);
    if (this.lostFault) throw this.lostFault;
    if (!this.session) await this.open(this.m);
  }

  /** Drops the session (after a failure: a fresh session never mistakes a late answer for another's; at stop). */
  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    this.resolved = undefined;
    this.lostFault = undefined;
    await s?.close();
  }

  fault(error: unknown): { code: string; message: string } {
    const fault = error instanceof OpcuaFault ? error : new OpcuaFault('unreachable', `${this.label}: ${errorMessage(error)}`);
    return { code: fault.code, message: fault.message };
  }

  /** A fresh session, its namespaces read, every node id resolved by URI and each variable's data type read. */
  private async open(m: OpcuaModules): Promise<void> {
    const s = await openSession(m, this.cfg, { pkiDir: this.pkiDir, label: this.label, knownThumbprint: this.knownThumbprint, log: this.log });
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

  /** The four values a write of `state` sets, before typing: command code, kW × powerScale, Unix seconds, heartbeat. */
  private raw(state: LineState, heartbeat: number): Record<Role, number> {
    return { command: COMMAND_CODES[state.command], powerSetpoint: state.powerKw * this.cfg.powerScale, validUntil: Math.floor(state.validUntil / 1000), heartbeat };
  }

  /** The library, session and resolved variables of this cycle (set by {@link connect}), and the raw values of `state`. */
  private live(state: LineState, heartbeat: number): { m: OpcuaModules; s: OpcuaSession; r: Resolved; raw: Record<Role, number> } {
    return { m: this.m!, s: this.session!, r: this.resolved!, raw: this.raw(state, heartbeat) };
  }

  /** The value of `role` as a Variant of the variable's (or the method argument's) data type. */
  private typed(m: OpcuaModules, raw: Record<Role, number>, role: Role, type: string) {
    const { DataType, Variant } = m.client;
    const v = raw[role];
    if (type === 'DateTime') return new Variant({ dataType: DataType.DateTime, value: new Date(v * 1000) });
    if (type === 'Boolean') return new Variant({ dataType: DataType.Boolean, value: v !== 0 });
    const value = INTEGER.test(type) ? Math.round(v) : v;
    return new Variant({ dataType: DataType[type as keyof typeof DataType] as number, value: /64$/.test(type) ? [Math.floor(value / 2 ** 32), value >>> 0] : value });
  }

  /** One Write request for the four variables (the PLC sees them in the same cycle), or one Call of the method. */
  async writeState(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void> {
    const { m, s, r, raw } = this.live(state, heartbeat);
    guard.beforeWrite();
    if (r.method) {
      const result = await s.session.call({ objectId: r.method.objectId, methodId: r.method.methodId, inputArguments: ROLES.map((role, i) => this.typed(m, raw, role, r.method!.argTypes[i]!)) });
      if (result.statusCode.isNotGood()) throw new OpcuaFault('write_refused', `${this.label}: method ${this.cfg.method!.methodId} answered ${result.statusCode.name}`);
    } else {
      const statuses = await s.session.write(ROLES.map((role) => ({ nodeId: r.nodes[role].nodeId, attributeId: m.client.AttributeIds.Value, value: { value: this.typed(m, raw, role, r.nodes[role].dataType) } })));
      const bad = ROLES.map((role, i) => [role, statuses[i]!] as const).filter(([, st]) => st.isNotGood());
      if (bad.length) throw new OpcuaFault(bad.some(([, st]) => /BadNodeIdUnknown/.test(st.name)) ? 'node_missing' : 'write_refused', `${this.label}: ${bad.map(([role, st]) => `${role} ${this.cfg.nodes[role]} answered ${st.name}`).join('; ')}`);
    }
  }

  /** One Read request of the four variables, each compared with what was written as the PLC stores it. */
  async readBack(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void> {
    const { m, s, r, raw } = this.live(state, heartbeat);
    guard.beforeWrite();
    const back = await s.session.read(ROLES.map((role) => ({ nodeId: r.nodes[role].nodeId, attributeId: m.client.AttributeIds.Value })));
    ROLES.forEach((role, i) => {
      const dv = back[i]!;
      if (dv.statusCode.isNotGood()) throw new OpcuaFault('bad_status', `${this.label}: read-back of ${role} ${this.cfg.nodes[role]} answered ${dv.statusCode.name}`);
      const want = this.typed(m, raw, role, r.nodes[role].dataType).value as unknown;
      const got = dv.value.value as unknown;
      if (!sameValue(want, got, r.nodes[role].dataType)) throw new OpcuaFault('readback_mismatch', `${this.label}: read-back of ${role} ${this.cfg.nodes[role]} gave ${show(got)}, wrote ${show(want)}`);
    });
  }

  /**
   * The write-nothing mode: one Read request of the four variables (a read changes nothing on the PLC), and what
   * this cycle would have written (or passed to the method); no Write, no Call.
   */
  async dryRun(state: LineState, heartbeat: number, guard: CycleGuard): Promise<DryRunReport> {
    const { m, s, r, raw } = this.live(state, heartbeat);
    const back = await s.session.read(ROLES.map((role) => ({ nodeId: r.nodes[role].nodeId, attributeId: m.client.AttributeIds.Value })));
    guard.dryRunGoesOn({ orNewerPlan: true });
    const holds = ROLES.map((role, i) => {
      const dv = back[i]!;
      if (dv.statusCode.isNotGood()) throw new OpcuaFault('bad_status', `${this.label}: read of ${role} ${this.cfg.nodes[role]} answered ${dv.statusCode.name}`);
      return `${role}=${show(dv.value.value)}`;
    });
    const shown = (role: Role) => (r.nodes[role].dataType === 'DateTime' ? new Date(raw[role] * 1000).toISOString() : INTEGER.test(r.nodes[role].dataType) ? Math.round(raw[role]) : raw[role]);
    const what = `${describeLineState(state)}${r.method ? ` (method ${this.cfg.method!.methodId})` : ''}`;
    return {
      via: 'opcua',
      target: `${this.label} (${this.cfg.endpointUrl})`,
      what,
      values: Object.fromEntries(ROLES.filter((role) => role !== 'heartbeat').map((role) => [`${role} ${this.cfg.nodes[role]}`, shown(role)])),
      message: `dry run: would ${r.method ? 'call' : 'write'} ${what} (${ROLES.map((role) => `${role}=${show(shown(role))}`).join(', ')}); PLC holds ${holds.join(', ')}; nothing written`,
    };
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
  const pki = opcuaPkiDir(ctx.config);
  return createLinePlugin(ctx, {
    name: 'opcua-lines',
    lines: ctx.config.opcua.lines,
    transport: (cfg) => new OpcuaLineTransport(cfg, ctx.log, pki),
    details: (w) => {
      const h = w.tracker.get();
      return { protocol: 'opcua' as const, state: h.state, code: h.code ?? null, writes: w.writes, dryCycles: w.dryCycles, failures: w.failures, supersededCycles: w.supersededCycles, maxConcurrentCycles: w.maxConcurrentCycles, sessions: w.transport.sessions, lastWritten: w.lastWritten, lastFault: w.lastFault };
    },
  });
}

export const opcuaLinesPlugin: PluginFactory = {
  name: 'opcua-lines',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.opcua.lines.length ? true : { enabled: false, reason: 'no OPC UA lines configured (opcua.lines)' }),
  create: createOpcuaLines,
};
