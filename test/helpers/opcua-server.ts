import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OPCUACertificateManager, OPCUAServer, DataType, MessageSecurityMode, SecurityPolicy, StatusCodes, Variant, nodesets, type StatusCode, type UAVariable, type Namespace } from 'node-opcua';

/** One variable the test server serves: a value the test sets, optionally a status code instead of a value. */
export interface TestVariable {
  /** The identifier inside the namespace: a number (`i=`) or a string (`s=`). */
  id: number | string;
  dataType: 'Double' | 'Int16' | 'UInt16' | 'UInt32' | 'Int32' | 'Boolean' | 'String' | 'DateTime';
  value: unknown;
  writable?: boolean;
  /** Answers Good to a write but keeps its value (a PLC program that overwrites the tag): read-back must catch it. */
  ignoreWrites?: boolean;
}

export interface TestServerOptions {
  port: number;
  /** The PKI (own certificate, trusted and rejected client certificates) of this server. */
  pkiDir: string;
  namespaceUri: string;
  /** Namespaces registered before ours, so ours gets another index (a PLC reload that renumbers). */
  before?: string[];
  /** In each of those namespaces, the same numeric variables (same identifiers) holding this value: what a stale index would read. */
  decoyValue?: number;
  variables: TestVariable[];
  /** Secure endpoints only (Basic256Sha256 Sign and SignAndEncrypt) when true; None only when false. */
  secure?: boolean;
  users?: Array<{ username: string; password: string }>;
  /** Method `SetCommand(command: UInt16, powerKw: Double)` on object `s=Line`, writing `s=Line.Command` and `s=Line.PowerSetpoint`. */
  method?: boolean;
}

/**
 * A real node-opcua server for the tests, listening on 127.0.0.1:`port` with its own PKI in `pkiDir`. Client
 * certificates are accepted automatically (the client side is what the tests exercise); `values` holds what
 * clients wrote, `setStatus` makes a variable answer with a bad status code, `remove` deletes a node (a PLC
 * download that dropped it).
 */
export class TestOpcuaServer {
  server?: OPCUAServer;
  private ns?: Namespace;
  readonly nodes = new Map<string | number, UAVariable>();
  private readonly values = new Map<string | number, unknown>();
  private readonly status = new Map<string | number, StatusCode>();
  writes = 0;
  /** Writes per variable id, counted on the server side (a write the variable ignores counts too). */
  readonly writesOf = new Map<string | number, number>();
  methodCalls = 0;

  constructor(readonly options: TestServerOptions) {
    for (const v of options.variables) this.values.set(v.id, v.value);
  }

  get endpointUrl(): string {
    return `opc.tcp://127.0.0.1:${this.options.port}/UA/Test`;
  }

  get namespaceIndex(): number {
    return this.ns!.index;
  }

  async start(): Promise<void> {
    mkdirSync(this.options.pkiDir, { recursive: true });
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(this.options.pkiDir, 'server'), automaticallyAcceptUnknownCertificate: true });
    const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(this.options.pkiDir, 'user'), automaticallyAcceptUnknownCertificate: true });
    const users = this.options.users ?? [];
    const server = new OPCUAServer({
      port: this.options.port,
      hostname: '127.0.0.1',
      resourcePath: '/UA/Test',
      nodeset_filename: [nodesets.standard],
      serverCertificateManager,
      userCertificateManager,
      securityPolicies: this.options.secure ? [SecurityPolicy.Basic256Sha256] : [SecurityPolicy.None],
      securityModes: this.options.secure ? [MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt] : [MessageSecurityMode.None],
      allowAnonymous: users.length === 0,
      userManager: users.length ? { isValidUser: (u: string, p: string) => users.some((x) => x.username === u && x.password === p) } : undefined,
      serverInfo: { applicationUri: `urn:choco-edge:test-plc:${this.options.port}`, productUri: 'choco-edge-test-plc' },
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace!;
    for (const uri of this.options.before ?? []) {
      const other = addressSpace.registerNamespace(uri);
      if (this.options.decoyValue === undefined) continue;
      for (const v of this.options.variables.filter((x) => x.dataType === 'Double')) {
        other.addVariable({ organizedBy: addressSpace.rootFolder.objects, browseName: `decoy-${v.id}`, nodeId: typeof v.id === 'number' ? `i=${v.id}` : `s=${v.id}`, dataType: 'Double', value: { dataType: DataType.Double, value: this.options.decoyValue } });
      }
    }
    const ns = addressSpace.registerNamespace(this.options.namespaceUri);
    this.ns = ns;
    const folder = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Plant', nodeId: 's=Plant' });
    for (const v of this.options.variables) {
      const id = v.id;
      const node = ns.addVariable({
        componentOf: folder,
        browseName: String(id),
        nodeId: typeof id === 'number' ? `i=${id}` : `s=${id}`,
        dataType: v.dataType,
        accessLevel: v.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        userAccessLevel: v.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        minimumSamplingInterval: 50,
        value: {
          get: () => this.status.get(id) ?? new Variant({ dataType: DataType[v.dataType], value: this.values.get(id) }),
          set: (variant: Variant) => {
            if (!v.ignoreWrites) this.values.set(id, variant.value);
            this.writes++;
            this.writesOf.set(id, (this.writesOf.get(id) ?? 0) + 1);
            return StatusCodes.Good;
          },
        },
      });
      this.nodes.set(id, node);
    }
    if (this.options.method) {
      const line = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Line', nodeId: 's=Line' });
      const method = ns.addMethod(line, {
        browseName: 'SetCommand',
        nodeId: 's=Line.SetCommand',
        inputArguments: [
          { name: 'command', dataType: DataType.UInt16 },
          { name: 'powerKw', dataType: DataType.Double },
          { name: 'validUntil', dataType: DataType.UInt32 },
          { name: 'heartbeat', dataType: DataType.UInt16 },
        ],
        outputArguments: [],
      });
      method.bindMethod(async (args: Variant[], _context: unknown) => {
        this.methodCalls++;
        this.values.set('Line.Command', args[0]!.value);
        this.values.set('Line.PowerSetpoint', args[1]!.value);
        this.values.set('Line.ValidUntil', args[2]!.value);
        this.values.set('Line.Heartbeat', args[3]!.value);
        return { statusCode: StatusCodes.Good, outputArguments: [] };
      });
    }
    await server.start();
    this.server = server;
  }

  /** Changes a value (the next sample of the server's sampling picks it up). */
  set(id: string | number, value: unknown): void {
    this.values.set(id, value);
  }

  get(id: string | number): unknown {
    return this.values.get(id);
  }

  /** Makes a variable answer with a bad status (a sensor wire break: BadSensorFailure), or clears it. */
  /** From now on every CreateSubscription is answered BadTooManySubscriptions (a PLC at its subscription limit). */
  refuseSubscriptions(): void {
    const caps = this.server!.engine.serverCapabilities as unknown as { maxSubscriptionsPerSession: number; maxSubscriptions: number };
    caps.maxSubscriptionsPerSession = 0;
    caps.maxSubscriptions = 0;
  }

  setStatus(id: string | number, status: 'BadSensorFailure' | 'BadCommunicationError' | null): void {
    if (status === null) this.status.delete(id);
    else this.status.set(id, StatusCodes[status]);
  }

  /** Deletes a node, as a PLC download that dropped a tag would. */
  remove(id: string | number): void {
    const node = this.nodes.get(id);
    if (node) this.ns!.deleteNode(node);
    this.nodes.delete(id);
  }

  /** The server's own certificate (DER) as a client would have to trust it. */
  get certificateFile(): string {
    return join(this.options.pkiDir, 'server', 'own', 'certs', 'certificate.pem');
  }

  /** Ends every session as the server does when a session times out (ClosingReason "Timeout"); returns how many. */
  expireSessions(): number {
    const engine = this.server!.engine as unknown as { _sessions: Record<string, { authenticationToken: never }>; closeSession(token: never, deleteSubscriptions: boolean, reason: 'Timeout'): void };
    const sessions = Object.values(engine._sessions);
    for (const s of sessions) engine.closeSession(s.authenticationToken, true, 'Timeout');
    return sessions.length;
  }

  /** Copies this server's certificate into a client PKI's trusted/certs (what an engineer does to trust a PLC). */
  trustIn(clientPkiDir: string): void {
    mkdirSync(join(clientPkiDir, 'trusted', 'certs'), { recursive: true });
    copyFileSync(this.certificateFile, join(clientPkiDir, 'trusted', 'certs', `test-plc-${this.options.port}.pem`));
  }

  async stop(): Promise<void> {
    await this.server?.shutdown(0);
    this.server = undefined;
  }
}
