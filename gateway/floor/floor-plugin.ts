import type { Clock } from '../time/clock.js';
import type { Unit } from '../series/slots.js';
import { worst, type ComponentHealth, type HealthTracker } from '../util/health.js';
import type { Plugin, PluginContext, SeriesDescriptor } from '../core/plugin-api.js';

/** The latest reading of one floor point (`/api/sensors`): its device, unit, value and time (null before the first), and why it failed. */
export interface PointReading {
  device: string;
  unit: string;
  value: number | null;
  at: string | null;
  state: 'ok' | 'failed';
  error: string | null;
}

/** What the floor-sensor core needs of a configured device: its name and its points (name, unit). */
export interface FloorDeviceConfig {
  name: string;
  points: ReadonlyArray<{ name: string; unit: string }>;
}

/** One floor device as a sensor plugin runs it (a Modbus poller, an OPC UA subscriber). */
export interface FloorDevice<R> {
  readonly tracker: HealthTracker;
  /** The latest reading of each of its points, by point name (`/api/sensors`). */
  readonly readings: Map<string, R>;
  /** Length of one reading's slot on the gateway's clock (ms): see {@link floorSlotMs}. */
  readonly slotMs: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The device's entry in the plugin's health details. */
  details(): Record<string, unknown>;
}

/** How a floor-sensor plugin builds its devices. */
export interface FloorPluginSpec<D extends FloorDeviceConfig, R, F extends FloorDevice<R>> {
  /** The plugin's name, the `source` of its series. */
  name: string;
  devices: readonly D[];
  create(device: D): F;
  /** A point's series description: `temp_conche from Modbus device floor-1`. */
  describe(device: D, point: D['points'][number]): string;
  /** How a device that is not ok is named in the health message (its name when not given). */
  down?(device: D, runner: F): string;
  /** Run once at start when there are devices (e.g. load the protocol's library). */
  prepare?(): Promise<void>;
}

/**
 * Length of a floor reading's slot on the gateway's clock: the device period (real, device time) scaled by the
 * gateway clock's rate (the demo's accelerated clock), so the store and staleness see slots of gateway time.
 */
export function floorSlotMs(periodMs: number, clock: Pick<Clock, 'rate'>): number {
  return periodMs * (clock.rate ?? 1);
}

/**
 * Registers a device's points with the readings store (gateway/series/readings.ts): series `sensor.<point>` with
 * their units, the slot length, and the block each point is read in (`blockOf`, one request's points share a stamp offset).
 */
export function registerFloorReadings(ctx: Pick<PluginContext, 'store'>, device: FloorDeviceConfig, r: { source: string; slotMs: number; blockOf: number[] }): Promise<void> {
  return ctx.store.readings.register({
    device: device.name,
    source: r.source,
    pollMs: r.slotMs,
    series: device.points.map((p) => `sensor.${p.name}`),
    units: device.points.map((p) => p.unit as Unit),
    blockOf: r.blockOf,
  });
}

/**
 * The health a device that answers has when its readings are not stored (the store's failure, not the device's:
 * the connection stays up), or null when the store keeps up.
 */
export function storeFailure(ctx: Pick<PluginContext, 'store'>): { message: string; code: 'store_failed' } | null {
  const storeError = ctx.store.readings.stats.lastCommitError;
  return storeError ? { message: `device answers, but its readings are not stored: ${storeError}`, code: 'store_failed' } : null;
}

/**
 * A floor-sensor plugin, whatever the protocol: one runner per configured device, started in order and stopped
 * together; a series `sensor.<point>` per point (stale after 10 slots, current within 3; built once, so catalog
 * consumers see the same array while nothing changed); health: a failed device makes the plugin degraded (the
 * other devices go on), named in the message; `readings()` is every point's latest reading.
 */
export function createFloorSensorPlugin<D extends FloorDeviceConfig, R, F extends FloorDevice<R>>(
  ctx: PluginContext,
  spec: FloorPluginSpec<D, R, F>,
): Plugin & { readings(): Record<string, R>; series(): SeriesDescriptor[] } {
  const runners = spec.devices.map((d) => spec.create(d));
  const descriptors: SeriesDescriptor[] = spec.devices.flatMap((d, i) => {
    const slot = runners[i]!.slotMs;
    return d.points.map((p) => ({ id: `sensor.${p.name}`, unit: p.unit, description: spec.describe(d, p), source: spec.name, staleAfterMs: 10 * slot, critical: false, currentWithinMs: 3 * slot }));
  });
  return {
    name: spec.name,
    async start() {
      if (runners.length) await spec.prepare?.();
      for (const r of runners) await r.start();
    },
    async stop() {
      await Promise.all(runners.map((r) => r.stop()));
    },
    health(): ComponentHealth {
      const states = runners.map((r) => r.tracker.get().state);
      const down = spec.devices.flatMap((d, i) => (states[i] !== 'ok' ? [spec.down ? spec.down(d, runners[i]!) : d.name] : []));
      return {
        state: states.length ? (worst(states) === 'failed' ? 'degraded' : worst(states)) : 'ok',
        message: down.length ? `not ok: ${down.join(', ')}` : `${runners.length} devices ok`,
        details: { devices: Object.fromEntries(spec.devices.map((d, i) => [d.name, runners[i]!.details()])), store: ctx.store.readings.stats },
      };
    },
    readings() {
      return Object.fromEntries(runners.flatMap((r) => [...r.readings.entries()]));
    },
    series(): SeriesDescriptor[] {
      return descriptors;
    },
  };
}
