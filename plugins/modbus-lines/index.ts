import type { Config } from '../../gateway/config/schema.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { closeModbus, connectModbus, preloadModbus, type ModbusClient } from '../../gateway/modbus/client.js';
import { plainFault, type CycleGuard, type DryRunReport, type LineTransport } from '../../gateway/lines/command-writer.js';
import { createLinePlugin } from '../../gateway/lines/lines-plugin.js';
import { COMMAND_CODES, describeLineState, type LineState } from '../../gateway/lines/line-state.js';

// The line state from the plan lives in gateway/lines/ (shared with opcua-lines and sparkplug); re-exported for this plugin's users.
export { COMMAND_CODES, lineStateAt, withGuardShifts, type LineState } from '../../gateway/lines/line-state.js';
export { FAILED_CYCLES_BEFORE_ALERT, type LineWriterState } from '../../gateway/lines/command-writer.js';

type LineConfig = Config['lines'][number];

/**
 * One line's PLC over Modbus TCP: the plan's batch id, command, power setpoint, valid-until and heartbeat written to
 * holding registers one by one (`lines[].registers`), then read back register by register. The cycle, the watchdog,
 * the backoff and the alert are the shared line writer's (gateway/lines/command-writer.ts).
 */
class ModbusLineTransport implements LineTransport {
  private client?: ModbusClient;

  constructor(private readonly cfg: LineConfig) {}

  async connect(): Promise<void> {
    // A line without a host talks to a PLC on this box, as before.
    if (!this.client?.isOpen) this.client = await connectModbus({ ...this.cfg, host: this.cfg.host ?? '127.0.0.1' }, `line ${this.cfg.line}`);
  }

  close(): Promise<void> {
    return closeModbus(this.client);
  }

  fault(error: unknown): { code: null; message: string } {
    return plainFault(error);
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
   * The registers of a write in blocks: consecutive registers of the write order at consecutive addresses go in one
   * block, written with one Write Multiple Registers (FC16) request and read back with one read. With the usual map
   * (command, setpoint, valid-until and heartbeat at consecutive addresses) the whole state is one request, so the
   * PLC never holds a new command beside an old setpoint or valid-until (a gateway killed or a link lost between
   * two requests would otherwise leave it so); a map with gaps keeps the write order, one block per run.
   */
  private blocks(state: LineState, heartbeat: number): Array<{ address: number; values: number[] }> {
    const out: Array<{ address: number; values: number[] }> = [];
    for (const [address, value] of this.registers(state, heartbeat)) {
      const last = out.at(-1);
      if (last && last.address + last.values.length === address && last.values.length < 123) last.values.push(value);
      else out.push({ address, values: [value] });
    }
    return out;
  }

  async writeState(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void> {
    for (const { address, values } of this.blocks(state, heartbeat)) {
      guard.beforeWrite();
      await this.client!.writeRegisters(address, values);
    }
  }

  async readBack(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void> {
    for (const { address, values } of this.blocks(state, heartbeat)) {
      guard.beforeWrite();
      const got = (await this.client!.readHoldingRegisters(address, values.length)).data;
      const i = values.findIndex((v, k) => got[k] !== v);
      if (i >= 0) throw new Error(`read-back of register ${address + i} gave ${got[i]}, wrote ${values[i]}`);
    }
  }

  /** The PLC's registers are read (a read changes nothing) so that commissioning sees the link works and what it holds. */
  async dryRun(state: LineState, heartbeat: number, guard: CycleGuard): Promise<DryRunReport> {
    const registers = this.registers(state, heartbeat);
    const holds: Record<string, number> = {};
    for (const [address, , name] of registers) {
      guard.dryRunGoesOn();
      holds[`${address} ${name}`] = (await this.client!.readHoldingRegisters(address, 1)).data[0]!;
    }
    const what = describeLineState(state);
    const where = `${this.cfg.host ?? '127.0.0.1'}:${this.cfg.port} unit ${this.cfg.unitId}`;
    return {
      via: 'modbus',
      target: `line ${this.cfg.line} (${where})`,
      what,
      values: Object.fromEntries(registers.filter(([, , n]) => n !== 'heartbeat').map(([a, v, n]) => [`${a} ${n}`, v])),
      message: `dry run: would write ${what} (registers ${registers.map(([a, v]) => `${a}=${v}`).join(', ')}); PLC holds ${Object.entries(holds).map(([k, v]) => `${k.split(' ')[0]}=${v}`).join(', ')}; nothing written`,
    };
  }
}

export function createModbusLines(ctx: PluginContext): Plugin & { writers(): Record<string, { writes: number; failures: number; supersededCycles: number; maxConcurrentCycles: number; dryCycles: number; lastWritten: unknown }> } {
  return createLinePlugin(ctx, {
    name: 'modbus-lines',
    lines: ctx.config.lines,
    transport: (cfg) => new ModbusLineTransport(cfg),
    prepare: preloadModbus,
    details: (w) => ({ writes: w.writes, failures: w.failures, supersededCycles: w.supersededCycles, maxConcurrentCycles: w.maxConcurrentCycles, dryCycles: w.dryCycles, lastWritten: w.lastWritten }),
  });
}

export const modbusLinesPlugin: PluginFactory = {
  name: 'modbus-lines',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.lines.length ? true : { enabled: false, reason: 'no lines configured (lines)' }),
  create: createModbusLines,
};
