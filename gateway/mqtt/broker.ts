import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import './packet-cache.js';
import { allowed, clientIdProblem, verifyPassword, type MqttRole, type MqttUser } from './auth.js';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../util/log.js';

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
}

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

  constructor(
    private readonly options: BrokerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<{ port: number; wsPort: number; tlsPort?: number }> {
    const o = this.options;
    const principals = new WeakMap<object, Principal>();
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const pw = password ? Buffer.from(password).toString('utf8') : '';
        const refuse = (returnCode: number, reason: string): void => {
          this.refused++;
          this.log.warn({ client: client.id, username: username ?? null, reason }, 'MQTT connection refused');
          done(Object.assign(new Error(reason), { returnCode }) as never, false);
        };
        if (username === o.internal.username && pw === o.internal.password) {
          principals.set(client, { role: 'admin', username });
          return done(null, true);
        }
        const user = o.users.find((u) => u.username === username);
        const principal: Principal | undefined =
          user && verifyPassword(pw, user.passwordHash) ? { role: user.role, lines: user.lines, username: user.username } : !username && o.allowAnonymous ? { role: 'admin', username: '(anonymous)' } : undefined;
        if (!principal) return refuse(username ? 4 : 5, 'not authorized');
        // Checked before aedes registers the client, so a refused id never disconnects the session holding it.
        const problem = clientIdProblem(client.id, o.reservedClientIds, user);
        if (problem) return refuse(2, problem);
        principals.set(client, principal);
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        const p = client ? principals.get(client) : undefined;
        if (!client || (p && allowed(p, o.base, 'publish', packet.topic))) return done(null);
        this.refused++;
        done(new Error(`${p?.username ?? '?'} may not publish to ${packet.topic}`));
      },
      authorizeSubscribe: (client, sub, done) => {
        const p = principals.get(client);
        if (p && allowed(p, o.base, 'subscribe', sub.topic)) return done(null, sub);
        this.refused++;
        done(null, null as never);
      },
    });
    this.aedes = aedes;
    aedes.on('publish', (_packet, client) => {
      if (client) this.published++;
    });
    aedes.on('clientError', (client, err) => this.log.debug({ client: client?.id, err: err.message }, 'client error'));
    this.tcp = createNetServer({ noDelay: true }, (socket) => aedes.handle(socket));
    await listen(this.tcp, this.options.port, this.options.host);
    this.http = createHttpServer();
    this.wss = new WebSocketServer({ server: this.http });
    this.wss.on('connection', (ws, req) => {
      (req.socket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      aedes.handle(createWebSocketStream(ws) as never, req);
    });
    await listen(this.http, this.options.wsPort, this.options.host);
    if (o.tls) {
      this.tlsServer = createTlsServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) }, (socket) => {
        socket.setNoDelay(true);
        aedes.handle(socket);
      });
      await listen(this.tlsServer, o.tls.port, this.options.host);
    }
    const ports = { port: (this.tcp.address() as AddressInfo).port, wsPort: (this.http.address() as AddressInfo).port, ...(this.tlsServer ? { tlsPort: (this.tlsServer.address() as AddressInfo).port } : {}) };
    this.log.info(ports, 'embedded MQTT broker listening');
    return ports;
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
