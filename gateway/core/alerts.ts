import type { Clock } from '../time/clock.js';
import type { ComponentHealth } from '../util/health.js';
import type { Logger } from '../util/log.js';
import type { MqttConnection } from '../mqtt/connection.js';
import { PAYLOAD_VERSION, topics } from '../mqtt/topics.js';
import type { SeriesStatus } from '../series/status.js';
import type { StoreIntegrity } from '../series/integrity.js';
import type { Alert, EventBus } from './event-bus.js';

/** An alert as kept for the HTTP API and the status page: the bus alert plus its id and acknowledgement. */
export interface KeptAlert extends Alert {
  id: number;
  ackedAt: number | null;
  ackedBy: string | null;
  /** When the condition was found gone (an input fresh again, a plugin up again); null while it still holds or for one-off alerts. */
  resolvedAt: number | null;
}

/** What an alert is about: the message's leading "<subject>:" or, without one, the message with its numbers blanked. */
export function alertSubject(message: string): string {
  const lead = /^([\p{L}\p{N}_ .-]+?):\s/u.exec(message);
  return lead ? lead[1]! : message.replace(/[-+]?\d[\d\-T:.,+Z]*/g, '#');
}

/** A condition found gone: alerts of `code` about `subject` (every subject when omitted) are resolved. */
export interface ResolvedCondition {
  code: string;
  subject?: string;
}

/** The same code and message is raised at most once in this window (ms). */
export const ALERT_REPEAT_MS = 3_600_000;
/** How many alerts are kept, newest first. */
export const ALERTS_KEPT = 500;

/**
 * Raises alerts: every `alert` event on the bus, and a plugin that fails to start (PLUGIN_DOWN). An alert with the
 * same code and message as one raised less than an hour ago is dropped; the others are kept (newest first, at most
 * 500), logged, and published on `<base>/alerts` (not retained).
 */
export class Alerts {
  private readonly kept: KeptAlert[] = [];
  private readonly lastRaisedAt = new Map<string, number>();
  private nextId = 1;

  constructor(
    /** The connection raised alerts are published on (the gateway's, once it is up). */
    private readonly mqtt: () => Pick<MqttConnection, 'publish'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Listens on the bus: `alert` events are raised, `alert.resolved` resolves; `plugin.failed` becomes a critical PLUGIN_DOWN alert. */
  wire(bus: EventBus, owner = 'alerts'): void {
    bus.on('alert', owner, (a) => void this.raise(a));
    bus.on('alert.resolved', owner, (c) => this.resolve([{ code: c.code, subject: c.subject }], c.at));
    bus.on('plugin.failed', owner, (e) => bus.emit('alert', { code: 'PLUGIN_DOWN', level: 'critical', message: `${e.plugin}: ${e.error}`, at: this.clock.now() }));
  }

  /** Keeps and publishes `a`, unless the same code and message was raised within the last hour. */
  async raise(a: Alert): Promise<void> {
    const key = `${a.code}:${a.message}`;
    if (a.at - (this.lastRaisedAt.get(key) ?? -Infinity) < ALERT_REPEAT_MS) return;
    this.lastRaisedAt.set(key, a.at);
    this.kept.unshift({ ...a, id: this.nextId++, ackedAt: null, ackedBy: null, resolvedAt: null });
    this.kept.length = Math.min(this.kept.length, ALERTS_KEPT);
    // The alert's own level under another key: pino's `level` is the log level (a "level" field would replace it).
    const log = a.level === 'critical' ? this.log.error.bind(this.log) : a.level === 'warning' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
    log({ code: a.code, severity: a.level }, a.message);
    await this.mqtt().publish(topics.alerts, { v: PAYLOAD_VERSION, code: a.code, level: a.level, message: a.message, at: new Date(a.at).toISOString() });
  }

  /**
   * Marks the unresolved kept alerts of each condition as resolved at `at`, and forgets their repeat window, so the
   * condition coming back is raised again at once. Returns how many alerts were resolved.
   */
  resolve(conditions: readonly ResolvedCondition[], at: number): number {
    let n = 0;
    for (const a of this.kept) {
      if (a.resolvedAt !== null || a.at > at) continue;
      if (!conditions.some((c) => c.code === a.code && (c.subject === undefined || c.subject === alertSubject(a.message)))) continue;
      a.resolvedAt = at;
      this.lastRaisedAt.delete(`${a.code}:${a.message}`);
      n++;
    }
    return n;
  }

  /** Kept alerts, newest first. */
  recent(limit = ALERTS_KEPT): readonly KeptAlert[] {
    return this.kept.slice(0, limit);
  }

  /** Marks alert `id` as acknowledged by `by`; undefined when no kept alert has that id. */
  acknowledge(id: number, by: string | null): KeptAlert | undefined {
    const alert = this.kept.find((a) => a.id === id);
    if (!alert) return undefined;
    alert.ackedAt = this.clock.now();
    alert.ackedBy = by;
    return alert;
  }
}

/**
 * The health job's alert rules: a stale critical input (a price series the plan depends on) is a STALE_INPUT warning,
 * a failed plugin a PLUGIN_DOWN critical alert, a damaged store a STORE_DAMAGED alert (critical when it failed).
 */
export function healthAlerts(report: { series: SeriesStatus[]; plugins: Record<string, ComponentHealth>; store: StoreIntegrity }, at: number): Alert[] {
  return [
    ...report.series.filter((s) => s.stale && s.critical).map((s): Alert => ({ code: 'STALE_INPUT', level: 'warning', message: `${s.id}: ${s.staleReason}`, at })),
    ...Object.entries(report.plugins)
      .filter(([, h]) => h.state === 'failed')
      .map(([name, h]): Alert => ({ code: 'PLUGIN_DOWN', level: 'critical', message: `${name}: ${h.message}`, at })),
    ...(report.store.state !== 'ok' ? [{ code: 'STORE_DAMAGED', level: report.store.state === 'failed' ? 'critical' : 'warning', message: report.store.message, at } satisfies Alert] : []),
  ];
}

/**
 * The health job's conditions that no longer hold: critical series fresh again, plugins not failed, an intact store,
 * and what a plugin's health lists as gone (`details.resolved`, e.g. a meter no longer frozen).
 */
export function healthResolutions(report: { series: SeriesStatus[]; plugins: Record<string, ComponentHealth>; store: StoreIntegrity }): ResolvedCondition[] {
  return [
    ...report.series.filter((s) => !s.stale && s.critical).map((s) => ({ code: 'STALE_INPUT', subject: s.id })),
    ...Object.entries(report.plugins)
      .filter(([, h]) => h.state !== 'failed')
      .map(([name]) => ({ code: 'PLUGIN_DOWN', subject: name })),
    ...(report.store.state === 'ok' ? [{ code: 'STORE_DAMAGED' }] : []),
    ...Object.values(report.plugins).flatMap((h) => (Array.isArray(h.details?.resolved) ? (h.details.resolved as ResolvedCondition[]) : [])),
  ];
}
