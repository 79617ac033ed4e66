import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { Alerts, healthAlerts, healthResolutions } from './core/alerts.js';
import { EventBus } from './core/event-bus.js';
import { healthPayload, healthReport, type HealthReport } from './core/health-report.js';
import { hostedHealth, startPlugins, stopPlugins, type HostedPlugin } from './core/plugin-host.js';
import { realClock, SystemClock, type Clock } from './time/clock.js';
import type { Config } from './config/schema.js';
import { readSecret } from './config/load.js';
import { errorMessage } from './util/errors.js';
import { Fetcher } from './util/fetcher.js';
import { HealthWatch } from './core/health-watch.js';
import { OutputMode, dryRunLines } from './core/output-mode.js';
import type { ComponentHealth } from './util/health.js';
import { createLogger, moduleLogger, registerSecrets, type Logger } from './util/log.js';
import { EmbeddedBroker } from './mqtt/broker.js';
import type { MqttUser } from './mqtt/auth.js';
import { gatewayClientIds } from './mqtt/client-ids.js';
import { Bridge } from './mqtt/bridge.js';
import { MqttConnection } from './mqtt/connection.js';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import type { JobId, PluginContext, PluginFactory, SeriesDescriptor } from './core/plugin-api.js';
import { PLUGIN_API_VERSION } from './core/plugin-api.js';
import { Scheduler } from './core/scheduler.js';
import { mergeDescriptors, seriesStatuses, type SeriesStatus } from './series/status.js';
import { SeriesStore } from './series/store.js';
import { runScheduledBackup } from './series/scheduled-backup.js';
import type { HttpContext } from './http/context.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import type { PlannerPlugin } from '../plugins/planner/index.js';
import type { BillPlugin } from '../plugins/bill/index.js';
import type { PredictionsPlugin } from '../plugins/predictions/index.js';
import type { ReplaySource } from '../plugins/replay/index.js';
import type { PointReading } from '../plugins/modbus-sensors/index.js';
import { VERSION } from './util/version.js';
import { ClockTrust, timedatectlSynchronised, type ClockStep, type ClockTrustOptions } from './time/clock-trust.js';

export interface GatewayOptions {
  config: Config;
  clock?: Clock;
  /** Time for device timers (PLC watchdog, Modbus backoff); real time unless a test injects one. */
  deviceClock?: Clock;
  log?: Logger;
  /** The config file it was loaded from, if any: the scheduled backup keeps a copy of it. */
  configFile?: string;
  /** Replaces the built-in plugin list (tests). */
  plugins?: PluginFactory[];
  /**
   * Watching the wall clock (steps, trust; time/clock-trust.ts): on for the system clock, off for an injected test or
   * demo clock unless given here; the fields replace the defaults (NTP status from timedatectl, checks every 2 s).
   */
  clockTrust?: false | Partial<Pick<ClockTrustOptions, 'systemSynchronised' | 'checkEveryMs' | 'stepThresholdMs' | 'notBefore'>>;
}

export type { HealthReport };

/** How often (device time) plugin states are compared to republish the retained bridge/health on a change. */
const HEALTH_WATCH_MS = 2_000;

const JOB_PLACEHOLDERS: Partial<Record<JobId, string>> = {
  weatherIngestion: 'placeholder: no weather source is enabled (sources.aemet / sources.openweathermap need API keys)',
  predictions: 'placeholder: models are disabled (models.enabled) or none is installed',
  recalibration: 'placeholder: models are disabled',
  retraining: 'placeholder: models are disabled',
  planning: 'placeholder: the planner is disabled (planner.enabled)',
};

/** The composition root: builds every part from config, starts them in order and stops them in reverse. */
export class Gateway implements HttpContext {
  readonly config: Config;
  readonly clock: Clock;
  /** Real time for timers that talk to devices and watch health (see PluginContext.deviceClock). */
  readonly deviceClock: Clock;
  readonly log: Logger;
  readonly bus: EventBus;
  store!: SeriesStore;
  mqtt!: MqttConnection;
  broker?: EmbeddedBroker;
  bridge!: Bridge;
  scheduler!: Scheduler;
  healthWatch?: HealthWatch;
  /** The write-nothing mode (outputs.dryRun), switched at run time through the HTTP API. */
  outputs!: OutputMode;
  http?: HttpServer;
  readonly plugins = new Map<string, HostedPlugin>();
  /** Alerts from every part: raised once an hour at most per code and message, kept newest first, published. */
  readonly alerts: Alerts;
  private startedAt = 0;
  private stopping?: Promise<void>;
  /** Aborted when the gateway stops: the fetchers abandon their requests and retries. */
  private readonly shuttingDown = new AbortController();
  private starting?: Promise<void>;
  brokerPorts?: { port: number; wsPort: number; tlsPort?: number };
  mqttUrl = '';
  /** Credentials of the gateway's own clients on the embedded broker, fresh at every start. */
  readonly internalMqtt = { username: 'choco-edge-internal', password: randomBytes(18).toString('base64url') };
  /** What the gateway's own MQTT clients log in with: the external broker's user, or the internal credentials. */
  private mqttCredentials: { username?: string; password?: string } = this.internalMqtt;
  readonly eventLoop: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  /** The wall clock's steps and trust, when it is the system's (see GatewayOptions.clockTrust). */
  clockTrust?: ClockTrust;

  constructor(private readonly options: GatewayOptions) {
    this.config = options.config;
    registerSecrets(this.config); // no log line may carry a configured secret, in any form
    this.clock = options.clock ?? new SystemClock();
    this.deviceClock = options.deviceClock ?? realClock;
    this.log = options.log ?? createLogger(this.config.log);
    this.bus = new EventBus((event, owner, error) => this.log.error({ event, owner, err: errorMessage(error) }, 'event listener failed'));
    this.alerts = new Alerts(() => this.mqtt, this.clock, this.log);
  }

  private logger(module: string): Logger {
    return moduleLogger(this.log, this.config.log, module);
  }

  /** Opens the store, starts broker, plugins, HTTP and the scheduler. A stop() meanwhile waits for it to finish. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.startedAt = this.clock.now();
    this.eventLoop.enable();
    const cfg = this.config;
    const dataDir = resolve(cfg.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const r = cfg.store.readings;
    this.store = await SeriesStore.open(join(dataDir, 'store'), { sync: cfg.store.sync, readings: { commitMs: r.commitMs, rawHours: r.rawHours, aggregateMs: r.aggregateMinutes * 60_000 }, now: () => this.clock.now() });
    await this.watchClock();
    // A reopen after a failed write is an event: an alert now, and `store.reopens` / `lastReopen` in health.
    this.store.onReopen((e) => {
      this.log.warn({ cause: e.cause, reopens: e.count }, 'store reopened after a failed write');
      this.bus.emit('alert', { code: 'STORE_REOPENED', level: 'warning', message: `store reopened after ${e.cause} (${e.count} since start)`, at: this.clock.now() });
    });
    // The background verification of the store (older ranges, off the open's path): a loss is logged and alerted when
    // found, with the message the health job's STORE_DAMAGED carries (so the two are one alert).
    this.store.onVerified((v) => {
      if (!v.losses.length) return;
      this.log.error({ losses: v.losses }, 'store: the background verification found damage');
      const h = this.store.integrity();
      this.bus.emit('alert', { code: 'STORE_DAMAGED', level: h.state === 'failed' ? 'critical' : 'warning', message: h.message, at: this.clock.now() });
    });

    const external = cfg.mqtt.external.url;
    if (!external && cfg.mqtt.embedded.enabled) {
      this.broker = new EmbeddedBroker(
        { ...cfg.mqtt.embedded, base: cfg.mqtt.base, internal: this.internalMqtt, reservedClientIds: gatewayClientIds(cfg, this.internalMqtt.username), users: cfg.mqtt.embedded.users as MqttUser[] },
        this.logger('broker'),
      );
      this.brokerPorts = await this.broker.start();
    }
    const localHost = cfg.mqtt.embedded.host === '0.0.0.0' || cfg.mqtt.embedded.host === '::' ? '127.0.0.1' : cfg.mqtt.embedded.host;
    this.mqttUrl = external ?? `mqtt://${localHost}:${this.brokerPorts?.port ?? cfg.mqtt.embedded.port}`;
    this.mqttCredentials = external ? { username: cfg.mqtt.external.username, password: readSecret(cfg.mqtt.external.password, 'mqtt.external.password') } : this.internalMqtt;
    this.mqtt = new MqttConnection(
      {
        url: this.mqttUrl,
        base: cfg.mqtt.base,
        clientId: cfg.mqtt.clientId,
        ...this.mqttCredentials,
        ca: cfg.mqtt.external.ca,
        cert: cfg.mqtt.external.cert,
        key: cfg.mqtt.external.key,
        rejectUnauthorized: cfg.mqtt.external.rejectUnauthorized,
        reconnectMs: cfg.mqtt.reconnectMs,
      },
      this.clock,
      this.logger('mqtt'),
    );
    await this.mqtt.start();
    this.bridge = new Bridge(this.mqtt, this.logger('bridge'));
    this.alerts.wire(this.bus, 'gateway');
    // The clock's first check ran before the alert log listened (watchClock above): an untrusted start is raised now.
    const trust = this.clockTrust?.current;
    if (trust && !trust.trusted) this.bus.emit('alert', { code: 'CLOCK_UNTRUSTED', level: 'warning', message: `wall clock not trusted: ${trust.why}`, at: this.clock.now() });
    this.outputs = new OutputMode({ dryRun: cfg.outputs.dryRun, dryRunLines: dryRunLines(cfg), clock: this.clock, bus: this.bus, log: this.logger('outputs'), store: this.store, mqtt: this.mqtt });
    await this.outputs.start();

    await startPlugins({ factories: this.options.plugins ?? BUILTIN_PLUGINS, config: cfg, bus: this.bus, log: this.log, context: (name) => this.pluginContext(name), hosted: this.plugins });

    this.scheduler = new Scheduler(this.clock, this.logger('scheduler'), cfg.scheduler.timezone, this.store);
    this.scheduler.onJobFinished((job, outcome, durationMs, error) => this.bus.emit('job.finished', { job, ok: outcome !== 'failed', durationMs, ...(error ? { error } : {}) }));
    this.defineJobs();

    this.registerBridgeRequests();
    this.bridge.start();
    await this.bridge.publishInfo({
      version: VERSION,
      plugin_api: PLUGIN_API_VERSION,
      site: cfg.site.id,
      timezone: cfg.site.timezone,
      started_at: new Date(this.startedAt).toISOString(),
      plugins: [...this.plugins.keys()],
      series: this.catalog().map((d) => d.id),
    });

    this.healthWatch = new HealthWatch({
      pluginStates: () => ({ ...Object.fromEntries(Object.entries(this.pluginHealth()).map(([name, h]) => [name, h.state])), '(store)': this.store.integrity().state }),
      publish: async () => this.bridge.publishHealth(healthPayload(await this.health(), this.clock.now())),
      clock: this.deviceClock,
      intervalMs: HEALTH_WATCH_MS,
      bus: this.bus,
      log: this.logger('health'),
    });
    this.healthWatch.start();

    if (cfg.http.enabled) this.http = await startHttpServer(this, this.logger('http'));
    await this.scheduler.start();
    this.log.info({ plugins: [...this.plugins].filter(([, p]) => p.plugin).map(([name]) => name), http: this.http?.url, mqtt: this.brokerPorts ?? external }, 'choco-edge started');
  }

  /** Starts watching the wall clock against monotonic time (a step re-arms the schedules; see ClockTrust). */
  private async watchClock(): Promise<void> {
    const o = this.options.clockTrust;
    if (o === false || (o === undefined && !(this.clock instanceof SystemClock))) return;
    const log = this.logger('clock');
    this.clockTrust = new ClockTrust({
      wall: this.clock,
      mono: realClock,
      systemSynchronised: timedatectlSynchronised,
      assumeGood: !this.config.clock.verify,
      serverToleranceMs: this.config.clock.serverToleranceS * 1000,
      ...(o ?? {}),
      onStep: (step) => void this.onClockStep(step),
      onTrustChange: (state) => {
        if (state.trusted) log.info({ how: state.how }, 'wall clock trusted');
        else {
          log.warn({ why: state.why }, 'wall clock not trusted: nothing is planned and no price or reading is stored as current');
          this.bus.emit('alert', { code: 'CLOCK_UNTRUSTED', level: 'warning', message: `wall clock not trusted: ${state.why}`, at: this.clock.now() });
        }
      },
    });
    await this.clockTrust.start();
  }

  /** A wall-clock step: schedules re-armed, an alert, and values a backward step left in the future flagged. */
  private async onClockStep(step: ClockStep): Promise<void> {
    const what = `wall clock stepped ${Math.round(step.stepMs / 1000)} s (${new Date(step.before).toISOString()} → ${new Date(step.at).toISOString()})`;
    this.scheduler?.rearm(what);
    this.bus.emit('alert', { code: 'CLOCK_STEPPED', level: 'warning', message: `${what}; schedules re-armed`, at: this.clock.now() });
    if (step.stepMs >= 0 || !this.store) return;
    const flagged = [];
    // Prices for tomorrow are in the future by nature: only measured series (readings, observations) are suspects.
    for (const d of this.catalog().filter((x) => x.id.startsWith('sensor.') || x.id.startsWith('obs.'))) {
      const from = step.at + 60_000;
      const count = this.store.readings.has(d.id) ? (await this.store.read(d.id, from, 8.64e15).catch(() => [])).length : await this.store.count(d.id, from).catch(() => 0);
      if (count) flagged.push({ series: d.id, count, from: new Date(step.at).toISOString(), step: what });
    }
    this.clockTrust!.futureDated = [...this.clockTrust!.futureDated, ...flagged];
    if (flagged.length) {
      await this.store.setValue('clock.futureDated', this.clockTrust!.futureDated).catch(() => undefined);
      this.log.warn({ flagged }, 'values stamped by the wrong clock lie in the future: flagged');
    }
  }

  /** Why the wall clock is not trusted now, or undefined (trusted, or not watched). */
  clockUntrusted(): string | undefined {
    const s = this.clockTrust?.current;
    return s && !s.trusted ? s.why : undefined;
  }

  private pluginContext(name: string): PluginContext {
    return {
      config: this.config,
      clock: this.clock,
      deviceClock: this.deviceClock,
      log: this.logger(name),
      bus: this.bus,
      store: this.store,
      fetcher: new Fetcher(this.clock, this.config.fetch, Math.random, this.shuttingDown.signal, (host, date) => this.clockTrust?.observeServerDate(host, date)),
      mqtt: this.mqtt,
      mqttUrl: this.mqttUrl,
      mqttCredentials: this.mqttCredentials,
      catalog: () => this.catalog(name),
      clockUntrusted: () => this.clockUntrusted(),
      outputs: this.outputs,
    };
  }

  private defineJobs(): void {
    const jobs = this.config.scheduler.jobs;
    for (const id of Object.keys(jobs) as JobId[]) {
      const handlers = [...this.plugins.entries()].flatMap(([name, p]) => {
        const h = p.plugin?.jobs?.[id];
        return h ? [{ name, run: h }] : [];
      });
      const builtIn = this.builtInJob(id);
      const runners = builtIn ? [{ name: 'gateway', run: builtIn }, ...handlers] : handlers;
      this.scheduler.add({
        id,
        cron: jobs[id].cron,
        enabled: jobs[id].enabled,
        runOnStart: id === 'priceIngestion' || id === 'backfill' || id === 'health',
        // The plan uses the latest forecast, the forecast the latest prices and the history a running backfill is still filling.
        after: id === 'planning' ? ['predictions'] : id === 'predictions' ? ['priceIngestion', 'backfill'] : undefined,
        placeholder: JOB_PLACEHOLDERS[id] ?? 'no plugin serves this job',
        run: runners.length
          ? async () => {
              const results = await Promise.allSettled(runners.map((r) => r.run()));
              const lines = results.map((r, i) => (r.status === 'fulfilled' ? r.value.summary : `${runners[i]!.name}: FAILED ${errorMessage(r.reason)}`));
              if (results.every((r) => r.status === 'rejected')) throw new Error(lines.join(' | '));
              return lines.join(' | ');
            }
          : undefined,
      });
    }
  }

  private builtInJob(id: JobId): (() => Promise<{ summary: string }>) | undefined {
    if (id === 'health') {
      return async () => {
        const report = await this.health();
        await this.bridge.publishHealth(healthPayload(report, this.clock.now()));
        this.alerts.resolve(healthResolutions(report), this.clock.now());
        for (const alert of healthAlerts(report, this.clock.now())) this.bus.emit('alert', alert);
        return { summary: `health ${report.state}${report.reasons.length ? `: ${report.reasons.join('; ')}` : ''}` };
      };
    }
    if (id === 'backup') {
      return async () => {
        const dir = resolve(this.config.store.backups.dir ?? join(this.config.dataDir, 'backups'));
        const r = await runScheduledBackup(this.store, { dir, keep: this.config.store.backups.keep, site: this.config.site.id, version: VERSION, configFile: this.options.configFile, now: this.clock.now() });
        return { summary: `backup ${r.file} (${r.bytes} bytes); ${r.kept} kept${r.deleted.length ? `, ${r.deleted.length} older deleted` : ''}` };
      };
    }
    if (id === 'cleanup') {
      return async () => {
        const r = await this.store.applyRetention(this.clock.now(), this.config.store.retention);
        const c = await this.store.compact();
        return { summary: `retention: ${r.downsampled} raw slots downsampled to hourly, ${r.deleted} expired slots deleted; compaction: ~${c.bytesBefore} → ~${c.bytesAfter} bytes` };
      };
    }
    return undefined;
  }

  private registerBridgeRequests(): void {
    this.bridge.handle('health', async () => healthPayload(await this.health(), this.clock.now()));
    this.bridge.handle('jobs', async () => this.scheduler.status());
    this.bridge.handle('job/trigger', async (p) => {
      const id = p.id;
      if (typeof id !== 'string') throw new Error('"id" (string) is required: the job to run');
      return this.scheduler.trigger(id);
    });
    this.bridge.handle('plan/apply', async (p) => {
      const planner = this.plugins.get('planner')?.plugin as { apply?: (c: unknown) => Promise<unknown> } | undefined;
      if (!planner?.apply) throw new Error('the planner is not running');
      const quota = p.quota;
      if (!quota || typeof quota !== 'object') throw new Error('"quota" (process → batches per day) is required');
      const doc = (await planner.apply({ quota })) as { plan_id: string; totals: unknown };
      return { plan_id: doc.plan_id, totals: doc.totals };
    });
    this.bridge.handle('models/reload', async () => {
      const predictions = this.plugins.get('predictions')?.plugin as { registry?: { names(): string[]; unpin(n: string): Promise<void>; loaded(): Array<{ name: string; version: string }> } } | undefined;
      if (!predictions?.registry) throw new Error('models are not running');
      for (const name of predictions.registry.names()) await predictions.registry.unpin(name);
      return predictions.registry.loaded().map((m) => ({ name: m.name, version: m.version }));
    });
    this.bridge.handle('prices', async (p) => {
      if (typeof p.series !== 'string') throw new Error('"series" (string) is required');
      const now = this.clock.now();
      const from = typeof p.from === 'string' ? Date.parse(p.from) : now;
      const to = typeof p.to === 'string' ? Date.parse(p.to) : now + 86_400_000;
      if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) throw new Error('"from" and "to" must be ISO timestamps with from < to');
      if (to - from > 400 * 86_400_000) throw new Error('range longer than 400 days; ask for less (as over HTTP /api/prices)');
      return (await this.store.read(p.series, from, to)).map((s) => ({ start: new Date(s.start).toISOString(), end: new Date(s.end).toISOString(), value: s.value, source: s.source }));
    });
  }

  /** Every series the running plugins write; `except` leaves one plugin out (a plugin asking about the others). */
  catalog(except?: string): SeriesDescriptor[] {
    return this.cachedParts(`catalog:${except ?? ''}`, except, (parts) => parts.flat());
  }

  pluginHealth(): Record<string, ComponentHealth> {
    const hosted = hostedHealth(this.plugins);
    if (!this.clockTrust) return hosted;
    const c = this.clockTrust.health();
    const rearmed = this.scheduler?.rearmed;
    return { ...hosted, clock: { state: c.state, message: c.message, ...(c.code ? { code: c.code } : {}), details: { ...c.details, schedulesRearmed: rearmed ? { at: new Date(rearmed.at).toISOString(), reason: rearmed.reason } : null } } };
  }

  predictions(): PredictionsPlugin | undefined {
    return this.plugins.get('predictions')?.plugin as PredictionsPlugin | undefined;
  }

  planner(): PlannerPlugin | undefined {
    return this.plugins.get('planner')?.plugin as PlannerPlugin | undefined;
  }

  bill(): BillPlugin | undefined {
    return this.plugins.get('bill')?.plugin as BillPlugin | undefined;
  }

  replay(): ReplaySource | undefined {
    return this.plugins.get('replay')?.plugin as ReplaySource | undefined;
  }

  /** Latest reading per floor point, Modbus and OPC UA alike, each with its `protocol`. */
  sensorReadings(): Record<string, PointReading> | undefined {
    const of = (name: string) => (this.plugins.get(name)?.plugin as { readings?: () => Record<string, PointReading> } | undefined)?.readings?.();
    const modbus = of('modbus-sensors');
    const opcua = of('opcua-sensors');
    if (!modbus && !opcua) return undefined;
    return { ...Object.fromEntries(Object.entries(modbus ?? {}).map(([k, r]) => [k, { ...r, protocol: 'modbus' }])), ...opcua };
  }

  async seriesStatuses(): Promise<SeriesStatus[]> {
    const now = this.clock.now();
    return seriesStatuses(this.store, this.mergedCatalog(), now);
  }

  /** The merged catalogue, rebuilt only when a plugin hands out a different descriptor list than last time. */
  private mergedCatalog(): Array<SeriesDescriptor & { sources: string[] }> {
    return this.cachedParts('merged', undefined, (parts) => mergeDescriptors(parts.flat()));
  }

  /**
   * Something built from every plugin's descriptors (but `except`'s), rebuilt only when a plugin's list changed:
   * with thousands of Modbus points, status requests would otherwise rebuild the catalogue each time.
   */
  private cachedParts<T>(key: string, except: string | undefined, build: (parts: SeriesDescriptor[][]) => T): T {
    const parts = [...this.plugins.entries()].filter(([name]) => name !== except).map(([, p]) => p.plugin?.series?.() ?? []);
    const cached = this.catalogCache.get(key) as { parts: SeriesDescriptor[][]; value: T } | undefined;
    const fields = ['id', 'source', 'unit', 'description', 'staleAfterMs', 'critical', 'currentWithinMs', 'ahead'] as const;
    const same = (a: SeriesDescriptor[], b: SeriesDescriptor[]): boolean => a === b || (a.length === b.length && a.every((d, i) => fields.every((f) => d[f] === b[i]![f])));
    if (cached && cached.parts.length === parts.length && cached.parts.every((x, i) => same(x, parts[i]!))) return cached.value;
    const value = build(parts);
    this.catalogCache.set(key, { parts, value });
    return value;
  }
  private readonly catalogCache = new Map<string, unknown>();

  async health(): Promise<HealthReport> {
    await this.store.heal();
    // Health never depends on the store it reports on: a store that cannot be read gives no series, and says why.
    const series = await this.seriesStatuses().catch(() => []);
    const store = this.store.integrity();
    return healthReport({ plugins: this.pluginHealth(), series, mqttConnected: this.mqtt.connected, store });
  }

  get uptimeMs(): number {
    return this.clock.now() - this.startedAt;
  }

  /** Stops schedules, lets in-flight work finish, publishes offline state, closes the store. Safe to call twice. */
  stop(reason = 'stop requested'): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    this.log.info({ reason }, 'choco-edge stopping');
    // Tearing down while start() is still opening things would leave its last steps writing to a closed store.
    await this.starting?.catch(() => undefined);
    this.bus.emit('gateway.stopping', { reason });
    // In-flight source requests are abandoned rather than waited out (timeouts and retry backoffs run to minutes).
    this.shuttingDown.abort();
    await this.http?.close().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'http close'));
    await this.scheduler?.stop();
    this.clockTrust?.stop();
    await this.healthWatch?.stop();
    await stopPlugins(this.plugins, this.log);
    await this.mqtt?.stop().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'mqtt stop'));
    await this.broker?.stop().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'broker stop'));
    await this.store?.close();
    this.eventLoop.disable();
    this.log.info('choco-edge stopped');
  }
}
