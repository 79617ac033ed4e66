import { createServer } from 'node:net';
import type { Clock } from '../../gateway/time/clock.js';
import type { SeriesStore } from '../../gateway/series/store.js';


interface SimulatedDevice {
  port: number;
  stop(): Promise<void>;
}

/** A Modbus TCP server on a free loopback port answering with `vector` (the handlers of modbus-serial's ServerTCP). */
async function serveModbus(vector: object): Promise<SimulatedDevice> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  // Imported here, not at the top: main.ts imports this file for `demo`, and modbus-serial (serialport and its
  // native bindings, ~6 MB of RSS) must not load in a gateway that has no Modbus device.
  const { ServerTCP } = (await import('modbus-serial')).default as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP };
  const server = new ServerTCP(vector as never, { host: '127.0.0.1', port, unitID: 1 });
  await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const sock of server.socks.keys()) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Registers of the simulated plant-floor sensor: temperature and humidity ×10, int16/uint16, big-endian. */
export const SIMULATED_POINTS = [
  { name: 'floor_temp', address: 0, type: 'int16' as const, scale: 0.1, unit: 'degC' as const },
  { name: 'floor_rh', address: 1, type: 'uint16' as const, scale: 0.1, unit: 'percent' as const },
];

/**
 * A SIMULATED Modbus TCP sensor for the demo only: the plant floor follows the replayed outdoor weather
 * through a crude air-conditioned-building response (a quarter of the outdoor swing around 21 °C / 50 %).
 * Its readings are not data; they exist so the demo shows the Modbus path working.
 */
export function startSimulatedSensor(store: () => SeriesStore | undefined, clock: Clock): Promise<SimulatedDevice> {
  const outdoor = async (series: string, fallback: number): Promise<number> => {
    const slots = await store()?.read(series, clock.now() - 2 * 3_600_000, clock.now() + 1);
    return slots?.at(-1)?.value ?? fallback;
  };
  return serveModbus({
    getHoldingRegister: async (addr: number) => {
      if (addr === 0) return Math.round((21 + 0.25 * ((await outdoor('obs.replay.temp', 21)) - 21)) * 10) & 0xffff;
      if (addr === 1) return Math.round((50 + 0.25 * ((await outdoor('obs.replay.rh', 50)) - 50)) * 10);
      throw { modbusErrorCode: 2, msg: 'illegal data address' };
    },
  });
}

/** A SIMULATED PLC for the demo: a Modbus TCP server that keeps whatever the gateway writes, one register block per line. */
export async function startSimulatedPlc(): Promise<SimulatedDevice & { holding: Map<number, number> }> {
  const holding = new Map<number, number>();
  const device = await serveModbus({
    getHoldingRegister: (addr: number) => holding.get(addr) ?? 0,
    setRegister: (addr: number, value: number) => {
      holding.set(addr, value);
    },
  });
  return { ...device, holding };
}

/** Register blocks of the simulated PLC: line i at 100 × (i + 1). */
export function simulatedLines(lines: string[], port: number) {
  return lines.map((line, i) => ({
    line,
    host: '127.0.0.1',
    port,
    watchdogMs: 10_000, // device time: real seconds whatever the replay speed
    timeoutMs: 5_000, // the simulated PLC answers from the demo's own event loop, which model runs can hold for a second
    registers: { command: 100 * (i + 1), powerSetpoint: 100 * (i + 1) + 1, validUntil: 100 * (i + 1) + 2, heartbeat: 100 * (i + 1) + 4 },
  }));
}
