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
  /** Read requests answered or attempted (one per request, however many registers it asks for). */
  requests = 0;
  /** Registers asked for by those requests. */
  registersRead = 0;
  /** Delay before each read is answered (a slow device). */
  delayMs = 0;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    type Cb = (err: unknown, values: number[]) => void;
    const read = (map: Map<number, number>) => (addr: number, length: number, _unit: number, cb: Cb) => {
      this.requests++;
      this.registersRead += length;
      const addresses = Array.from({ length }, (_, i) => addr + i);
      if (addresses.some((a) => this.silent.has(a))) return; // no answer at all
      const values = addresses.map((a) => map.get(a));
      const answer = () => (values.some((v) => v === undefined) ? cb({ modbusErrorCode: 2, msg: 'illegal data address' }, []) : cb(null, values as number[]));
      if (this.delayMs > 0) setTimeout(answer, this.delayMs);
      else answer();
    };
    const single = (multi: ReturnType<typeof read>) => (addr: number, unit: number, cb: (err: unknown, value: number) => void) => multi(addr, 1, unit, (err, values) => cb(err, values[0] ?? 0));
    const server = new ServerTCP(
      {
        getHoldingRegister: single(read(this.holding)),
        getInputRegister: single(read(this.input)),
        getMultipleHoldingRegisters: read(this.holding),
        getMultipleInputRegisters: read(this.input),
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
