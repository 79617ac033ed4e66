import { Type } from '@sinclair/typebox';

/**
 * The `opcua` section: OPC UA PLCs as floor sensors (`devices`) and as line controllers (`lines`). Kept in its own
 * file; schema.ts holds only the one line that mounts it.
 */

/** The Secret shape of schema.ts (inline or `{ file }`), repeated here so this file does not import schema.ts (schema.ts imports this one). */
const OpcuaSecret = Type.Union([Type.String({ minLength: 1 }), Type.Object({ file: Type.String({ minLength: 1 }) }, { additionalProperties: false })], { secret: true });

/**
 * A node id in OPC UA string notation with the namespace named by URI: `nsu=<namespace uri>;s=<string id>` or
 * `nsu=<uri>;i=<number>` (also `g=` GUID, `b=` opaque), or `ns=0;i=<n>` for the standard namespace. A namespace
 * index other than 0 is refused: a PLC download can renumber its namespaces, and the gateway would then read or
 * write the wrong variable.
 */
export const OpcuaNodeId = Type.String({
  pattern: '^(nsu=[^;]+;|ns=0;)(i=\\d+|s=.+|g=[0-9a-fA-F-]{36}|b=[A-Za-z0-9+/=]+)$',
  description: 'nsu=<namespace URI>;s=<id> or nsu=<URI>;i=<number> (namespace by URI, never by index); ns=0;i=<n> for the standard namespace',
});

const MS = (def: number, min: number, description: string) => Type.Integer({ minimum: min, default: def, description });

/** How to reach one OPC UA server: endpoint, security, login, timeouts. Shared by devices and lines. */
export const OpcuaEndpointFields = {
  endpointUrl: Type.String({ pattern: '^opc\\.tcp://[^/\\s]+', description: 'opc.tcp://host:port[/path], e.g. opc.tcp://192.168.10.20:4840 (S7-1500 default port 4840)' }),
  security: Type.Union([Type.Literal('SignAndEncrypt'), Type.Literal('Sign'), Type.Literal('None')], {
    default: 'SignAndEncrypt',
    description: 'message security mode with securityPolicy; None only when written here (no certificate, no signature: plant networks you fully trust)',
  }),
  securityPolicy: Type.Union([Type.Literal('Basic256Sha256'), Type.Literal('Aes128_Sha256_RsaOaep'), Type.Literal('Aes256_Sha256_RsaPss')], { default: 'Basic256Sha256' }),
  auth: Type.Object(
    {
      type: Type.Union([Type.Literal('anonymous'), Type.Literal('user'), Type.Literal('certificate')], { default: 'anonymous' }),
      username: Type.Optional(Type.String({ minLength: 1, description: 'type user' })),
      password: Type.Optional({ ...OpcuaSecret, description: 'type user: a secret (inline, or { file: path } e.g. a systemd credential)' }),
      certificate: Type.Optional(Type.String({ minLength: 1, readableFile: true, description: 'type certificate: PEM X.509 user certificate' })),
      privateKey: Type.Optional(Type.String({ minLength: 1, readableFile: true, description: 'type certificate: PEM private key of that certificate' })),
    },
    { additionalProperties: false, default: {}, description: 'session login: anonymous, user + password, or an X.509 user certificate' },
  ),
  requestTimeoutMs: MS(5_000, 100, 'a request without an answer after this is a timeout'),
  sessionTimeoutMs: MS(60_000, 1_000, 'requested session timeout: the server closes a session silent for this long'),
  secureChannelLifetimeMs: MS(3_600_000, 1_000, 'requested lifetime of a secure channel token; the client renews it at 75 %'),
  maxBackoffMs: MS(30_000, 100, 'reconnect backoff doubles up to this (device time)'),
};

const OpcuaPoint = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,40}$', description: 'becomes series sensor.<name> and topic sensors/<name>' }),
    nodeId: OpcuaNodeId,
    samplingMs: Type.Integer({ minimum: 0, default: 1_000, description: 'sampling interval the server is asked for (0: the fastest it offers)' }),
    scale: Type.Number({ default: 1 }),
    offset: Type.Number({ default: 0 }),
    unit: Type.Union([Type.Literal('degC'), Type.Literal('percent'), Type.Literal('kW'), Type.Literal('kWh'), Type.Literal('hPa')], { default: 'degC' }),
    deadband: Type.Number({ minimum: 0, default: 0, description: 'absolute deadband in the point unit: the server reports only changes beyond it (DataChangeFilter, converted to the node unit by scale) and MQTT reports by exception with it' }),
    deadbandPercent: Type.Number({ minimum: 0, default: 0, description: 'MQTT report by exception: publish when the value moved more than this percent of the last reported value' }),
    maxSilenceMs: Type.Integer({ minimum: 0, default: 60_000, description: 'publish at least this often even without a change (0 = only on change)' }),
  },
  { additionalProperties: false },
);

const OpcuaDevice = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,40}$' }),
    ...OpcuaEndpointFields,
    publishingIntervalMs: Type.Integer({ minimum: 50, default: 1_000, description: 'subscription publishing interval: changes are sent at most this often' }),
    storeMs: Type.Integer({ minimum: 100, default: 10_000, description: 'the current value of every good point goes to the readings store this often while the subscription is alive (the slot length); changes in between are published but not stored' }),
    publish: Type.Union([Type.Literal('device'), Type.Literal('point')], { default: 'point', description: 'MQTT: one retained devices/<device>/sensors message, or one sensors/<point> per due point' }),
    points: Type.Array(OpcuaPoint, { minItems: 1 }),
  },
  { additionalProperties: false },
);

const OpcuaLine = Type.Object(
  {
    line: Type.String({ pattern: '^[a-z0-9_-]+$', description: 'a planner line (planner.processes[].line)' }),
    ...OpcuaEndpointFields,
    watchdogMs: Type.Integer({ minimum: 100, default: 10_000, description: 'rewrite period: a PLC that sees the heartbeat stop falls back safely' }),
    powerScale: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'the power setpoint is written as kW × powerScale (rounded for an integer node)' }),
    dryRun: Type.Optional(Type.Boolean({ description: 'commissioning this line while the others run: write nothing to it, read its variables and show what would be written (as outputs.dryRun, for this line only); switch it off at run time with POST /api/outputs/dry-run {line}' })),
    nodes: Type.Object(
      {
        command: { ...OpcuaNodeId, description: 'integer variable: 0 idle, 1 run, 2 halt' },
        powerSetpoint: { ...OpcuaNodeId, description: 'numeric variable: kW × powerScale' },
        validUntil: { ...OpcuaNodeId, description: 'DateTime variable, or an integer variable holding Unix seconds' },
        heartbeat: { ...OpcuaNodeId, description: 'integer variable: counter, +1 per write cycle (wraps at 65535)' },
      },
      { additionalProperties: false, description: 'written each cycle (unless a method is given) and always read back' },
    ),
    method: Type.Optional(
      Type.Object(
        { objectId: OpcuaNodeId, methodId: OpcuaNodeId },
        { additionalProperties: false, description: 'instead of writing the variables, call this method with (command, power setpoint, valid until, heartbeat), then read the variables back' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const OpcuaSection = Type.Object(
  {
    pkiDir: Type.Optional(Type.String({ description: 'the client PKI (own certificate and key, trusted/ and rejected/ server certificates); default <dataDir>/opcua-pki: inside the data directory, the one place the systemd unit lets the gateway write' })),
    devices: Type.Array(OpcuaDevice, { default: [] }),
    lines: Type.Array(OpcuaLine, { default: [] }),
  },
  { additionalProperties: false, default: {} },
);
