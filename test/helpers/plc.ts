import modbusSerial from 'modbus-serial';

const { ServerTCP } = modbusSerial as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP };

/** A real Modbus TCP server (modbus-serial's ServerTCP) standing in for a sensor or a PLC. */
export class FakePlc {
  readonly holding = new Map<number, number>();
  readonly input = new Map<number, number>();
  /** Addresses that never answer (to provoke timeouts). */
  readonly silent = new Set<number>();
  /** Addresses whose writes are acknowledged but not kept (to provoke read-back failures). */
  readonly dropWrites = new Set<number>();
  private server?: InstanceType<typeof ServerTCP>;
  requests = 0;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const read = (map: Map<number, number>) => (addr: number, _unit: number, cb: (err: unknown, value: number) => void) => {
      this.requests++;
      if (this.silent.has(addr)) return; // no answer at all
      const value = map.get(addr);
      if (value === undefined) cb({ modbusErrorCode: 2, msg: 'illegal data address' }, 0);
      else cb(null, value);
    };
    const server = new ServerTCP(
      {
        getHoldingRegister: read(this.holding),
        getInputRegister: read(this.input),
        setRegister: (addr: number, value: number, _unit: number, cb: (err: unknown) => void) => {
          if (!this.dropWrites.has(addr)) this.holding.set(addr, value);
          cb(null);
        },
      } as never,
      { host: '127.0.0.1', port: this.port, unitID: 1 },
    );
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.on('initialized', () => resolve());
      server.on('serverError', (e: unknown) => reject(e));
    });
  }

  /** Power off: stop listening and drop every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const sock of server.socks.keys()) sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }
}
