import type { EventBus } from './event-bus.js';
import type { Clock } from '../time/clock.js';
import type { Config } from '../config/schema.js';
import type { Fetcher } from '../util/fetcher.js';
import type { ComponentHealth } from '../util/health.js';
import type { Logger } from '../util/log.js';
import type { SeriesDescriptor } from '../series/status.js';
import type { SeriesStore } from '../series/store.js';
import type { MqttConnection } from '../mqtt/connection.js';
import type { OutputMode } from './output-mode.js';

/** What a plugin declares about a series it writes (defined with the series status that judges it). */
export type { SeriesDescriptor };

/** Bumped on any incompatible change of the types below; a plugin built for another major version is refused. */
export const PLUGIN_API_VERSION = 1;

/** Jobs the scheduler knows; a plugin contributes handlers to the jobs it serves. */
export type JobId = 'priceIngestion' | 'weatherIngestion' | 'predictions' | 'planning' | 'health' | 'backfill' | 'tokenCheck' | 'cleanup' | 'recalibration' | 'retraining' | 'backup';

export interface JobRunResult {
  /** Short human summary for job status, e.g. "omie_es: 96 slots for 2025-10-01". */
  summary: string;
}

/** What a plugin may use. It never reaches into another plugin. */
export interface PluginContext {
  config: Config;
  clock: Clock;
  /**
   * Device time for timers that talk to real devices (PLC watchdog and heartbeat, Modbus backoff): real
   * milliseconds, whatever `clock` does (the demo's replay clock runs 3600x). Absent means real time.
   */
  deviceClock?: Clock;
  log: Logger;
  bus: EventBus;
  store: SeriesStore;
  fetcher: Fetcher;
  mqtt: MqttConnection;
  /** The broker URL the gateway itself uses (the embedded one, with its actual port, or the external one). */
  mqttUrl: string;
  /** Credentials for a plugin's own MQTT session on that broker (the embedded broker refuses anonymous clients). */
  mqttCredentials: { username?: string; password?: string };
  /** Every series the running plugins write (for outputs that publish them). */
  catalog: () => SeriesDescriptor[];
  /**
   * Why the wall clock is not trusted now (see time/clock-trust.ts), or undefined when it is (or is not watched: an
   * injected test or demo clock). While it is not, nothing is planned and no price or reading is stored as current.
   */
  clockUntrusted?: () => string | undefined;
  /**
   * The write-nothing mode (outputs.dryRun) every output that writes to a PLC follows: while `dryRun` it records
   * what it would write (`wouldWrite`) and writes nothing. Absent (tests): fixed at `config.outputs.dryRun`.
   */
  outputs?: OutputMode;
}

export interface Plugin {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): ComponentHealth;
  jobs?: Partial<Record<JobId, () => Promise<JobRunResult>>>;
  /** Series this plugin writes, with their freshness expectations. */
  series?(): SeriesDescriptor[];
}

export interface PluginFactory {
  readonly name: string;
  readonly apiVersion: number;
  /** Whether the plugin is enabled by this configuration (a disabled plugin is listed in health as such). */
  enabled(config: Config): boolean | PluginOff;
  create(context: PluginContext): Plugin;
}

/** A plugin that will not run, with why; `misconfigured` when the configuration switched it on but left out what it needs. */
export interface PluginOff {
  enabled: false;
  reason: string;
  misconfigured?: true;
}

/** For sources that need a key: off when switched off, off with the reason when switched on without its secret. */
export function enabledWithSecret(enabled: boolean, secret: unknown, missing: string): boolean | PluginOff {
  if (!enabled) return false;
  return secret ? true : { enabled: false, reason: missing, misconfigured: true };
}
