import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';

export interface CapturedLogin {
  clientId: string;
  username: string | null;
  password: string | null;
  protocolVersion: number;
}

/**
 * A real aedes broker that lets everybody in and records what each client logged in with. The CONNECT packet is
 * read off the socket with mqtt-packet (aedes 1.x speaks MQTT 3.1.1 only and refuses an MQTT 5 client such as the
 * uplink before its authenticate hook runs; the login it sent is recorded all the same).
 */
export class CapturingBroker {
  readonly logins: CapturedLogin[] = [];
  private aedes?: Aedes;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.aedes = await Aedes.createBroker({ authenticate: (_client, _username, _password, done) => done(null, true) });
    const aedes = this.aedes;
    this.server = createServer((socket) => {
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (packet) => {
        if (packet.cmd !== 'connect') return;
        const c = packet as mqttPacket.IConnectPacket;
        this.logins.push({ clientId: c.clientId, username: c.username ?? null, password: c.password ? Buffer.from(c.password).toString('utf8') : null, protocolVersion: c.protocolVersion ?? 4 });
      });
      parser.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => parser.parse(chunk));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `mqtt://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.aedes ? this.aedes.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.server?.listening ? this.server.close(() => resolve()) : resolve()));
  }
}
