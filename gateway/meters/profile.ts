import { decodeRegisters, encodeRegisters, registerWords } from '../modbus/registers.js';
import { Value } from '@sinclair/typebox/value';
import { MeterProfileSchema, SHIPPED_METER_PROFILES, type MeterNodeConfig, type MeterProfileConfig, type MeterRegisterConfig } from '../config/meters-schema.js';
import eastronSdm630 from './profiles/eastron-sdm630.json' with { type: 'json' };
import carloGavazziEm24 from './profiles/carlo-gavazzi-em24.json' with { type: 'json' };
import janitzaUmg96rmE from './profiles/janitza-umg96rm-e.json' with { type: 'json' };
import schneiderPm5000 from './profiles/schneider-pm5000.json' with { type: 'json' };

/** A register with its defaults filled (word and byte order big, scale 1). */
export type MeterRegister = Required<Omit<MeterRegisterConfig, 'note'>> & { note?: string };
/** A checked profile with its defaults filled (firstRegister 0, no sources). */
export interface MeterProfile {
  model: string;
  sources: string[];
  firstRegister: 0 | 1;
  registers: { importKwh: MeterRegister; kw: MeterRegister; importKvarh?: MeterRegister };
  note?: string;
}
export type MeterQuantity = keyof MeterProfile['registers'];
export type MeterRegisterType = MeterRegister['type'];

const SHIPPED_FILES: Record<(typeof SHIPPED_METER_PROFILES)[number], unknown> = {
  'eastron-sdm630': eastronSdm630,
  'carlo-gavazzi-em24': carloGavazziEm24,
  'janitza-umg96rm-e': janitzaUmg96rmE,
  'schneider-pm5000': schneiderPm5000,
};

/** Checks a profile against the schema and fills its defaults; throws one sentence naming the profile and the field. */
export function checkProfile(name: string, raw: unknown): MeterProfile {
  const error = Value.Errors(MeterProfileSchema, raw).First();
  if (error) throw new Error(`meter profile ${name}: ${error.path || '/'} ${error.message}`);
  const given = raw as MeterProfileConfig;
  if (!given.registers) throw new Error(`meter profile ${name}: names OPC UA nodes, not Modbus registers: use it with transport opcua`);
  const fill = (r: MeterRegisterConfig): MeterRegister => ({ ...r, wordOrder: r.wordOrder ?? 'big', byteOrder: r.byteOrder ?? 'big', scale: r.scale ?? 1 });
  const { nodes: _nodes, ...modbus } = given;
  const profile: MeterProfile = {
    ...modbus,
    sources: given.sources ?? [],
    firstRegister: given.firstRegister ?? 0,
    registers: { importKwh: fill(given.registers.importKwh), kw: fill(given.registers.kw), ...(given.registers.importKvarh ? { importKvarh: fill(given.registers.importKvarh) } : {}) },
  };
  for (const [quantity, r] of Object.entries(profile.registers) as Array<[MeterQuantity, MeterRegister | undefined]>) {
    if (!r) continue;
    const want = quantity === 'kw' ? 'kW' : quantity === 'importKwh' ? 'kWh' : 'kvarh';
    if (r.unit !== want) throw new Error(`meter profile ${name}: /registers/${quantity} must be in ${want}, not ${r.unit}`);
    if (r.register - profile.firstRegister < 0) throw new Error(`meter profile ${name}: /registers/${quantity} register ${r.register} is below the first register ${profile.firstRegister}`);
    if (!(r.scale !== 0 && Number.isFinite(r.scale))) throw new Error(`meter profile ${name}: /registers/${quantity} scale must be a non-zero number`);
  }
  return profile;
}

/** The shipped profiles, checked (a broken shipped file fails at import, in every test). */
export const SHIPPED_PROFILES: Readonly<Record<string, MeterProfile>> = Object.fromEntries(Object.entries(SHIPPED_FILES).map(([name, raw]) => [name, checkProfile(name, raw)]));

/** The profile a meter names: one of the user's (`energy.meterProfiles`, which may shadow a shipped one) or a shipped one. */
export function resolveProfile(name: string, user: Record<string, unknown> = {}): MeterProfile {
  if (user[name] !== undefined) return checkProfile(name, user[name]);
  const shipped = SHIPPED_PROFILES[name];
  if (!shipped) throw new Error(`no meter profile ${JSON.stringify(name)} (shipped: ${Object.keys(SHIPPED_PROFILES).join(', ')}; or define it in energy.meterProfiles)`);
  return shipped;
}

/** A meter variable over OPC UA with its defaults filled (scale 1). */
export type MeterNode = Required<Omit<MeterNodeConfig, 'note'>> & { note?: string };
/** A checked profile that names OPC UA variables (`nodes`) instead of registers. */
export interface MeterNodeProfile {
  model: string;
  sources: string[];
  nodes: { importKwh: MeterNode; kw: MeterNode; importKvarh?: MeterNode };
  note?: string;
}

/**
 * The profile an OPC UA meter names (`energy.meterProfiles`, with `nodes`), checked like a register map: units
 * kWh / kW / kvarh per quantity, a non-zero scale. The shipped profiles are Modbus register maps: refused here.
 */
export function resolveNodeProfile(name: string, user: Record<string, unknown> = {}): MeterNodeProfile {
  const raw = user[name];
  if (raw === undefined) throw new Error(`no meter profile ${JSON.stringify(name)} with OPC UA nodes in energy.meterProfiles (the shipped profiles are Modbus register maps)`);
  const error = Value.Errors(MeterProfileSchema, raw).First();
  if (error) throw new Error(`meter profile ${name}: ${error.path || '/'} ${error.message}`);
  const given = raw as MeterProfileConfig;
  if (!given.nodes) throw new Error(`meter profile ${name}: names Modbus registers, not OPC UA nodes: give it nodes (importKwh, kw) for transport opcua`);
  const fill = (n: MeterNodeConfig): MeterNode => ({ ...n, scale: n.scale ?? 1 });
  const nodes = { importKwh: fill(given.nodes.importKwh), kw: fill(given.nodes.kw), ...(given.nodes.importKvarh ? { importKvarh: fill(given.nodes.importKvarh) } : {}) };
  for (const [quantity, n] of Object.entries(nodes) as Array<[MeterQuantity, MeterNode]>) {
    const want = quantity === 'kw' ? 'kW' : quantity === 'importKwh' ? 'kWh' : 'kvarh';
    if (n.unit !== want) throw new Error(`meter profile ${name}: /nodes/${quantity} must be in ${want}, not ${n.unit}`);
    if (!(n.scale !== 0 && Number.isFinite(n.scale))) throw new Error(`meter profile ${name}: /nodes/${quantity} scale must be a non-zero number`);
  }
  return { model: given.model, sources: given.sources ?? [], nodes, ...(given.note ? { note: given.note } : {}) };
}

/** The wire address of a register (the manual's number minus the profile's first register number). */
export function wireAddress(profile: MeterProfile, r: MeterRegister): number {
  return r.register - profile.firstRegister;
}

export { registerWords };

/** The raw number in Modbus registers (16-bit words) of `type`, in the register's word and byte order (before scale). */
export function decodeRaw(words: readonly number[], r: Pick<MeterRegister, 'type' | 'wordOrder' | 'byteOrder'>): number {
  return decodeRegisters(words, r.type, r.byteOrder, r.wordOrder);
}

/** A register's value in its unit: raw × scale, rounded to 1e-6 (undoing float noise of the scale). */
export function decodeRegister(words: readonly number[], r: MeterRegister): number {
  return Math.round(decodeRaw(words, r) * r.scale * 1e6) / 1e6;
}

/**
 * The smallest step a register can show at `value` (in its unit): its scale for integer types, the float's spacing
 * at that magnitude (float32: 24 significant bits) × scale for floats.
 */
export function registerResolution(r: Pick<MeterRegister, 'type' | 'scale'>, value: number): number {
  const scale = Math.abs(r.scale);
  if (r.type !== 'float32' && r.type !== 'float64') return scale;
  const raw = Math.abs(value / r.scale);
  if (raw === 0) return 0;
  return 2 ** (Math.floor(Math.log2(raw)) - (r.type === 'float32' ? 23 : 52)) * scale;
}

/** The inverse (simulated meters, tests): a value in the register's unit into its registers, in wire order. */
export function encodeRegister(value: number, r: MeterRegister): number[] {
  const raw = value / r.scale;
  return encodeRegisters(r.type === 'float32' || r.type === 'float64' ? raw : Math.round(raw), r.type, r.byteOrder, r.wordOrder);
}

/** One read request: `count` registers from `address` with function `fc`, covering some quantities. */
export interface MeterRead {
  fc: 3 | 4;
  address: number;
  count: number;
  quantities: Array<{ quantity: MeterQuantity; offset: number }>;
}

/**
 * The requests that read a profile: registers of the same function code that are strictly adjacent share one
 * request (never across unread registers: many meters answer exception 2 to a read spanning a gap, ThingsBoard
 * gateway #2052), at most 125 registers each. The optional reactive-energy register always gets its own request,
 * so a meter without it (exception 2) still yields energy and power.
 */
export function planReads(profile: MeterProfile): MeterRead[] {
  const items = (Object.entries(profile.registers) as Array<[MeterQuantity, MeterRegister | undefined]>)
    .filter((e): e is [MeterQuantity, MeterRegister] => e[1] !== undefined)
    .map(([quantity, r]) => ({ quantity, fc: r.function, address: wireAddress(profile, r), count: registerWords(r.type) }))
    .sort((a, b) => a.fc - b.fc || a.address - b.address);
  const reads: MeterRead[] = [];
  for (const it of items) {
    const last = reads.at(-1);
    const alone = it.quantity === 'importKvarh' || last?.quantities.some((q) => q.quantity === 'importKvarh');
    if (last && !alone && last.fc === it.fc && last.address + last.count === it.address && last.count + it.count <= 125) {
      last.quantities.push({ quantity: it.quantity, offset: it.address - last.address });
      last.count += it.count;
    } else reads.push({ fc: it.fc, address: it.address, count: it.count, quantities: [{ quantity: it.quantity, offset: 0 }] });
  }
  return reads;
}
