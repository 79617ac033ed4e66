import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import type { Duplex } from 'node:stream';
import './packet-cache.js';
import { allowed, clientIdProblem, verifyPasswordAsync, type MqttRole, type MqttUser } from './auth.js';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../util/log.js';
import { ConnectionGate, type ConnectionLimits } from '../util/connection-gate.js';
import { LoginGuard } from './login-guard.js';
import { MqttFrameGuard } from './packet-guard.js';

/** The embedded broker's limits (config `mqtt.embedded.limits`; README "Security", "Limits on every port"). */
export interface BrokerLimits extends ConnectionLimits {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnectPacketBytes: number;
  maxPacketBytes: number;
  maxLinePacketBytes: number;
  failedLoginsPerAddress: number;
  failedLoginWindowMs: number;
  maxPendingLogins: number;
}

/** What the internal client may send: the gateway's own plan and retained documents, never a client's. */
const INTERNAL_PACKET_BYTES = 16 * 1024 * 1024;
/** Checked for an unknown user name, so a wrong name costs what a wrong password costs (no user enumeration). */
const DUMMY_HASH = 'scrypt:AAAAAAAAAAAAAAAAAAAAAA==:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
import { RefusalLog } from './refusal-log.js';

export interface BrokerOptions {
  host: string;
  port: number;
  wsPort: number;
  base: string;
  allowAnonymous: boolean;
  users: MqttUser[];
  /** The gateway's own client: full access, password made fresh at every start. */
  internal: { username: string; password: string };
  /** Client ids only the internal user may connect with (gateway/mqtt/client-ids.ts). */
  reservedClientIds: string[];
  tls?: { port: number; cert: string; key: string };
  /** Defaults: DEFAULT_BROKER_LIMITS (the same as the config schema's). */
  limits?: Partial<BrokerLimits>;
}

export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  maxConnections: 512,
  maxConnectionsPerAddress: 64,
  connectBurstPerAddress: 100,
  connectsPerSecondPerAddress: 20,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxConnectPacketBytes: 65_536,
  maxPacketBytes: 262_144,
  maxLinePacketBytes: 16_384,
  failedLoginsPerAddress: 5,
  failedLoginWindowMs: 60_000,
  maxPendingLogins: 16,
};

type Principal = { role: MqttRole; lines?: string[]; username: string };

/** The embedded aedes broker on TCP and WebSocket. */
export class EmbeddedBroker {
  private aedes?: Aedes;
  private tcp?: NetServer;
  private http?: HttpServer;
  private wss?: WebSocketServer;
  published = 0;
  refused = 0;
  private tlsServer?: NetServer;
  /** Connections closed for a packet over its limit. */
  oversized = 0;
  /** One gate per port: `tcp`, `ws`, `tls`. */
  readonly gates: Record<string, ConnectionGate> = {};
  logins!: LoginGuard;
  private lastThrottleLog = -Infinity;

  constructor(
    private readonly options: BrokerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<{ port: number; wsPort: number; tlsPort?: number }> {
    const o = this.options;
    const principals = new WeakMap<object, Principal>();
    const limits = { ...DEFAULT_BROKER_LIMITS, ...o.limits };
    this.logins = new LoginGuard({ failuresPerAddress: limits.failedLoginsPerAddress, failureWindowMs: limits.failedLoginWindowMs, maxPendingChecks: limits.maxPendingLogins });
    /** The remote address of each connection aedes handles (a WebSocket stream has none of its own). */
    const addresses = new WeakMap<object, string>();
    const refusals = new RefusalLog(this.log);
    const aedes = await Aedes.createBroker({
      connectTimeout: limits.connectTimeoutMs,
      authenticate: (client, username, password, done) => {
        const pw = password ? Buffer.from(password).toString('utf8') : '';
        const address = addresses.get(client.conn) ?? '?';
        const refuse = (returnCode: number, reason: string, quiet = false): void => {
          this.refused++;
          if (!quiet) this.log.warn({ client: client.id, username: username ?? null, address, reason }, 'MQTT connection refused');
          done(Object.assign(new Error(reason), { returnCode }) as never, false);
        };
        if (username === o.internal.username && pw === o.internal.password) {
          principals.set(client, { role: 'admin', username });
          return done(null, true);
        }
        const admit = (principal: Principal, user?: MqttUser): void => {
          // Checked before aedes registers the client, so a refused id never disconnects the session holding it.
          const problem = clientIdProblem(client.id, o.reservedClientIds, user);
          if (problem) return refuse(2, problem);
          principals.set(client, principal);
          done(null, true);
        };
        if (!username) return o.allowAnonymous ? admit({ role: 'admin', username: '(anonymous)' }) : refuse(5, 'not authorized');
        // An address that keeps failing is refused unchecked: its guesses cost no scrypt and no log line each.
        if (this.logins.blocked(address)) {
          this.throttled(address, 'too many failed logins from this address');
          return refuse(5, 'not authorized', true);
        }
        const user = o.users.find((u) => u.username === username);
        void this.logins.run(() => verifyPasswordAsync(pw, user?.passwordHash ?? DUMMY_HASH)).then((ok) => {
          if (ok === 'busy') {
            this.throttled(address, 'too many logins waiting for a password check');
            return refuse(3, 'server unavailable', true);
          }
          if (!ok || !user) {
            this.logins.failed(address);
            return refuse(4, 'not authorized');
          }
          admit({ role: user.role, lines: user.lines, username: user.username }, user);
        });
      },
      authorizePublish: (client, packet, done) => {
        const p = client ? principals.get(client) : undefined;
        if (!client || (p && allowed(p, o.base, 'publish', packet.topic))) return done(null);
        this.refused++;
        refusals.refused('publish', { client: client.id, username: p?.username ?? '?' }, packet.topic);
        done(new Error(`${p?.username ?? '?'} may not publish to ${packet.topic}`));
      },
      authorizeSubscribe: (client, sub, done) => {
        const p = principals.get(client);
        if (p && allowed(p, o.base, 'subscribe', sub.topic)) return done(null, sub);
        this.refused++;
        refusals.refused('subscribe', { client: client.id, username: p?.username ?? '?' }, sub.topic);
        done(null, null as never);
      },
    });
    this.aedes = aedes;
    aedes.on('publish', (_packet, client) => {
      if (client) this.published++;
    });
    aedes.on('clientError', (client, err) => this.log.debug({ client: client?.id, err: err.message }, 'client error'));
    /** Packets over their sender's limit close the connection at their fixed header, before they are buffered. */
    const limitOf = (conn: object): number => {
      const p = principals.get((conn as { client?: object }).client ?? {});
      if (!p) return limits.maxConnectPacketBytes;
      if (p.username === o.internal.username) return INTERNAL_PACKET_BYTES;
      return p.role === 'line' ? limits.maxLinePacketBytes : limits.maxPacketBytes;
    };
    const handle = (conn: Duplex, address: string, raw: import('node:net').Socket, req?: unknown): void => {
      addresses.set(conn, address);
      raw.setTimeout(limits.idleTimeoutMs, () => raw.destroy());
      aedes.handle(conn as never, req as never);
      const guard = new MqttFrameGuard(
        () => limitOf(conn),
        (type, bytes, limit) => {
          this.oversized++;
          this.throttled(address, `packet type ${type} of ${Number.isFinite(bytes) ? bytes : 'malformed'} bytes over the limit of ${limit}`);
          conn.destroy();
          raw.destroy();
        },
      );
      // Added after aedes's 'readable' listener, so it sees exactly the chunks aedes reads and never starts a flow.
      conn.on('data', (chunk: Buffer) => guard.feed(chunk));
    };
    const gate = (name: string, server: NetServer | HttpServer): void => {
      this.gates[name] = new ConnectionGate(`mqtt-${name}`, limits, this.log);
      this.gates[name].attach(server);
    };
    this.tcp = createNetServer({ noDelay: true }, (socket) => {
      if (!socket.destroyed) handle(socket, socket.remoteAddress ?? '?', socket);
    });
    gate('tcp', this.tcp);
    await listen(this.tcp, this.options.port, this.options.host);
    // The upgrade request must be complete within the CONNECT time (checked every quarter of it, not every 30 s).
    this.http = createHttpServer({ headersTimeout: limits.connectTimeoutMs, requestTimeout: limits.connectTimeoutMs, connectionsCheckingInterval: Math.max(250, limits.connectTimeoutMs / 4) });
    gate('ws', this.http);
    // One MQTT packet per WebSocket message (what MQTT over WebSocket clients send): no message larger than the largest packet.
    this.wss = new WebSocketServer({ server: this.http, maxPayload: Math.max(INTERNAL_PACKET_BYTES, limits.maxPacketBytes) + 5 });
    this.wss.on('connection', (ws, req) => {
      req.socket.setNoDelay(true);
      handle(createWebSocketStream(ws), req.socket.remoteAddress ?? '?', req.socket, req);
    });
    await listen(this.http, this.options.wsPort, this.options.host);
    if (o.tls) {
      this.tlsServer = createTlsServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key), handshakeTimeout: limits.connectTimeoutMs }, (socket) => {
        socket.setNoDelay(true);
        handle(socket, socket.remoteAddress ?? '?', socket);
      });
      gate('tls', this.tlsServer);
      await listen(this.tlsServer, o.tls.port, this.options.host);
    }
    const ports = { port: (this.tcp.address() as AddressInfo).port, wsPort: (this.http.address() as AddressInfo).port, ...(this.tlsServer ? { tlsPort: (this.tlsServer.address() as AddressInfo).port } : {}) };
    this.log.info(ports, 'embedded MQTT broker listening');
    return ports;
  }

  /** Logs refusals of a flood at most once a minute, with the counts so far, instead of one line per attempt. */
  private throttled(address: string, reason: string): void {
    const t = performance.now();
    if (t - this.lastThrottleLog < 60_000) return;
    this.lastThrottleLog = t;
    this.log.warn({ address, reason, refusedLogins: { ...this.logins.refused }, oversized: this.oversized }, 'MQTT client refused (further refusals of this kind are counted, logged once a minute)');
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async stop(): Promise<void> {
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.aedes ? this.aedes.close(() => resolve()) : resolve()));
    await closeServer(this.tcp);
    await closeServer(this.http);
    await closeServer(this.tlsServer);
  }
}

function listen(server: NetServer | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: NetServer | HttpServer | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!server || !server.listening) return resolve();
    (server as HttpServer).closeAllConnections?.();
    server.close(() => resolve());
  });
}
