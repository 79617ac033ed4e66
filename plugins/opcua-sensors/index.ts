import { realClock, type Clock, type TimerHandle } from '../../gateway/time/clock.js';
import type { Config } from '../../gateway/config/schema.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker, type LastFault } from '../../gateway/util/health.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { PAYLOAD_VERSION, topics, type Payloads } from '../../gateway/mqtt/topics.js';
import { formatUtcIso } from '../../gateway/time/tz.js';
import { NamespaceMissing, parseUriNodeId, resolveNodeId, type UriNodeId } from '../../gateway/opcua/node-id.js';
import { loadOpcua, numericValue, OpcuaFault, opcuaPkiDir, openSession, type DataValue, type OpcuaModules, type OpcuaSession } from '../../gateway/opcua/session.js';
import { takeDue, type Reported } from '../../gateway/floor/exception.js';
import { createFloorSensorPlugin, floorSlotMs, registerFloorReadings, storeFailure, type FloorDevice, type PointReading } from '../../gateway/floor/floor-plugin.js';

type DeviceConfig = Config['opcua']['devices'][number];

/** The latest reading of one point, as the Modbus sensors give it (`/api/sensors`), plus why it failed (`code`). */
export interface OpcuaPointReading extends PointReading {
  code: string | null;
  protocol: 'opcua';
}

/**
 * One OPC UA server as a set of floor points: a session, one subscription with a monitored item per point
 * (sampling interval, absolute deadband as a DataChangeFilter), values into the readings store every `storeMs`
 * while the subscription is alive, report by exception to MQTT. A lost connection or session is reopened with
 * backoff (device time) as a fresh session, whose NamespaceArray is read again: node ids are resolved by namespace
 * URI each time, so a PLC download that renumbers namespaces never misroutes a value.
 */
class DeviceSubscriber implements FloorDevice<OpcuaPointReading> {
  private stopped = false;
  private wake?: () => void;
  private session?: OpcuaSession;
  private storeTimer?: TimerHandle;
  private backoffMs = 0;
  private knownThumbprint: string | null = null;
  private lastIndex = new Map<string, number>();
  private readonly ids: UriNodeId[];
  private readonly current: Array<number | null>;
  private readonly reported = new Map<number, Reported>();
  readonly tracker: HealthTracker;
  readonly readings = new Map<string, OpcuaPointReading>();
  sessions = 0;
  notifications = 0;
  published = 0;
  storedCycles = 0;
  namespaceChanges = 0;
  renewals = 0;
  lastFault: LastFault | null = null;
  private run?: Promise<void>;

  constructor(
    private readonly device: DeviceConfig,
    private readonly ctx: PluginContext,
    private readonly real: Clock,
    private readonly pkiDir: string,
  ) {
    this.tracker = new HealthTracker(() => ctx.clock.now());
    this.ids = device.points.map((p) => parseUriNodeId(p.nodeId));
    this.current = device.points.map(() => null);
    for (const p of device.points) this.readings.set(p.name, { device: device.name, unit: p.unit, value: null, at: null, state: 'failed', error: 'not read yet', code: null, protocol: 'opcua' });
  }

  get slotMs(): number {
    return floorSlotMs(this.device.storeMs, this.ctx.clock);
  }

  async start(): Promise<void> {
    await registerFloorReadings(this.ctx, this.device, { source: `opcua/${this.device.name}`, slotMs: this.slotMs, blockOf: this.device.points.map(() => 0) });
    this.run = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.storeTimer?.cancel();
    this.wake?.();
    await this.session?.close();
    await this.run;
  }

  details(): Record<string, unknown> {
    return {
      ...this.tracker.get(),
      protocol: 'opcua',
      endpoint: this.device.endpointUrl,
      security: this.device.security === 'None' ? 'None' : `${this.device.securityPolicy} ${this.device.security}`,
      server_certificate: this.knownThumbprint,
      namespaces: Object.fromEntries(this.lastIndex),
      sessions: this.sessions,
      reconnects: Math.max(0, this.sessions - 1),
      namespace_changes: this.namespaceChanges,
      secure_channel_renewals: this.renewals + (this.session?.renewals() ?? 0),
      notifications: this.notifications,
      stored_cycles: this.storedCycles,
      points: this.device.points.length,
      mqtt_messages: this.published,
      last_fault: this.lastFault,
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.real.setTimeout(resolve, ms);
      this.wake = () => {
        t.cancel();
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let fault: OpcuaFault;
      try {
        const m = await loadOpcua(this.ctx.log);
        if (this.stopped) return;
        const s = await openSession(m, this.device, { pkiDir: this.pkiDir, label: `device ${this.device.name}`, knownThumbprint: this.knownThumbprint, log: this.ctx.log });
        this.session = s;
        this.sessions++;
        if (s.serverThumbprint) this.knownThumbprint = s.serverThumbprint;
        if (this.stopped) break;
        const { terminated } = await this.subscribe(m, s);
        this.backoffMs = 0;
        this.storeTimer?.cancel();
        this.scheduleStore();
        fault = await Promise.race([s.lost, terminated]);
      } catch (error) {
        fault = error instanceof OpcuaFault ? error : new OpcuaFault('unreachable', `device ${this.device.name}: ${errorMessage(error)}`);
      }
      this.storeTimer?.cancel();
      if (this.session) {
        this.renewals += this.session.renewals();
        await this.session.close().catch(() => undefined);
        this.session = undefined;
      }
      if (this.stopped) return;
      this.backoffMs = Math.min(this.device.maxBackoffMs, Math.max(500, this.backoffMs * 2));
      const message = `${fault.message}; reconnecting in ${this.backoffMs} ms`;
      this.lastFault = { code: fault.code, message: fault.message, at: formatUtcIso(this.ctx.clock.now()) };
      // A certificate to trust, a login to fix or a missing library needs a person; the rest usually heals itself.
      const needsPerson = ['certificate_untrusted', 'certificate_changed', 'login_failed', 'security_rejected', 'not_installed'].includes(fault.code);
      this.tracker.set('failed', message, fault.code);
      this.ctx.log[needsPerson ? 'error' : 'warn']({ device: this.device.name, code: fault.code, err: fault.message }, 'opcua device unavailable');
      this.failAll(fault.code === 'certificate_changed' || fault.code === 'certificate_untrusted' ? 'server certificate not trusted' : 'device unreachable', fault.code);
      await this.sleep(this.backoffMs);
    }
  }

  /** Creates the subscription and its monitored items; resolves at once with a promise (wrapped, so it is not awaited) that settles if the subscription ends. */
  private async subscribe(m: OpcuaModules, s: OpcuaSession): Promise<{ terminated: Promise<OpcuaFault> }> {
    const { ClientSubscription, ClientMonitoredItem, AttributeIds, TimestampsToReturn, DataChangeFilter, DataChangeTrigger, DeadbandType } = m.client;
    const d = this.device;
    const indexes = new Map<string, number>();
    for (const id of this.ids) if (id.uri !== null) indexes.set(id.uri, s.namespaces.indexOf(id.uri));
    for (const [uri, index] of indexes) {
      const before = this.lastIndex.get(uri);
      if (before !== undefined && before !== index) {
        this.namespaceChanges++;
        this.ctx.log.info({ device: d.name, uri, before, now: index }, 'opcua namespace renumbered: node ids resolved again by URI');
      }
      if (index >= 0) this.lastIndex.set(uri, index);
    }
    const subscription = ClientSubscription.create(s.session, {
      requestedPublishingInterval: d.publishingIntervalMs,
      requestedMaxKeepAliveCount: 10,
      requestedLifetimeCount: 60,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 10,
    });
    const terminated = new Promise<OpcuaFault>((resolve) => {
      subscription.on('terminated', () => resolve(new OpcuaFault('session_closed', `device ${d.name}: the server ended the subscription`)));
      // Before 'started' an error is CreateSubscription failing (the server's subscription limit, the session closing
      // meanwhile); node-opcua then also emits 'error', which without a listener is an uncaught exception that ends
      // the gateway.
      let started = false;
      subscription.on('started', () => (started = true));
      const failed = (err: Error) =>
        resolve(started ? new OpcuaFault('session_closed', `device ${d.name}: subscription error: ${errorMessage(err)}`) : new OpcuaFault('subscription_refused', `device ${d.name}: the server refused the subscription: ${errorMessage(err)}`));
      subscription.on('internal_error', failed);
      subscription.on('error', failed);
    });
    d.points.forEach((p, i) => {
      let nodeId: string;
      try {
        nodeId = resolveNodeId(this.ids[i]!, s.namespaces);
      } catch (error) {
        const code = error instanceof NamespaceMissing ? 'namespace_missing' : 'node_missing';
        this.setPoint(i, null, `${p.nodeId}: ${errorMessage(error)}`, code);
        return;
      }
      const filter =
        p.deadband > 0
          ? new DataChangeFilter({ trigger: DataChangeTrigger.StatusValue, deadbandType: DeadbandType.Absolute, deadbandValue: p.deadband / Math.abs(p.scale || 1) })
          : new DataChangeFilter({ trigger: DataChangeTrigger.StatusValue, deadbandType: DeadbandType.None });
      const item = ClientMonitoredItem.create(subscription, { nodeId, attributeId: AttributeIds.Value }, { samplingInterval: p.samplingMs, queueSize: 1, discardOldest: true, filter }, TimestampsToReturn.Both);
      item.on('changed', (dv: DataValue) => this.onValue(m, i, dv));
      item.on('err', (message: string) => {
        const unknown = /BadNodeIdUnknown|BadNodeIdInvalid/.test(message);
        const filterRefused = /BadFilterNotAllowed|BadDeadbandFilterInvalid|BadMonitoredItemFilter/.test(message);
        this.setPoint(i, null, unknown ? `node ${p.nodeId} does not exist on the server (removed by a PLC download?): ${message}` : filterRefused ? `the server refused the deadband on ${p.nodeId} (not a numeric analog variable?): ${message}` : `${p.nodeId}: ${message}`, unknown ? 'node_missing' : filterRefused ? 'wrong_type' : 'bad_status');
        this.updateHealth();
      });
    });
    this.updateHealth();
    return { terminated };
  }

  private onValue(m: OpcuaModules, i: number, dv: DataValue): void {
    const p = this.device.points[i]!;
    this.notifications++;
    try {
      const raw = numericValue(m, dv);
      this.setPoint(i, Math.round((raw * p.scale + p.offset) * 1e6) / 1e6, null, null);
    } catch (error) {
      const fault = error instanceof OpcuaFault ? error : new OpcuaFault('bad_status', errorMessage(error));
      const gone = /BadNodeIdUnknown/.test(fault.message);
      this.setPoint(i, null, gone ? `node ${p.nodeId} no longer exists on the server (removed by a PLC download?)` : `${p.nodeId}: ${fault.message}`, gone ? 'node_missing' : fault.code);
    }
    this.updateHealth();
  }

  /** One point's value (null with the error and its code) and its report by exception. */
  private setPoint(i: number, value: number | null, error: string | null, code: string | null): void {
    const p = this.device.points[i]!;
    const reading = this.readings.get(p.name)!;
    const now = this.ctx.clock.now();
    this.current[i] = value;
    if (value === null) Object.assign(reading, { state: 'failed', error, code });
    else Object.assign(reading, { value, at: formatUtcIso(now), state: 'ok', error: null, code: null });
    this.report([i], now, error);
  }

  private failAll(error: string, code: string): void {
    const wasOk = this.device.points.map((_, i) => i).filter((i) => this.readings.get(this.device.points[i]!.name)!.state === 'ok');
    this.current.fill(null);
    for (const p of this.device.points) Object.assign(this.readings.get(p.name)!, { state: 'failed', error, code });
    this.report(wasOk, this.ctx.clock.now(), error);
  }

  private updateHealth(): void {
    if (!this.session || this.stopped) return;
    const failed = this.device.points.filter((p) => this.readings.get(p.name)!.state === 'failed' && this.readings.get(p.name)!.code);
    const storeFailed = storeFailure(this.ctx);
    if (storeFailed) this.tracker.set('degraded', storeFailed.message, storeFailed.code);
    else if (failed.length) {
      const first = this.readings.get(failed[0]!.name)!;
      this.tracker.set('degraded', `${failed.length} of ${this.device.points.length} points failed: ${failed.map((p) => `${p.name} (${this.readings.get(p.name)!.code}: ${this.readings.get(p.name)!.error})`).join('; ')}`, first.code ?? 'bad_status');
    } else this.tracker.set('ok', `subscribed to ${this.device.points.length} points`);
  }

  /** Every storeMs of device time while the session is up: the current value of every point to the readings store, and due silences to MQTT. */
  private scheduleStore(): void {
    if (this.stopped) return;
    this.storeTimer = this.real.setTimeout(() => {
      if (!this.session || this.stopped) return;
      const at = this.ctx.clock.now();
      if (this.current.some((v) => v !== null)) {
        this.ctx.store.readings.append(this.device.name, { at, offsets: [0], values: [...this.current] });
        this.storedCycles++;
      }
      this.report(this.device.points.map((_, i) => i), at, null);
      this.updateHealth();
      this.scheduleStore();
    }, this.device.storeMs);
  }

  /** Report by exception of points `which` (the Modbus contract: deadband, state change, max silence). */
  private report(which: number[], at: number, error: string | null): void {
    const points = this.device.points;
    const due = takeDue(points, this.reported, which, (i) => this.current[i] ?? null, () => at);
    if (!due.length) return;
    const sent = (p: Promise<void>): void => {
      this.published++;
      p.catch(() => undefined);
    };
    if (this.device.publish === 'device') {
      const out: Payloads['devices/+/sensors']['points'] = {};
      points.forEach((p, i) => {
        const r = this.reported.get(i);
        out[p.name] = { value: r?.value ?? null, unit: p.unit, at: r ? formatUtcIso(r.at) : null, state: r && r.value !== null ? 'ok' : 'failed' };
      });
      sent(this.ctx.mqtt.publish(topics.deviceSensors(this.device.name), { v: PAYLOAD_VERSION, device: this.device.name, at: formatUtcIso(at), points: out }, { retain: true }));
      return;
    }
    for (const i of due) {
      const p = points[i]!;
      const r = this.readings.get(p.name)!;
      const value = this.current[i] ?? null;
      // The retained topic of a point that failed must not go on saying ok: republish it as failed, with the last value.
      if (value === null) sent(this.ctx.mqtt.publish(topics.sensor(p.name), { v: PAYLOAD_VERSION, point: p.name, device: this.device.name, value: r.value, unit: p.unit, at: r.at, state: 'failed', error: r.error ?? error ?? 'failed' }, { retain: true }));
      else sent(this.ctx.mqtt.publish(topics.sensor(p.name), { v: PAYLOAD_VERSION, point: p.name, device: this.device.name, value, unit: p.unit, at: formatUtcIso(at), state: 'ok' }, { retain: true }));
    }
  }
}

export type OpcuaSensorsPlugin = Plugin & { readings(): Record<string, OpcuaPointReading> };

export function createOpcuaSensors(ctx: PluginContext, deviceClock: Clock = ctx.deviceClock ?? realClock): OpcuaSensorsPlugin {
  const pki = opcuaPkiDir(ctx.config);
  return createFloorSensorPlugin(ctx, {
    name: 'opcua-sensors',
    devices: ctx.config.opcua.devices,
    // Each device connects in the background: one that is away, or refuses us, never holds the others.
    create: (d) => new DeviceSubscriber(d, ctx, deviceClock, pki),
    describe: (d, p) => `${p.name} from OPC UA device ${d.name} (${p.nodeId})`,
    down: (d, s) => `${d.name} (${s.tracker.get().code ?? s.tracker.get().state})`,
  });
}

export const opcuaSensorsPlugin: PluginFactory = {
  name: 'opcua-sensors',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.opcua.devices.length ? true : { enabled: false, reason: 'no OPC UA devices configured (opcua.devices)' }),
  create: createOpcuaSensors,
};
