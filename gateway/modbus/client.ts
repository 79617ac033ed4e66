import type modbusSerial from 'modbus-serial';

// modbus-serial is CommonJS: its module object is the client class, and `.default` points back to it.
export type ModbusClient = InstanceType<(typeof modbusSerial)['default']>;

/**
 * modbus-serial, imported on the first connection: it loads serialport and its native bindings (about 6 MB of
 * RSS), which a gateway with no Modbus device or output never needs.
 */
let modbusRtu: Promise<(typeof modbusSerial)['default']> | undefined;
const loadModbusRtu = () => (modbusRtu ??= import('modbus-serial').then((m) => m.default.default));

/** Imports modbus-serial now: plugins with devices configured call it at start, so the first poll is not delayed. */
export async function preloadModbus(): Promise<void> {
  await loadModbusRtu();
}

export interface ModbusEndpoint {
  transport: 'tcp' | 'rtu';
  host?: string;
  port: number;
  path?: string;
  baudRate: number;
  unitId: number;
  timeoutMs: number;
}

/** Modbus exception 6, "server device busy": the device asks to be asked again later. */
export const MODBUS_BUSY = 6;
/** How often a request answered "busy" is asked again, and the first wait (doubled each time), in device time. */
export const BUSY_RETRIES = 4;
export const BUSY_FIRST_WAIT_MS = 50;

/** The request methods of modbus-serial's promise API: each one is a request on the wire. */
const REQUEST_METHODS = [
  'readCoils',
  'readDiscreteInputs',
  'readHoldingRegisters',
  'readRegistersEnron',
  'readInputRegisters',
  'writeCoil',
  'writeRegister',
  'writeRegisterEnron',
  'writeCoils',
  'writeRegisters',
  'reportServerID',
  'readFileRecords',
  'maskWriteRegister',
  'readWriteRegisters',
  'readDeviceIdentification',
  'customFunction',
] as const;

/** Serialises the requests to one device: each starts after the previous one has been answered, failed or timed out. */
class DeviceQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(request: () => Promise<T>): Promise<T> {
    const result = this.tail.then(request, request);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const queues = new Map<string, DeviceQueue>();

/** A device is what sits at one TCP endpoint or on one serial line (a serial bus carries one request at a time). */
function deviceKey(e: ModbusEndpoint): string {
  return e.transport === 'tcp' ? `tcp:${e.host}:${e.port}` : `rtu:${e.path}`;
}

function isBusy(error: unknown): boolean {
  return (error as { modbusCode?: number } | null)?.modbusCode === MODBUS_BUSY;
}

/** Device time: the wire's real milliseconds, whatever simulated clock the gateway runs on. */
const deviceSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A request modbus-serial never settles (its port destroyed under it) must not hold the device's queue forever. */
function withDeadline<T>(request: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer nor timeout after ${ms} ms`)), ms);
  });
  return Promise.race([request, deadline]).finally(() => clearTimeout(timer));
}

async function askUntilNotBusy<T>(request: () => Promise<T>, deadlineMs: number, label: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withDeadline(request(), deadlineMs, label);
    } catch (error) {
      if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
      await deviceSleep(BUSY_FIRST_WAIT_MS * 2 ** attempt);
    }
  }
}

/**
 * A Modbus TCP request that got no answer with its own transaction id, but did get answers with another one: the
 * device (or a gateway in front of it) answered out of turn. modbus-serial drops such frames and reports the
 * request "Timed out"; this names what happened instead. `code` is `transaction_mismatch`.
 */
export class ModbusTransactionMismatchError extends Error {
  readonly code = 'transaction_mismatch';
  constructor(
    label: string,
    readonly expected: number,
    readonly got: number[],
  ) {
    const late = got.every((id) => id < expected && expected - id <= 16);
    super(
      `${label}: answered with transaction id ${got.join(', ')} where ${expected} was expected (${late ? 'a late answer to an earlier request' : 'answers mixed up by the device or a gateway in front of it'}); no answer to this request within the timeout`,
    );
    this.name = 'ModbusTransactionMismatchError';
  }
}

interface TcpPortInternals {
  _transactionIdRead?: number;
  _transactionIdWrite?: number;
  prependListener?: (event: 'data', listener: () => void) => void;
}

/**
 * Watches a TCP client's answers: while a request is on the wire (one at a time, see `DeviceQueue`), every frame
 * whose transaction id is not the request's is remembered, and a timeout of that request becomes a
 * `ModbusTransactionMismatchError`.
 */
function watchTransactionIds(client: ModbusClient, label: string): <T>(request: () => Promise<T>) => Promise<T> {
  const port = (client as unknown as { _port?: TcpPortInternals })._port;
  if (!port?.prependListener || port._transactionIdWrite === undefined) return (request) => request();
  let inFlight: { expected: number; got: number[] } | undefined;
  port.prependListener('data', () => {
    const id = port._transactionIdRead;
    if (inFlight && id !== undefined && id !== inFlight.expected) inFlight.got.push(id);
  });
  return async <T>(request: () => Promise<T>): Promise<T> => {
    const current = { expected: port._transactionIdWrite!, got: [] as number[] };
    inFlight = current;
    try {
      return await request();
    } catch (error) {
      if (current.got.length && /timed out/i.test((error as Error)?.message ?? '')) throw new ModbusTransactionMismatchError(label, current.expected, current.got);
      throw error;
    } finally {
      if (inFlight === current) inFlight = undefined;
    }
  };
}

/**
 * A client connected over TCP or RTU with its unit id and timeout set; `label` names the device in errors.
 * Every request of every client to the same device (TCP host:port, or serial path) goes through one queue: one
 * request on the wire at a time, however many clients share the device. A request answered with exception 6
 * (busy) is asked again up to BUSY_RETRIES times, waiting 50, 100, 200… ms of real time, before it fails.
 * Errors: connection refused/timed out (from modbus-serial), `TransactionTimedOutError` per request,
 * `ModbusTransactionMismatchError` when only answers with another transaction id came (TCP), and Modbus exceptions
 * with `modbusCode`.
 */
export async function connectModbus(e: ModbusEndpoint, label: string): Promise<ModbusClient> {
  const ModbusRTU = await loadModbusRtu();
  const client = new ModbusRTU();
  if (e.transport === 'tcp') {
    if (!e.host) throw new Error(`${label}: tcp needs a host`);
    await client.connectTCP(e.host, { port: e.port });
  } else {
    if (!e.path) throw new Error(`${label}: rtu needs a serial path`);
    await client.connectRTUBuffered(e.path, { baudRate: e.baudRate });
  }
  client.setID(e.unitId);
  client.setTimeout(e.timeoutMs);
  const key = deviceKey(e);
  const queue = queues.get(key) ?? new DeviceQueue();
  queues.set(key, queue);
  const methods = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const watched = e.transport === 'tcp' ? watchTransactionIds(client, label) : <T>(request: () => Promise<T>) => request();
  for (const name of REQUEST_METHODS) {
    const request = methods[name]!.bind(client);
    methods[name] = (...args: unknown[]) => queue.run(() => askUntilNotBusy(() => watched(() => request(...args)), e.timeoutMs * 2 + 1000, label));
  }
  return client;
}

export async function closeModbus(client: ModbusClient | undefined): Promise<void> {
  if (!client?.isOpen) return;
  await new Promise<void>((resolve) => client.close(() => resolve()));
}
