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
  /** Write requests received (one per FC6/FC16 request, however many registers it sets). */
  writeRequests = 0;
  /** Every answer comes this many ms after the request (a slow PLC); the write is kept on arrival. */
  delayMs = 0;
  /** Answer exception 6 (server device busy) to this many requests in a row, then once normally, and again. */
  busyRun = 0;
  /** The n-th request from now (1 = the next) is answered this late (after the client's timeout): `{ at, ms }`. */
  lateOnce: { at: number; ms: number } | null = null;
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  busyAnswers = 0;
  lateAnswers = 0;
  private sinceBusy = 0;
  /** Every register write the PLC received, in arrival order (kept or not): the record a dry run must leave empty. */
  readonly writes: Array<{ address: number; value: number; at: number }> = [];

  constructor(readonly port: number) {}

  /** Answers `reply` after the configured delay, late or busy; counts requests in flight. */
  private answer(reply: () => void, busy: (err: unknown) => void): void {
    this.requests++;
    if (this.busyRun > 0 && this.sinceBusy < this.busyRun) {
      this.sinceBusy++;
      this.busyAnswers++;
      busy({ modbusErrorCode: 6, msg: 'server device busy' });
      return;
    }
    this.sinceBusy = 0;
    let ms = this.delayMs;
    if (this.lateOnce && --this.lateOnce.at === 0) {
      ms = this.lateOnce.ms;
      this.lateOnce = null;
      this.lateAnswers++;
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const done = () => {
      this.inFlight--;
      reply();
    };
    if (ms > 0) setTimeout(done, ms);
    else done();
  }

  async start(): Promise<void> {
    type Cb = (err: unknown, values: number[]) => void;
    const read = (map: Map<number, number>) => (addr: number, length: number, _unit: number, cb: Cb) => {
      const addresses = Array.from({ length }, (_, i) => addr + i);
      if (addresses.some((a) => this.silent.has(a))) {
        this.requests++;
        return; // no answer at all
      }
      this.registersRead += length;
      this.answer(() => {
        const values = addresses.map((a) => map.get(a));
        if (values.some((v) => v === undefined)) cb({ modbusErrorCode: 2, msg: 'illegal data address' }, []);
        else cb(null, values as number[]);
      }, (err) => cb(err, []));
    };
    const single = (multi: ReturnType<typeof read>) => (addr: number, unit: number, cb: (err: unknown, value: number) => void) => multi(addr, 1, unit, (err, values) => cb(err, values[0] ?? 0));
    const server = new ServerTCP(
      {
        getHoldingRegister: single(read(this.holding)),
        getInputRegister: single(read(this.input)),
        getMultipleHoldingRegisters: read(this.holding),
        getMultipleInputRegisters: read(this.input),
        setRegister: (addr: number, value: number, _unit: number, cb: (err: unknown) => void) => {
          this.writes.push({ address: addr, value, at: Date.now() });
          this.writeRequests++;
          this.answer(() => cb(null), cb);
          if (!this.dropWrites.has(addr) && this.sinceBusy === 0) this.holding.set(addr, value);
        },
        // Write Multiple Registers (FC16): one request, applied whole (as a PLC applies one request within a scan).
        setRegisterArray: (addr: number, values: number[], _unit: number, cb: (err: unknown) => void) => {
          const at = Date.now();
          values.forEach((value, i) => this.writes.push({ address: addr + i, value, at }));
          this.writeRequests++;
          this.answer(() => cb(null), cb);
          if (this.sinceBusy === 0) values.forEach((value, i) => !this.dropWrites.has(addr + i) && this.holding.set(addr + i, value));
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
