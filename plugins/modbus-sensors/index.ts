import { realClock, type Clock, type TimerHandle } from '../../gateway/time/clock.js';
import type { Config } from '../../gateway/config/schema.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker } from '../../gateway/util/health.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory, type SeriesDescriptor } from '../../gateway/core/plugin-api.js';
import { PAYLOAD_VERSION, topics, type Payloads } from '../../gateway/mqtt/topics.js';
import { formatUtcIso } from '../../gateway/time/tz.js';
import { closeModbus, connectModbus, preloadModbus, type ModbusClient } from '../../gateway/modbus/client.js';
import { planBlocks, type BlockPoint, type ReadBlock } from './blocks.js';
import { decodeRegisters, exceptionName } from './decode.js';
import { takeDue, type Reported } from '../../gateway/floor/exception.js';
import { createFloorSensorPlugin, floorSlotMs, registerFloorReadings, storeFailure, type FloorDevice, type PointReading } from '../../gateway/floor/floor-plugin.js';

type DeviceConfig = Config['modbus']['devices'][number];
type PointConfig = DeviceConfig['points'][number];

/** A floor point's latest reading (gateway/floor/floor-plugin.ts), re-exported for this plugin's users. */
export type { PointReading };

/** Achieved poll rate over the last minute of real time. */
const RATE_WINDOW_MS = 60_000;

/**
 * One device: connect, read its points in as few requests as the register map allows, on a fixed schedule in real
 * (device) time, and reconnect with backoff after it goes away. A cycle that overruns its period skips the starts
 * it missed (counted) instead of stretching the period.
 */
class DevicePoller implements FloorDevice<PointReading> {
  private client?: ModbusClient;
  private timer?: TimerHandle;
  private backoffMs = 0;
  private stopped = false;
  private epoch = 0;
  private tick = 0;
  private resync = true;
  private lastOverrunAt = -Infinity;
  private readonly starts: number[] = [];
  /** Blocks that answered with an exception: read point by point from then on. */
  private readonly split = new Set<number>();
  private readonly reported = new Map<number, Reported>();
  /** What the retained topics say now: per point (point mode) or the device summary (device mode), as `state|error`. */
  private readonly retainedSays = new Map<string, string>();
  readonly blocks: ReadBlock[];
  /** Index of the block each point is read in. */
  private readonly blockOf: number[];
  readonly tracker: HealthTracker;
  readonly readings = new Map<string, PointReading>();
  reconnects = 0;
  /** Set while the wall clock is not trusted: readings are polled and published live, not stored. */
  private unstored: string | null = null;
  polls = 0;
  overruns = 0;
  requestsPerCycle = 0;
  published = 0;

  constructor(
    private readonly device: DeviceConfig,
    private readonly ctx: PluginContext,
    private readonly real: Clock,
  ) {
    this.tracker = new HealthTracker(() => ctx.clock.now());
    this.blocks = planBlocks(device.points, device.maxGapRegisters);
    this.requestsPerCycle = this.blocks.length;
    this.blockOf = new Array<number>(device.points.length).fill(0);
    this.blocks.forEach((b, bi) => b.points.forEach((p) => (this.blockOf[p.index] = bi)));
    for (const p of device.points) this.readings.set(p.name, { device: device.name, unit: p.unit, value: null, at: null, state: 'failed', error: 'not read yet' });
  }

  /** Length of a reading's slot on the gateway's clock (the poll period, scaled when the clock is accelerated). */
  get slotMs(): number {
    return floorSlotMs(this.device.pollMs, this.ctx.clock);
  }

  async start(): Promise<void> {
    await registerFloorReadings(this.ctx, this.device, { source: `modbus/${this.device.name}`, slotMs: this.slotMs, blockOf: this.blockOf });
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.close();
  }

  /** Polls per second over the last minute (null before two cycles). */
  achievedRate(): number | null {
    if (this.starts.length < 2) return null;
    return (this.starts.length - 1) / ((this.starts.at(-1)! - this.starts[0]!) / 1000);
  }

  details(): Record<string, unknown> {
    const rate = this.achievedRate();
    return {
      ...this.tracker.get(),
      reconnects: this.reconnects,
      polls: this.polls,
      overruns: this.overruns,
      achieved_polls_per_s: rate === null ? null : Math.round(rate * 1000) / 1000,
      wanted_polls_per_s: 1000 / this.device.pollMs,
      requests_per_cycle: this.requestsPerCycle,
      registers_per_cycle: this.blocks.reduce((n, b) => n + b.count, 0),
      points: this.device.points.length,
      mqtt_messages: this.published,
    };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.real.setTimeout(() => void this.cycle(), ms);
  }

  /** The next start on the fixed grid; starts already missed are counted as overruns. */
  private scheduleNext(): void {
    const now = this.real.now();
    const due = this.tick + 1;
    const next = Math.max(due, Math.floor((now - this.epoch) / this.device.pollMs) + 1);
    if (next > due) {
      this.overruns += next - due;
      this.lastOverrunAt = now;
    }
    this.tick = next;
    this.schedule(this.epoch + next * this.device.pollMs - now);
  }

  private close(): Promise<void> {
    return closeModbus(this.client);
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    const startedAt = this.real.now();
    if (this.resync) {
      this.epoch = startedAt;
      this.tick = 0;
      this.resync = false;
    }
    this.starts.push(startedAt);
    while (this.starts.length > 2 && this.starts[0]! < startedAt - RATE_WINDOW_MS) this.starts.shift();
    try {
      if (!this.client?.isOpen) {
        this.client = await connectModbus(this.device, `device ${this.device.name}`);
        if (this.polls > 0 || this.backoffMs > 0) this.reconnects++;
      }
      await this.readAll();
      this.backoffMs = 0;
      this.scheduleNext();
    } catch (error) {
      await this.close().catch(() => undefined);
      this.backoffMs = Math.min(this.device.maxBackoffMs, Math.max(this.device.pollMs / 4, this.backoffMs * 2 || 500));
      const message = `${errorMessage(error)}; reconnecting in ${Math.round(this.backoffMs)} ms`;
      const code = (error as { code?: unknown }).code === 'transaction_mismatch' ? 'transaction_mismatch' : /timed out/i.test(errorMessage(error)) ? 'timeout' : 'unreachable';
      this.tracker.set('failed', message, code);
      for (const r of this.readings.values()) Object.assign(r, { state: 'failed', error: `device unreachable: ${errorMessage(error)}` });
      await this.publishFailures();
      this.ctx.log.warn({ device: this.device.name, err: message }, 'modbus device unavailable');
      this.resync = true;
      this.starts.length = 0;
      this.schedule(this.backoffMs);
    }
  }

  /**
   * Every retained message that describes this device or its points carries a failure as soon as health knows it,
   * whatever the publish mode: the device summary (`publish: device`) is republished with each point's state and
   * error, or each failed point's own topic (`publish: point`); a point that never got a value says so. Published
   * only when what the retained topic says changes, so a device that stays away is not republished every backoff.
   */
  private async publishFailures(): Promise<void> {
    const nowMs = this.ctx.clock.now();
    const now = formatUtcIso(nowMs);
    // A failed point's next value is a change of state, due whatever its deadband.
    this.device.points.forEach((p, i) => {
      if (this.readings.get(p.name)!.state === 'failed' && this.reported.get(i)?.value !== null) this.reported.set(i, { value: null, at: nowMs });
    });
    if (this.device.publish === 'device') {
      const says = this.device.points.map((p) => `${this.readings.get(p.name)!.state}|${this.readings.get(p.name)!.error ?? ''}`).join(';');
      if (this.retainedSays.get('') === says) return;
      this.retainedSays.set('', says);
      this.published++;
      await this.ctx.mqtt.publish(topics.deviceSensors(this.device.name), { v: PAYLOAD_VERSION, device: this.device.name, at: now, points: this.summary() }, { retain: true }).catch(() => undefined);
      return;
    }
    for (const p of this.device.points) {
      const r = this.readings.get(p.name)!;
      if (r.state !== 'failed') continue;
      const says = `failed|${r.error ?? ''}`;
      if (this.retainedSays.get(p.name) === says) continue;
      this.retainedSays.set(p.name, says);
      this.published++;
      await this.ctx.mqtt
        .publish(topics.sensor(p.name), { v: PAYLOAD_VERSION, point: p.name, device: this.device.name, value: r.value, unit: r.unit, at: r.at, state: 'failed', error: failure(r) }, { retain: true })
        .catch(() => undefined);
    }
  }

  /** The device summary's points: the last reported value of each (report by exception) with its current state and error. */
  private summary(): Payloads['devices/+/sensors']['points'] {
    const out: Payloads['devices/+/sensors']['points'] = {};
    this.device.points.forEach((p, i) => {
      const r = this.reported.get(i);
      const now = this.readings.get(p.name)!;
      const value = r?.value ?? now.value;
      const at = r && r.value !== null ? formatUtcIso(r.at) : now.at;
      out[p.name] = now.state === 'ok' ? { value, unit: p.unit, at, state: 'ok' } : { value, unit: p.unit, at, state: 'failed', error: failure(now) };
    });
    return out;
  }

  private async readAll(): Promise<void> {
    const points = this.device.points;
    const values = new Array<number | null>(points.length).fill(null);
    const offsets: number[] = [];
    let at0: number | undefined;
    let failed = 0;
    let requests = 0;
    for (const [bi, block] of this.blocks.entries()) {
      const parts = this.split.has(bi) ? block.points.map((p) => ({ address: block.address + p.offset, count: p.count, points: [{ ...p, offset: 0 }] })) : [{ address: block.address, count: block.count, points: block.points }];
      for (const part of parts) {
        requests++;
        const result = await this.read(block.register, part.address, part.count);
        const at = this.ctx.clock.now();
        at0 ??= at;
        offsets[bi] ??= at - at0;
        if ('exception' in result) {
          if (!this.split.has(bi) && block.points.length > 1) {
            // One bad address in a block fails the whole request: from now on read this block point by point.
            this.split.add(bi);
            this.ctx.log.info({ device: this.device.name, address: block.address, count: block.count }, `block read answered with ${result.exception}; reading its points one by one`);
            return this.readAll();
          }
          failed += part.points.length;
          for (const bp of part.points) {
            const reading = this.readings.get(points[bp.index]!.name)!;
            Object.assign(reading, { state: 'failed', error: result.exception });
          }
          continue;
        }
        for (const bp of part.points) {
          const value = decodePoint(points[bp.index]!, bp, result.data);
          values[bp.index] = value;
          Object.assign(this.readings.get(points[bp.index]!.name)!, { value, at: formatUtcIso(at), state: 'ok', error: null });
        }
      }
    }
    this.requestsPerCycle = requests;
    // Polling goes on whatever the wall clock says; readings are stored only once it is known good (their stamps).
    const untrusted = this.ctx.clockUntrusted?.();
    this.unstored = untrusted ? `readings not stored: wall clock not trusted (${untrusted})` : null;
    if (at0 !== undefined) {
      if (!untrusted) this.ctx.store.readings.append(this.device.name, { at: at0, offsets: this.blocks.map((_, bi) => offsets[bi] ?? 0), values });
      this.publish(values, at0, offsets);
    }
    if (failed) void this.publishFailures();
    this.polls++;
    const overrunning = this.real.now() - this.lastOverrunAt < RATE_WINDOW_MS;
    const rate = this.achievedRate();
    // A store failure is the store's, not the device's: the connection stays up and health says so.
    const storeFailed = storeFailure(this.ctx);
    if (storeFailed) this.tracker.set('degraded', storeFailed.message, storeFailed.code);
    else if (this.unstored) this.tracker.set('degraded', `device answers; ${this.unstored}`, 'clock_untrusted');
    else if (failed) this.tracker.set('degraded', `${failed} of ${points.length} points answered with an exception`, 'client_error');
    else if (overrunning)
      this.tracker.set('degraded', `overrunning: ${rate === null ? '?' : rate.toFixed(2)} polls/s of ${(1000 / this.device.pollMs).toFixed(2)} wanted (${this.overruns} missed starts); ${requests} requests per cycle`, 'overrun');
    else this.tracker.set('ok', `polled ${points.length} points in ${requests} requests`);
  }

  /** Reads registers; a Modbus exception is an answer (returned), anything else means the device is away (thrown). */
  private async read(register: 'holding' | 'input', address: number, count: number): Promise<{ data: number[] } | { exception: string }> {
    const client = this.client!;
    try {
      return register === 'input' ? await client.readInputRegisters(address, count) : await client.readHoldingRegisters(address, count);
    } catch (error) {
      const code = (error as { modbusCode?: number }).modbusCode;
      if (code === undefined) throw error;
      return { exception: `Modbus exception ${code} (${exceptionName(code)})` };
    }
  }

  /** Report by exception: the points due (deadband, state change or max silence) go out, per point or as one device message. */
  private publish(values: Array<number | null>, at0: number, offsets: number[]): void {
    const points = this.device.points;
    const due = takeDue(points, this.reported, points.map((_, i) => i), (i) => values[i] ?? null, (i) => at0 + (offsets[this.blockOf[i]!] ?? 0));
    if (!due.length) return;
    // Not awaited: a QoS 1 round trip per message must not hold the poll cycle (the connection keeps retained state).
    const sent = (p: Promise<void>): void => {
      this.published++;
      p.catch(() => undefined);
    };
    if (this.device.publish === 'device') {
      this.retainedSays.set('', points.map((p) => `${this.readings.get(p.name)!.state}|${this.readings.get(p.name)!.error ?? ''}`).join(';'));
      sent(this.ctx.mqtt.publish(topics.deviceSensors(this.device.name), { v: PAYLOAD_VERSION, device: this.device.name, at: formatUtcIso(at0), points: this.summary() }, { retain: true }));
      return;
    }
    for (const i of due) {
      const r = this.reported.get(i)!;
      if (r.value === null) continue;
      const p = points[i]!;
      this.retainedSays.set(p.name, 'ok|');
      sent(this.ctx.mqtt.publish(topics.sensor(p.name), { v: PAYLOAD_VERSION, point: p.name, device: this.device.name, value: r.value, unit: p.unit, at: formatUtcIso(r.at), state: 'ok' }, { retain: true }));
    }
  }
}

/** A failed point's reason as published; a point that never got a value says so. */
function failure(r: PointReading): string {
  return `${r.at === null ? 'no value yet: ' : ''}${r.error ?? 'failed'}`;
}

function decodePoint(p: PointConfig, bp: BlockPoint, registers: readonly number[]): number {
  const raw = decodeRegisters(registers.slice(bp.offset, bp.offset + bp.count), p.type, p.byteOrder, p.wordOrder);
  return Math.round((raw * p.scale + p.offset) * 1e6) / 1e6;
}

export function createModbusSensors(ctx: PluginContext, deviceClock: Clock = ctx.deviceClock ?? realClock): Plugin & { readings(): Record<string, PointReading>; series(): SeriesDescriptor[] } {
  return createFloorSensorPlugin(ctx, {
    name: 'modbus-sensors',
    devices: ctx.config.modbus.devices,
    create: (d) => new DevicePoller(d, ctx, deviceClock),
    describe: (d, p) => `${p.name} from Modbus device ${d.name}`,
    prepare: preloadModbus,
  });
}

export const modbusSensorsPlugin: PluginFactory = {
  name: 'modbus-sensors',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.modbus.devices.length ? true : { enabled: false, reason: 'no Modbus devices configured (modbus.devices)' }),
  create: createModbusSensors,
};
