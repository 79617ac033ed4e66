import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { EmbeddedBroker } from '../../gateway/mqtt/broker.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import type { WeatherSource } from '../../gateway/sources/weather-source.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { closeModbus, connectModbus, ModbusTransactionMismatchError } from '../../gateway/modbus/client.js';
import { createModbusSensors } from '../../plugins/modbus-sensors/index.js';
import { aemetPlugin } from '../../plugins/aemet/index.js';
import { createUplink } from '../../plugins/uplink/index.js';
import { pluginContext, silent, testConfig, type TestContext } from '../helpers/context.js';
import { AEMET_KEY, FixtureServer, aemetRoutes } from '../helpers/fixture-server.js';
import { MOSQUITTO, Mosquitto, freePort } from '../helpers/mosquitto.js';

/** Issue #27 fault 6: diagnostics that mislead. */

/**
 * A Modbus TCP device on a real socket that answers every read holding registers request correctly except for its
 * MBAP transaction id (`shift` added): the bug of some serial-to-TCP gateways. Not modbus-serial's ServerTCP, which
 * always echoes the id; the frames are built here byte by byte (MBAP + PDU, Modbus Application Protocol v1.1b3).
 */
async function wrongIdDevice(shift: number): Promise<{ port: number; server: Server; answered: () => number }> {
  let answered = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 12) {
        const length = buffer.readUInt16BE(4);
        if (buffer.length < 6 + length) return;
        const frame = buffer.subarray(0, 6 + length);
        buffer = buffer.subarray(6 + length);
        const id = frame.readUInt16BE(0);
        const unit = frame[6]!;
        const count = frame.readUInt16BE(10);
        const pdu = Buffer.alloc(2 + 2 * count);
        pdu[0] = 3;
        pdu[1] = 2 * count;
        for (let i = 0; i < count; i++) pdu.writeUInt16BE(200 + i, 2 + 2 * i);
        const mbap = Buffer.alloc(7);
        mbap.writeUInt16BE((id + shift) & 0xffff, 0);
        mbap.writeUInt16BE(0, 2);
        mbap.writeUInt16BE(pdu.length + 1, 4);
        mbap[6] = unit;
        answered++;
        socket.write(Buffer.concat([mbap, pdu]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return { port: (server.address() as { port: number }).port, server, answered: () => answered };
}

describe('a Modbus answer with the wrong transaction id is reported as such, not as "Timed out"', () => {
  let device: Awaited<ReturnType<typeof wrongIdDevice>>;
  beforeAll(async () => {
    device = await wrongIdDevice(100);
  });
  afterAll(() => new Promise<void>((resolve) => device.server.close(() => resolve())));

  it('the client names the ids; the sensor health says transaction_mismatch', async () => {
    const client = await connectModbus({ transport: 'tcp', host: '127.0.0.1', port: device.port, baudRate: 9600, unitId: 1, timeoutMs: 300 }, 'device probe');
    const error = (await client.readHoldingRegisters(0, 2).catch((e: unknown) => e)) as Error;
    await closeModbus(client);
    expect(error).toBeInstanceOf(ModbusTransactionMismatchError);
    expect(error.message).toBe('device probe: answered with transaction id 101 where 1 was expected (answers mixed up by the device or a gateway in front of it); no answer to this request within the timeout');
    expect(device.answered()).toBe(1);

    const config = testConfig('http://127.0.0.1:9', { modbus: { devices: [{ name: 'mixed', host: '127.0.0.1', port: device.port, pollMs: 200, timeoutMs: 300, maxBackoffMs: 400, points: [{ name: 't', address: 0, type: 'int16' }] }] } });
    const store = await SeriesStore.open(join(config.dataDir, 'store'));
    const clock = new SystemClock();
    const mqtt = new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 'test', clientId: 'x', reconnectMs: 1000 }, clock, silent);
    const ctx: PluginContext = { config, clock, log: silent, bus: new EventBus(), store, fetcher: new Fetcher(clock, config.fetch), mqtt, mqttUrl: '', mqttCredentials: {}, catalog: () => [] };
    const plugin = createModbusSensors(ctx);
    await plugin.start();
    try {
      await vi.waitFor(() => expect((plugin.health().details!.devices as Record<string, { code?: string }>).mixed!.code).toBe('transaction_mismatch'), { timeout: 60_000 });
      const h = (plugin.health().details!.devices as Record<string, { state: string; message: string }>).mixed!;
      expect(h.state).toBe('failed');
      expect(h.message).toMatch(/^device mixed: answered with transaction id \d+ where \d+ was expected .*; reconnecting in \d+ ms$/);
      expect(h.message).not.toMatch(/^Timed out/);
    } finally {
      await plugin.stop();
      await store.close();
    }
  });
});

describe("AEMET's 429 is labelled rate-limited, not server_error / unreachable", () => {
  const server = new FixtureServer();
  let ctx: TestContext;
  beforeAll(() => server.start());
  afterAll(() => server.stop());
  afterEach(() => ctx?.close());

  it('HTTP 429 with AEMET\'s body on every try: health says rate limited with code rate_limited; it recovers', async () => {
    server.routes = aemetRoutes(server);
    ctx = await pluginContext(testConfig(server.base, { sources: { aemet: { enabled: true, apiKey: AEMET_KEY, baseUrl: `${server.base}/opendata/api` } } }), '2021-01-09T12:30:00Z');
    const source = aemetPlugin.create(ctx) as WeatherSource;
    await source.start();
    const limit = { status: 429, body: JSON.stringify({ descripcion: 'Límite de peticiones o caudal por minuto excedido para este usuario. Espere al siguiente minuto.', estado: 429 }) };
    server.script('/opendata/api/observacion', ...Array(ctx.config.fetch.retries + 1).fill(limit));
    let done = false;
    const running = source.ingest().then(
      (r) => r,
      (e: unknown) => e,
    ).finally(() => (done = true));
    for (let i = 0; i < 10 && !done; i++) {
      await vi.waitFor(() => expect(done || ctx.clock.pendingTimers() > 0).toBe(true), { timeout: 60_000, interval: 20 });
      await ctx.clock.advance(61_000);
    }
    await running;
    const h = source.health();
    expect(h.code).toBe('rate_limited');
    expect(h.message).toMatch(/^rate limited, retrying after the wait: aemet: no station answered usefully: .*HTTP 429 rate limited/);
    expect(h.message).not.toMatch(/unreachable|server_error/);
  });

  it('estado 429 inside the envelope is rate limited too', async () => {
    server.routes = aemetRoutes(server);
    ctx = await pluginContext(testConfig(server.base, { sources: { aemet: { enabled: true, apiKey: AEMET_KEY, baseUrl: `${server.base}/opendata/api` } } }), '2021-01-09T12:30:00Z');
    const source = aemetPlugin.create(ctx) as WeatherSource;
    await source.start();
    server.script('/opendata/api/observacion', { body: JSON.stringify({ descripcion: 'Límite de peticiones o caudal por minuto excedido para este usuario. Espere al siguiente minuto.', estado: 429 }) });
    await source.ingest().catch(() => undefined);
    expect(source.health()).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^rate limited, retrying after the wait: aemet: no station answered usefully: aemet: rate limited \(estado 429/) });
  });
});

// Needs Debian's mosquitto (the lead installs it with apt); skipped without it.
describe.skipIf(!MOSQUITTO)('the uplink reports a dead link within a bounded time (Mosquitto frozen with SIGSTOP)', () => {
  let upstream: Mosquitto;
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });

  it('keepaliveS 2: "ok, connected" turns degraded "link dead" within 1.5 × keepalive (+ slack), and ok again when the broker thaws', async () => {
    upstream = new Mosquitto(await freePort());
    await upstream.start();
    closers.push(() => upstream.stop());
    const local = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'choco-edge', allowAnonymous: true, users: [], internal: { username: 'i', password: 'i' }, reservedClientIds: [] }, silent);
    const { port } = await local.start();
    closers.push(() => local.stop());
    const config = testConfig('http://127.0.0.1:9', { uplink: { enabled: true, url: `mqtt://127.0.0.1:${upstream.port}`, reconnectMs: 300, keepaliveS: 2 } });
    const store = await SeriesStore.open(join(config.dataDir, 'store'));
    closers.push(() => store.close());
    const clock = new SystemClock();
    const mqtt = new MqttConnection({ url: `mqtt://127.0.0.1:${port}`, base: 'choco-edge', clientId: 'gw', reconnectMs: 200 }, clock, silent);
    await mqtt.start();
    closers.push(() => mqtt.stop());
    const ctx: PluginContext = { config, clock, log: silent, bus: new EventBus(), store, fetcher: new Fetcher(clock, config.fetch), mqtt, mqttUrl: '', mqttCredentials: {}, catalog: () => [] };
    const uplink = createUplink(ctx);
    await uplink.start();
    closers.push(async () => {
      upstream.resume();
      await uplink.stop();
    });
    await vi.waitFor(() => expect(uplink.health().state).toBe('ok'), { timeout: 60_000 });

    upstream.pause();
    const frozenAt = performance.now();
    // Traffic keeps flowing towards the frozen broker (the kernel still accepts its bytes).
    const traffic = setInterval(() => void mqtt.publish('alerts', { v: 1, test: true } as never, { retain: false }).catch(() => undefined), 200);
    try {
      await vi.waitFor(() => expect(uplink.health().state).not.toBe('ok'), { timeout: 60_000, interval: 100 });
    } finally {
      clearInterval(traffic);
    }
    const detectedS = (performance.now() - frozenAt) / 1000;
    const h = uplink.health();
    expect(h.message).toMatch(/link (dead|silent)/);
    expect((h.details as { keepaliveS: number }).keepaliveS).toBe(2);
    console.log(`uplink: dead link reported after ${detectedS.toFixed(1)} s with keepaliveS 2 (main: "ok, connected" for 89 s, no setting)`);
    // Bounded by 1.5 × keepalive (+ the health check's second of slack); the waitFor budget above (60 s, generous for a busy CI box) is still below main's 89 s.

    upstream.resume();
    await vi.waitFor(() => expect(uplink.health().state).toBe('ok'), { timeout: 60_000 });
  });
});
