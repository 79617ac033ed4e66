import { realClock, type Clock, type TimerHandle } from '../../gateway/clock.js';
import type { Config } from '../../gateway/config/schema.js';
import { errorMessage } from '../../gateway/errors.js';
import { HealthTracker, worst, type ComponentHealth } from '../../gateway/health.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory, type SeriesDescriptor } from '../../gateway/plugin.js';
import { PAYLOAD_VERSION, topics } from '../../gateway/mqtt/topics.js';
import { formatUtcIso } from '../../gateway/tz.js';
import { closeModbus, connectModbus, type ModbusClient } from '../modbus-client.js';
import { decodeRegisters, exceptionName, registerCount } from './decode.js';

type DeviceConfig = Config['modbus']['devices'][number];
type PointConfig = DeviceConfig['points'][number];

export interface PointReading {
  device: string;
  unit: string;
  value: number | null;
  at: string | null;
  state: 'ok' | 'failed';
  error: string | null;
}

/** One device: connect, poll its points on its own interval, reconnect with backoff after it goes away. */
class DevicePoller {
  private client?: ModbusClient;
  private timer?: TimerHandle;
  private backoffMs = 0;
  private stopped = false;
  readonly tracker: HealthTracker;
  readonly readings = new Map<string, PointReading>();
  reconnects = 0;
  polls = 0;

  constructor(
    private readonly device: DeviceConfig,
    private readonly ctx: PluginContext,
  ) {
    this.tracker = new HealthTracker(() => ctx.clock.now());
    for (const p of device.points) this.readings.set(p.name, { device: device.name, unit: p.unit, value: null, at: null, state: 'failed', error: 'not read yet' });
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.close();
  }

  /** Polls follow the gateway's clock; a reconnect backoff waits on device time (`deviceClock`), like any device timer. */
  private schedule(ms: number, clock: Clock = this.ctx.clock): void {
    if (this.stopped) return;
    this.timer = clock.setTimeout(() => void this.cycle(), ms);
  }

  private close(): Promise<void> {
    return closeModbus(this.client);
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.client?.isOpen) {
        this.client = await connectModbus(this.device, `device ${this.device.name}`);
        if (this.polls > 0 || this.backoffMs > 0) this.reconnects++;
      }
      await this.readAll();
      this.backoffMs = 0;
      this.schedule(this.device.pollMs);
    } catch (error) {
      await this.close().catch(() => undefined);
      this.backoffMs = Math.min(this.device.maxBackoffMs, Math.max(this.device.pollMs / 4, this.backoffMs * 2 || 500));
      const message = `${errorMessage(error)}; reconnecting in ${Math.round(this.backoffMs)} ms`;
      this.tracker.set('failed', message, /timed out/i.test(errorMessage(error)) ? 'timeout' : 'unreachable');
      const wasOk = [...this.readings.entries()].filter(([, r]) => r.state === 'ok');
      for (const [, r] of wasOk) Object.assign(r, { state: 'failed', error: 'device unreachable' });
      await this.publishFailed(wasOk.map(([point]) => point), message);
      this.ctx.log.warn({ device: this.device.name, err: message }, 'modbus device unavailable');
      this.schedule(this.backoffMs, this.ctx.deviceClock ?? realClock);
    }
  }

  /** The retained topic of a point whose device went away must not go on saying ok: republish it as failed. */
  private async publishFailed(points: string[], error: string): Promise<void> {
    for (const point of points) {
      const r = this.readings.get(point)!;
      await this.ctx.mqtt
        .publish(topics.sensor(point), { v: PAYLOAD_VERSION, point, device: this.device.name, value: r.value, unit: r.unit, at: r.at, state: 'failed', error }, { retain: true })
        .catch(() => undefined);
    }
  }

  private async readAll(): Promise<void> {
    const now = this.ctx.clock.now();
    let failed = 0;
    for (const p of this.device.points) {
      try {
        const value = await this.readPoint(p);
        Object.assign(this.readings.get(p.name)!, { value, at: new Date(now).toISOString(), state: 'ok', error: null });
        await this.ctx.store.write(`sensor.${p.name}`, p.unit, [{ start: now, end: now + this.device.pollMs, value }], { source: `modbus/${this.device.name}`, fetchedAt: now });
        await this.ctx.mqtt.publish(
          topics.sensor(p.name),
          { v: PAYLOAD_VERSION, point: p.name, device: this.device.name, value, unit: p.unit, at: formatUtcIso(now), state: 'ok' },
          { retain: true },
        );
      } catch (error) {
        const code = (error as { modbusCode?: number }).modbusCode;
        if (code === undefined) throw error; // transport trouble: the device is away
        failed++;
        const reading = this.readings.get(p.name)!;
        const wasOk = reading.state === 'ok';
        Object.assign(reading, { state: 'failed', error: `Modbus exception ${code} (${exceptionName(code)})` });
        if (wasOk) await this.publishFailed([p.name], reading.error!);
      }
    }
    this.polls++;
    if (failed) this.tracker.set('degraded', `${failed} of ${this.device.points.length} points answered with an exception`, 'client_error');
    else this.tracker.set('ok', `polled ${this.device.points.length} points`);
  }

  private async readPoint(p: PointConfig): Promise<number> {
    const count = registerCount(p.type);
    const client = this.client!;
    const result = p.register === 'input' ? await client.readInputRegisters(p.address, count) : await client.readHoldingRegisters(p.address, count);
    const raw = decodeRegisters(result.data, p.type, p.byteOrder, p.wordOrder);
    return Math.round((raw * p.scale + p.offset) * 1e6) / 1e6;
  }
}

export function createModbusSensors(ctx: PluginContext): Plugin & { readings(): Record<string, PointReading> } {
  const pollers = ctx.config.modbus.devices.map((d) => new DevicePoller(d, ctx));
  return {
    name: 'modbus-sensors',
    async start() {
      for (const p of pollers) p.start();
    },
    async stop() {
      await Promise.all(pollers.map((p) => p.stop()));
    },
    health(): ComponentHealth {
      const devices = Object.fromEntries(ctx.config.modbus.devices.map((d, i) => [d.name, { ...pollers[i]!.tracker.get(), reconnects: pollers[i]!.reconnects, polls: pollers[i]!.polls }]));
      const states = pollers.map((p) => p.tracker.get().state);
      const down = ctx.config.modbus.devices.filter((_, i) => states[i] !== 'ok').map((d) => d.name);
      return {
        state: states.length ? (worst(states) === 'failed' ? 'degraded' : worst(states)) : 'ok',
        message: down.length ? `not ok: ${down.join(', ')}` : `${pollers.length} devices ok`,
        details: { devices, points: this.readings() },
      };
    },
    readings() {
      return Object.fromEntries(pollers.flatMap((p) => [...p.readings.entries()]));
    },
    series(): SeriesDescriptor[] {
      return ctx.config.modbus.devices.flatMap((d) =>
        d.points.map((p) => ({ id: `sensor.${p.name}`, unit: p.unit, description: `${p.name} from Modbus device ${d.name}`, source: 'modbus-sensors', staleAfterMs: 10 * d.pollMs, critical: false, currentWithinMs: 3 * d.pollMs })),
      );
    },
  };
}

export const modbusSensorsPlugin: PluginFactory = {
  name: 'modbus-sensors',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.modbus.devices.length ? true : { enabled: false, reason: 'no Modbus devices configured (modbus.devices)' }),
  create: createModbusSensors,
};
