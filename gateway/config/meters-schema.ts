import { Type, type Static } from '@sinclair/typebox';
import { OpcuaEndpointFields, OpcuaNodeId } from './opcua-schema.js';

/**
 * Energy meters over Modbus (config `energy.meters`) and user meter profiles (`energy.meterProfiles`).
 * A profile is the meter model's register map as data (gateway/meters/profiles/*.json for the shipped models);
 * the checks a schema cannot say (a profile name that exists, a line meter with its line, unique names) are
 * meterProblems below, run by loadConfig.
 */

/** The names of the shipped profiles (gateway/meters/profiles/<name>.json). */
export const SHIPPED_METER_PROFILES = ['eastron-sdm630', 'carlo-gavazzi-em24', 'janitza-umg96rm-e', 'schneider-pm5000'] as const;

export const MeterRegisterSchema = Type.Object(
  {
    register: Type.Integer({ minimum: 0, maximum: 65536, description: "the register number as the meter's manual prints it (the wire address is register − firstRegister)" }),
    function: Type.Union([Type.Literal(3), Type.Literal(4)], { description: 'Modbus function code: 3 read holding registers, 4 read input registers' }),
    type: Type.Union([Type.Literal('int16'), Type.Literal('uint16'), Type.Literal('int32'), Type.Literal('uint32'), Type.Literal('int64'), Type.Literal('uint64'), Type.Literal('float32'), Type.Literal('float64')]),
    wordOrder: Type.Optional(Type.Union([Type.Literal('big'), Type.Literal('little')], { description: 'multi-register types: big (default) = high word first, little = low word first (Carlo Gavazzi)' })),
    byteOrder: Type.Optional(Type.Union([Type.Literal('big'), Type.Literal('little')], { description: 'byte order inside each 16-bit register (default big)' })),
    scale: Type.Optional(Type.Number({ description: 'raw value × scale = the value in `unit` (default 1; e.g. W → kW: 0.001; EM24 kWh × 10: 0.1)' })),
    unit: Type.Union([Type.Literal('kW'), Type.Literal('kWh'), Type.Literal('kvarh')]),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** A quantity read from an OPC UA variable instead of a register (a PLC's energy block, a meter with an OPC UA server). */
export const MeterNodeSchema = Type.Object(
  {
    nodeId: { ...OpcuaNodeId, description: 'the variable, namespace by URI: nsu=<namespace URI>;s=<id> or nsu=<URI>;i=<n> (never an index: a PLC download can renumber)' },
    scale: Type.Optional(Type.Number({ description: 'value × scale = the value in `unit` (default 1; e.g. Wh → kWh: 0.001)' })),
    unit: Type.Union([Type.Literal('kW'), Type.Literal('kWh'), Type.Literal('kvarh')]),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const MeterProfileSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'maker and model the map is for' }),
    sources: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'where the register map comes from (the manual, public drivers)' })),
    firstRegister: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)], { description: "0 (default): the manual numbers wire addresses; 1: the manual numbers registers from 1 (Schneider: register 3060 is address 3059)" })),
    registers: Type.Optional(
      Type.Object(
        {
          importKwh: MeterRegisterSchema,
          kw: MeterRegisterSchema,
          importKvarh: Type.Optional(MeterRegisterSchema),
        },
        { additionalProperties: false, description: 'Modbus (transport tcp or rtu). importKwh: the import active-energy counter that is billed; kw: total active power; importKvarh: the inductive reactive-energy counter, where the meter has one' },
      ),
    ),
    nodes: Type.Optional(
      Type.Object(
        {
          importKwh: MeterNodeSchema,
          kw: MeterNodeSchema,
          importKvarh: Type.Optional(MeterNodeSchema),
        },
        { additionalProperties: false, description: 'OPC UA (transport opcua): the same quantities as OPC UA variables (README "Meters over OPC UA")' },
      ),
    ),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const MeterSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,40}$', description: 'the meter in the API, the store and alerts' }),
    role: Type.Union([Type.Literal('site'), Type.Literal('line')], { description: 'site: the supply point the bill is for; line: a submeter of one production line' }),
    line: Type.Optional(Type.String({ pattern: '^[a-z0-9_-]+$', description: 'the line a line meter measures (planner.processes[].line)' })),
    provenance: Type.String({ default: 'measured', description: "what its readings are, shown with them: 'measured' for a real meter; the demo's meter says 'simulated: …'" }),
    profile: Type.String({ minLength: 1, description: `a shipped profile (${SHIPPED_METER_PROFILES.join(', ')}) or a name in energy.meterProfiles` }),
    transport: Type.Union([Type.Literal('tcp'), Type.Literal('rtu'), Type.Literal('opcua')], { default: 'tcp', description: 'Modbus TCP, Modbus RTU, or OPC UA (the profile then names nodes; the server in `opcua`)' }),
    opcua: Type.Optional(Type.Object(MeterOpcuaEndpointFields(), { additionalProperties: false, description: 'transport opcua: the server, as opcua.devices[] give it (endpoint, security, login with secrets from files, timeouts); the client PKI is opcua.pkiDir' })),
    host: Type.Optional(Type.String()),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 502 }),
    path: Type.Optional(Type.String({ description: 'serial device for RTU, e.g. /dev/ttyUSB0' })),
    baudRate: Type.Integer({ default: 9600 }),
    unitId: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
    timeoutMs: Type.Integer({ minimum: 50, default: 1000 }),
    pollMs: Type.Integer({ minimum: 200, default: 10_000, description: 'poll period, in real (device) time' }),
    maxBackoffMs: Type.Integer({ minimum: 100, default: 30_000 }),
    maxKw: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'the highest power the metered circuit can draw (CT rating × voltage); a counter rise beyond it is a jump. Default: 2 × the highest power read so far, at least 10 kW' })),
    gapSeconds: Type.Integer({ minimum: 1, default: 60, description: 'no reading for this long (real time) is a gap; at least 2.5 poll periods are always allowed' }),
    interpolateMinutes: Type.Integer({ minimum: 0, maximum: 240, default: 60, description: "a gap (or frozen spell) up to this long is bridged: the counter's rise across it is spread over its quarter-hours as interpolated; longer ones leave them missing" }),
    frozenPolls: Type.Integer({ minimum: 2, default: 30, description: 'every value read identical this many polls in a row (with power not zero) = frozen' }),
    frozenKwh: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'frozen once the power read would have imported this much since the counter last advanced' }),
  },
  { additionalProperties: false },
);

/** The endpoint fields of an OPC UA device, without its maxBackoffMs (a meter has its own). */
function MeterOpcuaEndpointFields() {
  const { maxBackoffMs: _unused, ...fields } = OpcuaEndpointFields;
  return fields;
}

export type MeterNodeConfig = Static<typeof MeterNodeSchema>;
export type MeterRegisterConfig = Static<typeof MeterRegisterSchema>;
export type MeterProfileConfig = Static<typeof MeterProfileSchema>;
export type MeterConfig = Static<typeof MeterSchema>;

export const MetersSchema = Type.Array(MeterSchema, { default: [], description: 'energy meters over Modbus (README "Connecting a meter")' });
export const MeterProfilesSchema = Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,40}$' }), MeterProfileSchema, { default: {}, description: 'your own meter profiles, by name (same shape as gateway/meters/profiles/*.json)' });
export const MeterKeepDaysSchema = Type.Integer({ minimum: 400, default: 800, description: 'meter quarter-hours are kept this many days (at least 400: a year of bills and its comparison)' });

/** Cross-field checks of `energy.meters` the schema cannot express; each problem is one sentence naming the field. */
export function meterProblems(meters: readonly MeterConfig[] | undefined, profiles: Record<string, MeterProfileConfig> | undefined, path = '/energy/meters'): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  (meters ?? []).forEach((m, i) => {
    const at = `${path}/${i}`;
    if (seen.has(m.name)) problems.push(`${at}/name: meter ${m.name} is configured twice`);
    seen.add(m.name);
    if (m.role === 'line' && !m.line) problems.push(`${at}/line: a line meter needs the line it measures`);
    if (m.role === 'site' && m.line) problems.push(`${at}/line: a site meter measures the whole site, not line ${m.line}`);
    if (!(SHIPPED_METER_PROFILES as readonly string[]).includes(m.profile) && !profiles?.[m.profile]) problems.push(`${at}/profile: no meter profile ${JSON.stringify(m.profile)} (shipped: ${SHIPPED_METER_PROFILES.join(', ')}; or define it in energy.meterProfiles)`);
    const profile = profiles?.[m.profile];
    if (m.transport === 'opcua') {
      if (!m.opcua) problems.push(`${at}/opcua: an OPC UA meter needs its server (opcua.endpointUrl, security, auth)`);
      if (profile && !profile.nodes) problems.push(`${at}/profile: profile ${m.profile} names registers, not OPC UA nodes: give it nodes (importKwh, kw) for transport opcua`);
      else if (!profile && (SHIPPED_METER_PROFILES as readonly string[]).includes(m.profile)) problems.push(`${at}/profile: the shipped profile ${m.profile} is a Modbus register map: an OPC UA meter needs a profile with nodes in energy.meterProfiles`);
    } else if (profile && !profile.registers) problems.push(`${at}/profile: profile ${m.profile} names OPC UA nodes, not registers: use transport opcua, or give it registers`);
    if (m.transport !== 'opcua' && m.opcua) problems.push(`${at}/opcua: an OPC UA server is given but the transport is ${m.transport}`);
    if (m.transport === 'tcp' && !m.host) problems.push(`${at}/host: a Modbus TCP meter needs a host`);
    if (m.transport === 'rtu' && !m.path) problems.push(`${at}/path: a Modbus RTU meter needs a serial path`);
  });
  return problems;
}
