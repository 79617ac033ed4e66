import type { HealthState } from '../util/health.js';
import type { PlanDocumentPayload } from '../mqtt/topics.js';
import type { MeterQuarterHour } from '../meters/quarter-hours.js';
import type { MeterReading } from '../meters/reading.js';

/** Every event that crosses the gateway, with its payload type. */
/** An event for people and line controllers, with a stable code. */
export interface Alert {
  code: string;
  level: 'info' | 'warning' | 'critical';
  message: string;
  at: number;
}

export interface BusEvents {
  'series.updated': { series: string; source: string; from: number; to: number; count: number; fetchedAt: number };
  'source.status': { source: string; state: HealthState; message: string };
  'job.finished': { job: string; ok: boolean; durationMs: number; error?: string };
  'plugin.failed': { plugin: string; error: string };
  'gateway.stopping': { reason: string };
  'plan.updated': { version: number; planId: string; doc: PlanDocumentPayload };
  /** A line's PLC link changed state (modbus-lines): `failed` once writes stopped being verified, `ok` when they are again. */
  'line.state': { line: string; state: 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped' | 'dry_run'; message: string };
  /**
   * A line's PLC verifiably holds a new command (written and read back, gateway/lines/): emitted when what it holds
   * changes or is verified again after a dry-run cycle or a failure, not at every heartbeat. `at`, `validUntil`: UTC ms.
   */
  'line.written': { line: string; command: 'idle' | 'run' | 'halt'; batch: number | null; powerKw: number; validUntil: number; at: number };
  /** The write-nothing mode was switched (outputs.dryRun): every output that writes to a PLC follows it at once. */
  'outputs.mode': { dryRun: boolean; at: number; by: string; reason: string; line?: string };
  alert: Alert;
  /** A condition that raised alerts is gone (a line's PLC written again): kept alerts of `code` about `subject` are resolved. */
  'alert.resolved': { code: string; subject: string; at: number };
  /** The replayed recording has no data past `dataEnd` (the demo ends there). */
  'replay.ended': { at: number; dataEnd: number };
  /** Every poll of an energy meter (plugins/meters), good, suspect or failed. */
  'meter.reading': MeterReading;
  /** A meter's local quarter-hour, closed and stored (measured, interpolated or missing). */
  'meter.quarterHour': MeterQuarterHour;
  /**
   * The quarter-hour guard's state (plugins/power-guard), after every check: run starts it moved later (modbus-lines
   * shifts the run on `line` planned at `runStart` by `shiftMs`), interruptible loads it holds off, and why.
   */
  'power.guard': {
    shifts: Array<{ line: string; runStart: number; shiftMs: number; reason: string }>;
    loadsOff: Array<{ name: string; kw: number; reason: string }>;
    projectedKw: number | null;
    limitKw: number | null;
    period: number | null;
    at: number;
  };
}

export type BusEventName = keyof BusEvents;
type Listener<E extends BusEventName> = (payload: BusEvents[E]) => void;

interface Entry {
  owner: string;
  listener: Listener<never>;
}

/** Typed, synchronous event bus. Listeners are keyed by owner so that a stopped plugin's listeners go with it. */
export class EventBus {
  private readonly listeners = new Map<BusEventName, Entry[]>();
  private readonly onListenerError: (event: string, owner: string, error: unknown) => void;

  constructor(onListenerError?: (event: string, owner: string, error: unknown) => void) {
    this.onListenerError = onListenerError ?? (() => undefined);
  }

  on<E extends BusEventName>(event: E, owner: string, listener: Listener<E>): void {
    const list = this.listeners.get(event) ?? [];
    list.push({ owner, listener: listener as Listener<never> });
    this.listeners.set(event, list);
  }

  emit<E extends BusEventName>(event: E, payload: BusEvents[E]): void {
    for (const entry of this.listeners.get(event) ?? []) {
      try {
        (entry.listener as Listener<E>)(payload);
      } catch (error) {
        this.onListenerError(event, entry.owner, error);
      }
    }
  }

  removeOwner(owner: string): void {
    for (const [event, list] of this.listeners) {
      this.listeners.set(
        event,
        list.filter((e) => e.owner !== owner),
      );
    }
  }
}
