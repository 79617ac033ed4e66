import { createServer } from 'node:net';
import type { Clock } from '../../gateway/time/clock.js';
import { SHIPPED_PROFILES, encodeRegister, wireAddress, type MeterProfile, type MeterQuantity } from '../../gateway/meters/profile.js';
import { localParts } from '../../gateway/time/tz.js';

/** modbus-serial (serialport and its native bindings, ~6 MB) loads when a simulated meter starts, not with the CLI (gateway/main.ts imports this file). */
const modbusServers = async () => (await import('modbus-serial')).default as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP; ServerSerial: typeof import('modbus-serial').ServerSerial };

/** What a simulated meter shows at one request. */
export interface MeterValues {
  kw: number;
  importKwh: number;
  importKvarh?: number;
}

export interface MeterServer {
  port: number;
  /** Every read request answered or refused: function code, wire address, register count. */
  readonly requests: Array<{ fc: 3 | 4; address: number; count: number }>;
  stop(): Promise<void>;
}

/**
 * A real Modbus TCP server (modbus-serial's ServerTCP, on a free loopback port) that answers a meter profile's
 * registers, and only those: each register in its function code, wire address, type, word order and scale, from
 * `values()` at the time of the request. A read touching any other address (an off-by-one, a read across a gap, the
 * wrong function code) is answered with exception 2, illegal data address, as real meters do.
 */
export async function serveMeterProfile(profile: MeterProfile, values: () => MeterValues): Promise<MeterServer> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const requests: MeterServer['requests'] = [];
  const { ServerTCP } = await modbusServers();
  const server = new ServerTCP(meterVector(profile, values, requests) as never, { host: '127.0.0.1', port, unitID: 1 });
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', (e: unknown) => reject(e));
  });
  return {
    port,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const sock of server.socks.keys()) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The same meter on Modbus RTU: modbus-serial's ServerSerial on the serial device `path` (unit id 1, 9600 baud),
 * for tests over a pseudo-terminal pair standing in for an RS-485 line.
 */
export async function serveMeterProfileRtu(profile: MeterProfile, values: () => MeterValues, path: string): Promise<Omit<MeterServer, 'port'>> {
  const requests: MeterServer['requests'] = [];
  const { ServerSerial } = await modbusServers();
  const server = new ServerSerial(meterVector(profile, values, requests) as never, { path, baudRate: 9600, unitID: 1 });
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('error', (e: unknown) => reject(e));
  });
  return { requests, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The request handlers of a server answering `profile`'s registers only (exception 2 for any other address). */
function meterVector(profile: MeterProfile, values: () => MeterValues, requests: MeterServer['requests']): object {
  const mapped = (Object.entries(profile.registers) as Array<[MeterQuantity, MeterProfile['registers'][MeterQuantity]]>).filter(([, r]) => r !== undefined);
  type Cb = (err: unknown, values: number[]) => void;
  const read = (fc: 3 | 4) => (addr: number, length: number, _unit: number, cb: Cb) => {
    requests.push({ fc, address: addr, count: length });
    const now = values();
    const words = new Map<number, number>();
    for (const [quantity, r] of mapped) {
      if (r!.function !== fc) continue;
      const value = now[quantity];
      if (value === undefined) continue;
      encodeRegister(value, r!).forEach((w, i) => words.set(wireAddress(profile, r!) + i, w));
    }
    const out = Array.from({ length }, (_, i) => words.get(addr + i));
    if (out.some((w) => w === undefined)) cb({ modbusErrorCode: 2, msg: 'illegal data address' }, []);
    else cb(null, out as number[]);
  };
  const single = (multi: ReturnType<typeof read>) => (addr: number, unit: number, cb: (err: unknown, value: number) => void) => multi(addr, 1, unit, (err, v) => cb(err, v[0] ?? 0));
  return { getMultipleInputRegisters: read(4), getMultipleHoldingRegisters: read(3), getInputRegister: single(read(4)), getHoldingRegister: single(read(3)) };
}

/** The demo plant's base load (kW) at `ms`: 55 kW at night, 85 kW in the working day (07-21 local), with a slow ripple. */
export function plantBaseLoadKw(ms: number): number {
  const { hour, minute } = localParts(ms);
  const day = hour >= 7 && hour < 21 ? 30 : 0;
  return 55 + day + 3 * Math.sin((2 * Math.PI * (hour * 60 + minute)) / 47);
}

/** What the simulated site meter needs of the simulated PLC: its holding registers and each line's command and setpoint address. */
export interface SimulatedPlcView {
  holding: Map<number, number>;
  lines: Array<{ line: string; registers: { command: number; powerSetpoint: number } }>;
}

/**
 * A SIMULATED site meter for the demo only (Eastron SDM630 profile, real Modbus TCP): its power is the plant's base
 * load plus the power setpoint of every line whose PLC command register says run (1), i.e. the runs the plan
 * actually started, as the simulated PLC received them (`plc`: the simulated Modbus PLC's registers, or for the
 * simulated OPC UA PLC a function giving the kW of the lines its Command variables say run); its import counter integrates that power on the gateway's
 * (replay) clock, its reactive counter at cos φ 0.95. Its readings are not data: they exist so the demo shows a
 * measured bill and measured savings, and the meter is labelled simulated wherever it appears.
 */
export async function startSimulatedSiteMeter(clock: Clock, plc: SimulatedPlcView | (() => number), startKwh = 125_000): Promise<MeterServer & { powerKw(): number }> {
  const profile = SHIPPED_PROFILES['eastron-sdm630']!;
  let kwh = startKwh;
  let kvarh = startKwh * 0.33;
  let at = clock.now();
  const powerKw = (): number => {
    let kw = plantBaseLoadKw(clock.now());
    if (typeof plc === 'function') kw += plc();
    else for (const l of plc.lines) if (plc.holding.get(l.registers.command) === 1) kw += (plc.holding.get(l.registers.powerSetpoint) ?? 0) / 10;
    return Math.round(kw * 1000) / 1000;
  };
  let kw = powerKw();
  const server = await serveMeterProfile(profile, () => {
    const now = clock.now();
    // The counter integrates the power held since the last request (a meter integrates continuously; requests sample it).
    if (now > at) {
      kwh += (kw * (now - at)) / 3_600_000;
      kvarh += (kw * 0.329 * (now - at)) / 3_600_000;
      at = now;
    }
    kw = powerKw();
    return { kw, importKwh: kwh, importKvarh: kvarh };
  });
  return { ...server, powerKw };
}

/** The demo's meter entry (energy.meters) for the simulated site meter on `port`, labelled simulated. */
export function simulatedSiteMeterConfig(port: number) {
  return {
    name: 'site-main',
    role: 'site' as const,
    profile: 'eastron-sdm630',
    provenance: 'simulated: an SDM630 served by the demo; power = plant base load + the runs the simulated PLC received',
    host: '127.0.0.1',
    port,
    pollMs: 200,
    maxKw: 1_000, // the supply's limit, as a real installation sets it; the accelerated clock stretches event-loop stalls into minutes
    timeoutMs: 5_000, // answered from the demo's own event loop, which model runs can hold for a second
  };
}
