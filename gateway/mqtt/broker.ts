import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../log.js';

export interface BrokerOptions {
  host: string;
  port: number;
  wsPort: number;
}

/** The embedded aedes broker on TCP and WebSocket. */
export class EmbeddedBroker {
  private aedes?: Aedes;
  private tcp?: NetServer;
  private http?: HttpServer;
  private wss?: WebSocketServer;
  published = 0;

  constructor(
    private readonly options: BrokerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<{ port: number; wsPort: number }> {
    const aedes = await Aedes.createBroker();
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
    const ports = { port: (this.tcp.address() as AddressInfo).port, wsPort: (this.http.address() as AddressInfo).port };
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
