import type { Clock } from '../time/clock.js';
import { formatUtcIso } from '../time/tz.js';
import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { SeriesStore } from '../series/store.js';
import type { MqttConnection } from '../mqtt/connection.js';
import { PAYLOAD_VERSION, topics, type Payloads } from '../mqtt/topics.js';
import type { EventBus } from './event-bus.js';

/** One switch of the write-nothing mode: to what, when (UTC ms), who (`config`, `http 10.0.0.5`) and why; `line` when it was one line's. */
export interface DryRunSwitch {
  dryRun: boolean;
  at: number;
  by: string;
  reason: string;
  line?: string;
}

/** What an output would have written while the mode is on, the latest per output and target. */
export interface WouldWrite {
  via: 'modbus' | 'mqtt' | 'sparkplug' | 'opcua' | 'power-guard';
  /** `line conche-1 (127.0.0.1:502 unit 1)`, `lines/conche-1/command`, `DDATA conche-1`, `line conche-1 (opc.tcp://…)`, `run start conche-1`. */
  target: string;
  /** Short text: `command run, 120 kW until 2026-12-06T10:00:00Z`. */
  what: string;
  /** The values themselves: register (or coil) → value for Modbus, the payload for MQTT, metric → value for Sparkplug, node → value for OPC UA, the deferral for the power guard. */
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
 * The write-nothing mode (`outputs.dryRun`) shared by every output that writes to a PLC or a field device:
 * modbus-lines (registers), opcua-lines (variables or a method call), the planner (MQTT `lines/<line>/command`),
 * Sparkplug (line metrics) and the power guard (interruptible-load coils, run deferrals). While it is on they compute and record
 * what they would write ({@link wouldWrite}) and send none of it. Switched at run time through the HTTP API
 * (bearer token): every switch is logged (warn), raised as an alert, kept in the store's audit trail and
 * announced on the bus (`outputs.mode`) and on the retained MQTT topic `outputs/dry-run`. At start the
 * configuration decides: a run-time switch does not survive a restart (the configuration is the record).
 */
export class OutputMode {
  private current: DryRunSwitch;
  /** Lines in the mode on their own (`lines[].dryRun`, or switched one by one), whatever the global mode says. */
  private readonly lineSwitches = new Map<string, DryRunSwitch>();
  private history: DryRunSwitch[] = [];
  private readonly would = new Map<string, WouldWrite & { key: string; line?: string }>();
  private publishing: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: {
      dryRun: boolean;
      /** Lines configured with `lines[].dryRun: true`. */
      dryRunLines?: string[];
      clock: Clock;
      bus?: EventBus;
      log?: Logger;
      store?: Pick<SeriesStore, 'getValue' | 'setValue'>;
      mqtt?: Pick<MqttConnection, 'publish'>;
    },
  ) {
    this.current = { dryRun: opts.dryRun, at: opts.clock.now(), by: 'config', reason: opts.dryRun ? 'outputs.dryRun is true in the configuration' : 'outputs.dryRun is false in the configuration' };
    for (const line of opts.dryRunLines ?? []) this.lineSwitches.set(line, { dryRun: true, at: opts.clock.now(), by: 'config', reason: `lines[].dryRun is true for ${line} in the configuration`, line });
  }

  /** The global mode: nothing is written to any line. */
  get dryRun(): boolean {
    return this.current.dryRun;
  }

  /** Whether nothing may be written to `line`: the global mode, or the line's own (commissioning one line while the others run). */
  dryRunFor(line: string): boolean {
    return this.current.dryRun || this.lineSwitches.get(line)?.dryRun === true;
  }

  /** The lines in the mode on their own, with who switched them and why. */
  lineStates(): DryRunSwitch[] {
    return [...this.lineSwitches.values()].filter((s) => s.dryRun).map((s) => ({ ...s }));
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
    return [...this.would.values()].sort((a, b) => b.lastAt - a.lastAt).map(({ key: _key, line: _line, ...w }) => w);
  }

  /** Restores the audit trail, records the configured mode when it differs from the last switch, and publishes. */
  async start(): Promise<void> {
    const saved = await this.opts.store?.getValue<DryRunSwitch[]>(HISTORY_KEY).catch(() => undefined);
    this.history = Array.isArray(saved) ? saved.slice(-SWITCHES_KEPT) : [];
    const last = this.history.at(-1);
    if (!last || last.dryRun !== this.current.dryRun || last.line) await this.remember(this.current);
    for (const s of this.lineSwitches.values()) await this.remember(s);
    if (this.lineSwitches.size && !this.current.dryRun) {
      this.opts.log?.warn({ lines: [...this.lineSwitches.keys()] }, 'outputs: DRY RUN for some lines (lines[].dryRun): nothing is written to them');
    }
    if (this.current.dryRun) {
      this.opts.log?.warn({ by: 'config' }, 'outputs: DRY RUN (outputs.dryRun): line commands, setpoints and the power guard\'s coil switches and run deferrals are computed and shown, none is written');
      this.opts.bus?.emit('alert', { code: 'DRY_RUN', level: 'warning', message: 'outputs: dry run from the configuration: no line command, setpoint or interruptible-load coil is written to any PLC or field device', at: this.opts.clock.now() });
    }
    this.publish();
  }

  /**
   * Switches the mode. `by` says who (`http <address>`), `reason` why (required: it goes in the audit trail).
   * Returns whether it changed; switching to the mode already in force changes nothing and records nothing.
   */
  async set(dryRun: boolean, by: string, reason: string, line?: string): Promise<boolean> {
    const before = line ? this.lineSwitches.get(line)?.dryRun === true : this.current.dryRun;
    if (dryRun === before) return false;
    const change: DryRunSwitch = { dryRun, at: this.opts.clock.now(), by, reason, ...(line ? { line } : {}) };
    if (line) {
      if (dryRun) this.lineSwitches.set(line, change);
      else this.lineSwitches.delete(line);
    } else this.current = change;
    if (!dryRun) for (const [id, w] of this.would) if (!line || w.line === line) this.would.delete(id);
    const what = line ? `line ${line}` : 'all lines';
    this.opts.log?.warn(
      { by, reason, dryRun, ...(line ? { line } : {}) },
      dryRun ? `outputs: dry run switched ON for ${what}: from now on no line command or setpoint is written there` : `outputs: dry run switched OFF for ${what}: line commands and setpoints are written from now on${line && this.current.dryRun ? ' (once the global dry run is off too)' : ''}`,
    );
    this.opts.bus?.emit('alert', {
      code: dryRun ? 'DRY_RUN' : 'OUTPUTS_LIVE',
      level: 'warning',
      message: `outputs: dry run switched ${dryRun ? 'on' : 'off'}${line ? ` for line ${line}` : ''} by ${by}: ${reason}`,
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
  wouldWrite(via: WouldWrite['via'], target: string, what: string, values: Record<string, unknown>, line?: string): void {
    const now = this.opts.clock.now();
    const id = `${via} ${target}`;
    const key = JSON.stringify([what, values]);
    const seen = this.would.get(id);
    if (seen && seen.key === key) {
      seen.times++;
      seen.lastAt = now;
      return;
    }
    this.would.set(id, { via, target, what, values, firstAt: now, lastAt: now, times: 1, key, line });
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

type LinesConfig = { lines: Array<{ line: string; dryRun?: boolean }>; opcua?: { lines: Array<{ line: string; dryRun?: boolean }> } };

/** The gateway's mode, or (a plugin built without one, in tests) a fixed one from the configuration. */
export function outputModeOf(ctx: { outputs?: OutputMode; config: { outputs: { dryRun: boolean } } & LinesConfig; clock: Clock }): OutputMode {
  return ctx.outputs ?? new OutputMode({ dryRun: ctx.config.outputs.dryRun, dryRunLines: dryRunLines(ctx.config), clock: ctx.clock });
}

/** The lines configured with `dryRun: true`: Modbus `lines[]` and OPC UA `opcua.lines[]`. */
export function dryRunLines(config: LinesConfig): string[] {
  return [...new Set([...config.lines, ...(config.opcua?.lines ?? [])].filter((l) => l.dryRun).map((l) => l.line))];
}
