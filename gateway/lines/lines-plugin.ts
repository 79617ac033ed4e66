import { realClock } from '../time/clock.js';
import { formatUtcIso } from '../time/tz.js';
import { errorMessage } from '../util/errors.js';
import { worst, type ComponentHealth } from '../util/health.js';
import { PAYLOAD_VERSION, topics, type PlanDocumentPayload } from '../mqtt/topics.js';
import type { Plugin, PluginContext } from '../core/plugin-api.js';
import { outputModeOf } from '../core/output-mode.js';
import { LineCommandWriter, type LineTransport, type LineWriterConfig, type LineWriterState } from './command-writer.js';
import { lineStateAt, linesChangedByGuard, withGuardShifts, type GuardShift } from './line-state.js';

/** How a line plugin builds its writers: its name (the bus owner), its lines, each line's transport and what `writers()` shows. */
export interface LinePluginSpec<C extends LineWriterConfig, T extends LineTransport, D> {
  name: string;
  lines: readonly C[];
  transport(cfg: C): T;
  /** One line's entry in `writers()` and in the health details. */
  details(writer: LineCommandWriter<T>): D;
  /** Run once at start when there are lines (e.g. load the protocol's library). */
  prepare?(): Promise<void>;
}

/**
 * A plugin that sends the plan to the lines' PLCs, whatever the protocol: one {@link LineCommandWriter} per line,
 * rewritten at once on `plan.updated`, on a change of what the quarter-hour guard's shifts make the line do (`power.guard`:
 * a deferral set, changed or lifted; see `linesChangedByGuard`)
 * and on a switch of the write-nothing mode (`outputs.mode`). Each line's retained `lines/<line>/state` is
 * republished when what it says changes (not at every heartbeat) and `line.state` is emitted when its state changes;
 * PLC_WRITE_FAILED is raised at most once a minute of device time per line, however fast the gateway's clock runs,
 * and resolved (`alert.resolved`) once the line has verifiably written again: the same outage later is raised anew.
 */
export function createLinePlugin<C extends LineWriterConfig, T extends LineTransport, D>(ctx: PluginContext, spec: LinePluginSpec<C, T, D>): Plugin & { writers(): Record<string, D> } {
  let doc: PlanDocumentPayload | null = null;
  /** Run starts the quarter-hour guard (plugins/power-guard) moved later. */
  let shifts: GuardShift[] = [];
  const kwOf = (process: string) => ctx.config.planner.processes.find((p) => p.name === process)?.kw ?? 0;
  const deviceClock = ctx.deviceClock ?? realClock;
  /** When each line last raised PLC_WRITE_FAILED (device time): one line's alerts never silence another's. */
  const lastAlert = new Map<string, number>();
  /** Lines with a PLC_WRITE_FAILED condition not yet found gone. */
  const alerting = new Set<string>();
  const published = new Map<string, string>();
  /** What each line's PLC verifiably holds, as last emitted on `line.written` (forgotten after a dry-run cycle or a failure). */
  const held = new Map<string, string>();
  let stopping = false;
  const outputs = outputModeOf(ctx);
  const { name } = spec;

  /** Republishes the retained line state when what it says changed (not at every heartbeat). */
  const publishState = (w: LineCommandWriter<T>, override?: 'stopped') => {
    const h = w.tracker.get();
    const state: LineWriterState = override ?? (h.state === 'disabled' ? 'stopped' : outputs.dryRunFor(w.line) && h.state === 'ok' ? 'dry_run' : (h.state as LineWriterState));
    const last = w.lastWritten;
    const written = last ? { command: last.state.command, power_kw: last.state.powerKw, valid_until: formatUtcIso(last.state.validUntil), at: formatUtcIso(last.at) } : null;
    const error = state === 'ok' ? null : h.message;
    const key = JSON.stringify([state, written?.command, written?.power_kw, written?.valid_until, error === null]);
    if (published.get(w.line) === key) return Promise.resolve();
    const previous = published.get(w.line);
    published.set(w.line, key);
    if (!previous || JSON.parse(previous)[0] !== state) ctx.bus.emit('line.state', { line: w.line, state, message: h.message });
    const now = ctx.clock.now();
    return ctx.mqtt
      .publish(topics.lineState(w.line), { v: PAYLOAD_VERSION, line: w.line, state, written, error, since: formatUtcIso(h.since ?? now), at: formatUtcIso(now) }, { retain: true })
      .catch((e: unknown) => ctx.log.warn({ line: w.line, err: errorMessage(e) }, 'line state not published'));
  };

  const writers = spec.lines.map(
    (cfg) =>
      new LineCommandWriter(cfg, spec.transport(cfg), {
        clock: ctx.clock,
        ...(ctx.deviceClock ? { deviceClock: ctx.deviceClock } : {}),
        outputs,
        state: () => lineStateAt(withGuardShifts(doc, shifts), cfg.line, ctx.clock.now(), kwOf),
        onFailure: (message) => {
          alerting.add(cfg.line);
          // At most one alert a minute of device time per line, however fast the gateway's clock runs.
          const now = deviceClock.now();
          if (now - (lastAlert.get(cfg.line) ?? -Infinity) < 60_000) return;
          lastAlert.set(cfg.line, now);
          ctx.bus.emit('alert', { code: 'PLC_WRITE_FAILED', level: 'critical', message, at: ctx.clock.now() });
        },
        onChange: (w) => {
          // Written and read back again (a write-nothing cycle verifies nothing): the line's alert condition is gone.
          if (w.verified && alerting.delete(w.line)) ctx.bus.emit('alert.resolved', { code: 'PLC_WRITE_FAILED', subject: `line ${w.line}`, at: ctx.clock.now() });
          // What the line verifiably runs (the measured savings' runs, gateway/bill/ran-runs.ts): on a change only.
          const last = w.lastWritten;
          if (w.verified && last) {
            const key = JSON.stringify([last.state.command, last.state.batch, last.state.powerKw, last.state.validUntil]);
            if (held.get(w.line) !== key) {
              held.set(w.line, key);
              ctx.bus.emit('line.written', { line: w.line, command: last.state.command, batch: last.state.batch, powerKw: last.state.powerKw, validUntil: last.state.validUntil, at: last.at });
            }
          } else held.delete(w.line);
          if (!stopping) void publishState(w as LineCommandWriter<T>);
        },
      }),
  );
  return {
    name,
    async start() {
      if (writers.length) await spec.prepare?.();
      ctx.bus.on('plan.updated', name, (e) => {
        doc = e.doc;
        for (const w of writers) w.writeNow();
      });
      // Every line whose command the new set changes is rewritten at once: newly deferred, lifted (in the old set
      // only) or moved; a lifted deferral never waits for the watchdog period to reach the PLC.
      ctx.bus.on('power.guard', name, (e) => {
        const changed = linesChangedByGuard(doc, shifts, e.shifts, writers.map((w) => w.line), ctx.clock.now(), kwOf);
        shifts = e.shifts;
        for (const w of writers) if (changed.includes(w.line)) w.writeNow();
      });
      // Switching the write-nothing mode takes effect at once: off writes the plan now, on stops between two requests.
      ctx.bus.on('outputs.mode', name, () => {
        for (const w of writers) w.writeNow();
      });
      for (const w of writers) w.start();
    },
    async stop() {
      stopping = true;
      ctx.bus.removeOwner(name);
      await Promise.all(writers.map((w) => w.stop()));
      await Promise.all(writers.map((w) => publishState(w, 'stopped')));
    },
    health(): ComponentHealth {
      const states = writers.map((w) => w.tracker.get());
      return {
        state: states.length ? worst(states.map((s) => s.state)) : 'ok',
        message: states.map((s, i) => `${writers[i]!.line}: ${s.message}`).join('; ') || 'no lines',
        details: this.writers(),
      };
    },
    writers() {
      return Object.fromEntries(writers.map((w) => [w.line, spec.details(w)]));
    },
  };
}
