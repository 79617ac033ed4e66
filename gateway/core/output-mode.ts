import type { Clock } from '../time/clock.js';
import { formatUtcIso } from '../time/tz.js';
import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { SeriesStore } from '../series/store.js';
import type { MqttConnection } from '../mqtt/connection.js';
import { PAYLOAD_VERSION, topics, type Payloads } from '../mqtt/topics.js';
import type { EventBus } from './event-bus.js';

/** One switch of the write-nothing mode: to what, when (UTC ms), who (`config`, `http 10.0.0.5`) and why. */
export interface DryRunSwitch {
  dryRun: boolean;
  at: number;
  by: string;
  reason: string;
}

/** What an output would have written while the mode is on, the latest per output and target. */
export interface WouldWrite {
  via: 'modbus' | 'mqtt' | 'sparkplug';
  /** `line conche-1 (127.0.0.1:502 unit 1)`, `lines/conche-1/command`, `DDATA conche-1`. */
  target: string;
  /** Short text: `command run, 120 kW until 2026-12-06T10:00:00Z`. */
  what: string;
  /** The values themselves: register → value for Modbus, the payload for MQTT, metric → value for Sparkplug. */
  values: Record<string, unknown>;
  firstAt: number;
  lastAt: number;
  /** Writes not sent since this content was first seen (a watchdog rewrite counts, the heartbeat is left out). */
  times: number;
}

/** Switches kept for the audit trail (store key `outputs.dryRun.history`), newest last. */
export const SWITCHES_KEPT = 50;

const HISTORY_KEY = 'outputs.dryRun.history';

/**
 * The write-nothing mode (`outputs.dryRun`) shared by every output that writes to a PLC: modbus-lines (registers),
 * the planner (MQTT `lines/<line>/command`) and Sparkplug (line metrics). While it is on they compute and record
 * what they would write ({@link wouldWrite}) and send none of it. Switched at run time through the HTTP API
 * (bearer token): every switch is logged (warn), raised as an alert, kept in the store's audit trail and
 * announced on the bus (`outputs.mode`) and on the retained MQTT topic `outputs/dry-run`. At start the
 * configuration decides: a run-time switch does not survive a restart (the configuration is the record).
 */
export class OutputMode {
  private current: DryRunSwitch;
  private history: DryRunSwitch[] = [];
  private readonly would = new Map<string, WouldWrite & { key: string }>();
  private publishing: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: {
      dryRun: boolean;
      clock: Clock;
      bus?: EventBus;
      log?: Logger;
      store?: Pick<SeriesStore, 'getValue' | 'setValue'>;
      mqtt?: Pick<MqttConnection, 'publish'>;
    },
  ) {
    this.current = { dryRun: opts.dryRun, at: opts.clock.now(), by: 'config', reason: opts.dryRun ? 'outputs.dryRun is true in the configuration' : 'outputs.dryRun is false in the configuration' };
  }

  get dryRun(): boolean {
    return this.current.dryRun;
  }

  /** The mode now, since when and by whom. */
  state(): DryRunSwitch {
    return { ...this.current };
  }

  /** The audit trail, newest last (restored from the store at start). */
  switches(): DryRunSwitch[] {
    return this.history.map((s) => ({ ...s }));
  }

  /** What each output would have written, newest first; empty while the gateway writes. */
  wouldWrites(): WouldWrite[] {
    return [...this.would.values()].sort((a, b) => b.lastAt - a.lastAt).map(({ key: _key, ...w }) => w);
  }

  /** Restores the audit trail, records the configured mode when it differs from the last switch, and publishes. */
  async start(): Promise<void> {
    const saved = await this.opts.store?.getValue<DryRunSwitch[]>(HISTORY_KEY).catch(() => undefined);
    this.history = Array.isArray(saved) ? saved.slice(-SWITCHES_KEPT) : [];
    const last = this.history.at(-1);
    if (!last || last.dryRun !== this.current.dryRun) await this.remember(this.current);
    if (this.current.dryRun) {
      this.opts.log?.warn({ by: 'config' }, 'outputs: DRY RUN (outputs.dryRun): line commands and setpoints are computed and shown, none is written');
      this.opts.bus?.emit('alert', { code: 'DRY_RUN', level: 'warning', message: 'outputs: dry run from the configuration: no line command or setpoint is written to any PLC', at: this.opts.clock.now() });
    }
    this.publish();
  }

  /**
   * Switches the mode. `by` says who (`http <address>`), `reason` why (required: it goes in the audit trail).
   * Returns whether it changed; switching to the mode already in force changes nothing and records nothing.
   */
  async set(dryRun: boolean, by: string, reason: string): Promise<boolean> {
    if (dryRun === this.current.dryRun) return false;
    const change: DryRunSwitch = { dryRun, at: this.opts.clock.now(), by, reason };
    this.current = change;
    if (!dryRun) this.would.clear();
    this.opts.log?.warn(
      { by, reason, dryRun },
      dryRun ? 'outputs: dry run switched ON: from now on no line command or setpoint is written' : 'outputs: dry run switched OFF: line commands and setpoints are written to the PLCs from now on',
    );
    this.opts.bus?.emit('alert', {
      code: dryRun ? 'DRY_RUN' : 'OUTPUTS_LIVE',
      level: 'warning',
      message: `outputs: dry run switched ${dryRun ? 'on' : 'off'} by ${by}: ${reason}`,
      at: change.at,
    });
    await this.remember(change);
    this.opts.bus?.emit('outputs.mode', change);
    this.publish();
    return true;
  }

  /**
   * Records what `via` would have written to `target` (call it instead of writing, while {@link dryRun}).
   * Identical content only counts up; new content is published on `outputs/dry-run`.
   */
  wouldWrite(via: WouldWrite['via'], target: string, what: string, values: Record<string, unknown>): void {
    const now = this.opts.clock.now();
    const id = `${via} ${target}`;
    const key = JSON.stringify([what, values]);
    const seen = this.would.get(id);
    if (seen && seen.key === key) {
      seen.times++;
      seen.lastAt = now;
      return;
    }
    this.would.set(id, { via, target, what, values, firstAt: now, lastAt: now, times: 1, key });
    this.publish();
  }

  /** The retained `outputs/dry-run` payload. */
  payload(): Payloads['outputs/dry-run'] {
    return {
      v: PAYLOAD_VERSION,
      dry_run: this.current.dryRun,
      since: formatUtcIso(this.current.at),
      by: this.current.by,
      reason: this.current.reason,
      would_write: this.wouldWrites().map((w) => ({ via: w.via, target: w.target, what: w.what, values: w.values, first_at: formatUtcIso(w.firstAt), last_at: formatUtcIso(w.lastAt), times: w.times })),
      at: formatUtcIso(this.opts.clock.now()),
    };
  }

  private async remember(change: DryRunSwitch): Promise<void> {
    this.history = [...this.history, change].slice(-SWITCHES_KEPT);
    await this.opts.store?.setValue(HISTORY_KEY, this.history).catch((e: unknown) => this.opts.log?.warn({ err: errorMessage(e) }, 'outputs: dry-run switch not saved in the audit trail'));
  }

  private publish(): void {
    const mqtt = this.opts.mqtt;
    if (!mqtt) return;
    this.publishing = this.publishing
      .then(() => mqtt.publish(topics.outputsDryRun, this.payload(), { retain: true }))
      .catch((e: unknown) => this.opts.log?.warn({ err: errorMessage(e) }, 'outputs/dry-run not published'));
  }
}

/** The gateway's mode, or (a plugin built without one, in tests) a fixed one from the configuration. */
export function outputModeOf(ctx: { outputs?: OutputMode; config: { outputs: { dryRun: boolean } }; clock: Clock }): OutputMode {
  return ctx.outputs ?? new OutputMode({ dryRun: ctx.config.outputs.dryRun, clock: ctx.clock });
}
