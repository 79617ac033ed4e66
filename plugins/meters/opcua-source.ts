import type { Config } from '../../gateway/config/schema.js';
import type { MeterConfig } from '../../gateway/config/meters-schema.js';
import { registerResolution, type MeterNodeProfile, type MeterQuantity } from '../../gateway/meters/profile.js';
import { readTypedNumbers } from '../../gateway/opcua/read.js';
import { loadOpcua, OpcuaFault, opcuaPkiDir, openSession, type OpcuaFaultCode, type OpcuaSession } from '../../gateway/opcua/session.js';
import type { Logger } from '../../gateway/util/log.js';

/** Faults of one variable (the session is fine): the meter keeps its session and polls again at its period. */
export const NODE_FAULTS: ReadonlySet<OpcuaFaultCode> = new Set(['bad_status', 'wrong_type', 'node_missing', 'namespace_missing']);

/** One OPC UA read of a meter: values in kWh / kW / kvarh (after scale), when the counter answered, its step. */
export interface MeterSample {
  values: Partial<Record<MeterQuantity, number | null>>;
  at: number;
  /** The smallest step the import counter can show at its value (kWh): the scale for an integer variable, the float's spacing × scale for Float/Double. */
  resolutionKwh: number;
}

/**
 * An energy meter read over OPC UA: the profile's `nodes` (namespace by URI, resolved again at every session) in
 * one Read request per poll through `gateway/opcua/session.ts` (node-opcua-client, imported on the first poll of the
 * first OPC UA meter only). A session lost (server restart, timeout) is opened again at the next poll; a refused
 * certificate, a failed login, a bad status code or a value that is not a number is thrown as an OpcuaFault whose
 * `code` names it in health. A value is never made up: a fault gives no reading.
 */
export class OpcuaMeterSource {
  private session?: OpcuaSession;
  private knownThumbprint: string | null = null;
  /** The reactive-energy variable is not on the server (node or namespace missing): read without it, as a Modbus meter without the register. */
  noKvarh = false;
  sessions = 0;
  private readonly quantities: MeterQuantity[];

  constructor(
    private readonly meter: MeterConfig,
    readonly profile: MeterNodeProfile,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.quantities = (['importKwh', 'kw', 'importKvarh'] as const).filter((q) => profile.nodes[q] !== undefined);
  }

  get isOpen(): boolean {
    return this.session !== undefined;
  }

  /** Opens the session if none is open; throws OpcuaFault (`not_installed`, `unreachable`, `certificate_untrusted`, `login_failed`…). */
  async open(): Promise<void> {
    if (this.session) return;
    if (!this.meter.opcua) throw new OpcuaFault('unreachable', `meter ${this.meter.name}: transport opcua without an opcua endpoint`);
    const m = await loadOpcua(this.log);
    const s = await openSession(m, { ...this.meter.opcua, maxBackoffMs: this.meter.maxBackoffMs }, { pkiDir: opcuaPkiDir(this.config), label: `meter ${this.meter.name}`, knownThumbprint: this.knownThumbprint, log: this.log });
    if (s.serverThumbprint) this.knownThumbprint = s.serverThumbprint;
    this.sessions++;
    this.session = s;
    void s.lost.then(() => {
      if (this.session === s) this.session = undefined;
      void s.close().catch(() => undefined);
    });
  }

  /** One Read of every node; `now` stamps the answer. Throws OpcuaFault: a node fault (NODE_FAULTS) or the session's. */
  async read(now: () => number): Promise<MeterSample> {
    await this.open();
    const s = this.session!;
    const m = await loadOpcua(this.log);
    const asked = this.quantities.filter((q) => !(q === 'importKvarh' && this.noKvarh));
    let answers;
    try {
      answers = await readTypedNumbers(m, s, asked.map((q) => this.profile.nodes[q]!.nodeId));
    } catch (error) {
      await this.close();
      throw error;
    }
    const at = now();
    const values: MeterSample['values'] = {};
    let resolutionKwh = 0;
    for (const [k, q] of asked.entries()) {
      const a = answers[k]!;
      const node = this.profile.nodes[q]!;
      if ('fault' in a) {
        if (q === 'importKvarh' && (a.fault.code === 'node_missing' || a.fault.code === 'namespace_missing')) {
          this.noKvarh = true;
          this.log.info({ meter: this.meter.name, nodeId: node.nodeId }, `reactive-energy variable not on the server (${a.fault.code}): read without reactive energy`);
          continue;
        }
        throw new OpcuaFault(a.fault.code, `${QUANTITY[q]} ${a.fault.message}`);
      }
      const value = Math.round(a.value * node.scale * 1e6) / 1e6;
      values[q] = Number.isFinite(value) ? value : null;
      if (q === 'importKwh') resolutionKwh = registerResolution({ type: a.dataType === 'Float' ? 'float32' : a.dataType === 'Double' ? 'float64' : 'int32', scale: node.scale }, value);
    }
    return { values, at, resolutionKwh };
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.close().catch(() => undefined);
  }
}

const QUANTITY: Record<MeterQuantity, string> = { importKwh: 'import energy', kw: 'active power', importKvarh: 'reactive energy' };
