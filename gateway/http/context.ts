import type { IntervalHistogram } from 'node:perf_hooks';
import type { Config } from '../config/schema.js';
import type { Clock } from '../time/clock.js';
import type { ComponentHealth } from '../util/health.js';
import type { SeriesDescriptor, SeriesStatus } from '../series/status.js';
import type { SeriesStore } from '../series/store.js';
import type { MqttConnection } from '../mqtt/connection.js';
import type { EmbeddedBroker } from '../mqtt/broker.js';
import type { Alerts } from '../core/alerts.js';
import type { EventBus } from '../core/event-bus.js';
import type { HealthReport } from '../core/health-report.js';
import type { Scheduler } from '../core/scheduler.js';
import type { OutputMode } from '../core/output-mode.js';
import type { PlannerPlugin } from '../../plugins/planner/index.js';
import type { BillPlugin } from '../../plugins/bill/index.js';
import type { PredictionsPlugin } from '../../plugins/predictions/index.js';
import type { ReplaySource } from '../../plugins/replay/index.js';
import type { PointReading } from '../../plugins/modbus-sensors/index.js';

/**
 * What the HTTP routes read and call on the running gateway, and nothing more. The composition root
 * (gateway/controller.ts) hands one to `startHttpServer`; the routes never see the Gateway class.
 */
export interface HttpContext {
  readonly config: Config;
  readonly clock: Clock;
  readonly store: SeriesStore;
  /** For the status page's server-sent events. */
  readonly bus: Pick<EventBus, 'on' | 'removeOwner'>;
  readonly scheduler: Pick<Scheduler, 'status' | 'trigger' | 'pause' | 'resume'>;
  readonly alerts: Pick<Alerts, 'recent' | 'acknowledge'>;
  readonly mqtt: Pick<MqttConnection, 'connected' | 'published' | 'received'>;
  /** The embedded broker, when there is one. */
  readonly broker?: Pick<EmbeddedBroker, 'connectedClients' | 'published'>;
  readonly eventLoop: IntervalHistogram;
  /** The write-nothing mode (outputs.dryRun): shown on the page, switched by POST /api/outputs/dry-run. */
  readonly outputs: Pick<OutputMode, 'dryRun' | 'state' | 'switches' | 'wouldWrites' | 'set' | 'lineStates'>;
  readonly uptimeMs: number;
  /** Every series the running plugins write. */
  catalog(): SeriesDescriptor[];
  pluginHealth(): Record<string, ComponentHealth>;
  seriesStatuses(): Promise<SeriesStatus[]>;
  health(): Promise<HealthReport>;
  /** The running predictions plugin (models), if any. */
  predictions(): PredictionsPlugin | undefined;
  /** The running planner plugin, if any. */
  planner(): PlannerPlugin | undefined;
  /** The running bill plugin (the measured bill and savings), if any. */
  bill?(): BillPlugin | undefined;
  /** The running replay source (the demo), if any. */
  replay(): ReplaySource | undefined;
  /** The Modbus sensors plugin's latest reading per point, if it runs. */
  sensorReadings(): Record<string, PointReading> | undefined;
}
