import { realClock, type Clock, type TimerHandle } from '../../gateway/time/clock.js';
import type { MeterConfig } from '../../gateway/config/meters-schema.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker, worst, type ComponentHealth } from '../../gateway/util/health.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { closeModbus, connectModbus, type ModbusClient } from '../../gateway/modbus/client.js';
import { PAYLOAD_VERSION, topics, type Payloads } from '../../gateway/mqtt/topics.js';
import { MeterCounter, type CounterState } from '../../gateway/meters/counter.js';
import { decodeRegister, planReads, registerResolution, resolveNodeProfile, resolveProfile, type MeterProfile, type MeterQuantity, type MeterRead } from '../../gateway/meters/profile.js';
import { OpcuaFault } from '../../gateway/opcua/session.js';
import { NODE_FAULTS, OpcuaMeterSource } from './opcua-source.js';
import { pruneMeterQuarterHours, writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import type { MeterFaultKind, MeterReading } from '../../gateway/meters/reading.js';

/** Alert codes, one per kind of counter fault (stable: line controllers and notifications key on them). */
export const METER_ALERT: Record<MeterFaultKind, string> = {
  reset: 'METER_RESET',
  rollback: 'METER_ROLLBACK',
  jump: 'METER_JUMP',
  frozen: 'METER_FROZEN',
  gap: 'METER_GAP',
};

const stateKey = (meter: string): string => `meterstate.${meter}`;
const FAULT_KINDS: MeterFaultKind[] = ['reset', 'rollback', 'jump', 'frozen', 'gap'];

/**
 * One energy meter: polls its profile's registers over Modbus (TCP or RTU, through the shared client) every
 * `pollMs` of device time, runs the counter checks, emits `meter.reading` on every poll and `meter.quarterHour`
 * for every closed local quarter-hour (stored first), raises an alert per fault found, and keeps its counter's
 * last trusted reading in the store so a restart bridges the downtime like any gap.
 */
class MeterPoller {
  private client?: ModbusClient;
  private timer?: TimerHandle;
  private stopped = false;
  private backoffMs = 0;
  private counter!: MeterCounter;
  private readonly reads: MeterRead[];
  /** The reactive-energy register answered an exception: the meter does not have it; not asked again. */
  private noKvarh = false;
  private gapRaised = false;
  private work: Promise<void> = Promise.resolve();
  readonly tracker: HealthTracker;
  /** The Modbus register map (transport tcp or rtu). */
  readonly profile?: MeterProfile;
  /** transport opcua: the meter's variables, read through an OPC UA session. */
  readonly ua?: OpcuaMeterSource;
  last: MeterReading | null = null;
  polls = 0;
  failures = 0;
  reconnects = 0;
  readonly faults: Record<MeterFaultKind, number> = { reset: 0, rollback: 0, jump: 0, frozen: 0, gap: 0 };
  lastFault: { kind: MeterFaultKind; at: string; message: string } | null = null;
  quarterHours = { closed: 0, measured: 0, interpolated: 0, missing: 0, last: null as MeterQuarterHour | null };

  constructor(
    readonly meter: MeterConfig,
    private readonly ctx: PluginContext,
    private readonly device: Clock,
  ) {
    this.tracker = new HealthTracker(() => ctx.clock.now());
    if (meter.transport === 'opcua') this.ua = new OpcuaMeterSource(meter, resolveNodeProfile(meter.profile, ctx.config.energy.meterProfiles), ctx.config, ctx.log);
    else this.profile = resolveProfile(meter.profile, ctx.config.energy.meterProfiles);
    this.reads = this.profile ? planReads(this.profile) : [];
  }

  async start(): Promise<void> {
    const saved = await this.ctx.store.getValue<CounterState>(stateKey(this.meter.name)).catch(() => undefined);
    this.counter = new MeterCounter(
      {
        // Judged in device time (a busy event loop in the accelerated demo is not a gap), and at least 2.5 poll periods.
        gapMs: Math.max(this.meter.gapSeconds * 1000, 2.5 * this.meter.pollMs) * (this.ctx.clock.rate ?? 1),
        interpolateMaxMs: this.meter.interpolateMinutes * 60_000,
        frozenPolls: this.meter.frozenPolls,
        frozenKwh: this.meter.frozenKwh,
        ...(this.meter.maxKw ? { maxKw: this.meter.maxKw } : {}),
      },
      saved,
    );
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.work.catch(() => undefined);
    await closeModbus(this.client).catch(() => undefined);
    await this.ua?.close();
    // The last trusted reading, so that the next start bridges only the time the gateway was stopped.
    const state = this.counter?.state();
    if (state) await this.ctx.store.setValue(stateKey(this.meter.name), state).catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.device.setTimeout(() => {
      this.work = this.cycle();
    }, ms);
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    const began = this.device.now();
    try {
      if (this.ua) {
        if (!this.ua.isOpen) {
          await this.ua.open();
          if (this.polls > 0 || this.backoffMs > 0) this.reconnects++;
        }
        const requestedAt = this.ctx.clock.now();
        const { values, at, resolutionKwh } = await this.ua.read(() => this.ctx.clock.now());
        this.backoffMs = 0;
        await this.take(values, at, requestedAt, resolutionKwh);
        this.schedule(Math.max(0, began + this.meter.pollMs - this.device.now()));
        return;
      }
      if (!this.client?.isOpen) {
        this.client = await connectModbus({ ...this.meter, transport: this.meter.transport === 'rtu' ? 'rtu' : 'tcp' }, `meter ${this.meter.name}`);
        if (this.polls > 0 || this.backoffMs > 0) this.reconnects++;
      }
      const { values, at, requestedAt } = await this.readValues();
      this.backoffMs = 0;
      await this.take(values, at, requestedAt);
      this.schedule(Math.max(0, began + this.meter.pollMs - this.device.now()));
    } catch (error) {
      // OPC UA: a bad status code or a value that is not a number is one variable's fault, named in health (code
      // bad_status, wrong_type, node_missing, namespace_missing): the session stays and the meter is read again at
      // its period; anything else (session or connection) closes it and backs off.
      const nodeFault = error instanceof OpcuaFault && NODE_FAULTS.has(error.code);
      if (!nodeFault) {
        await closeModbus(this.client).catch(() => undefined);
        await this.ua?.close();
      }
      this.failures++;
      this.backoffMs = nodeFault ? this.meter.pollMs : Math.min(this.meter.maxBackoffMs, Math.max(this.meter.pollMs, this.backoffMs * 2 || 500));
      // (OPC UA faults already begin with "meter <name>: ".)
      const message = `${errorMessage(error).replace(`meter ${this.meter.name}: `, '')}; ${nodeFault ? 'read again' : 'reconnecting'} in ${Math.round(this.backoffMs)} ms`;
      this.tracker.set('failed', `meter ${this.meter.name}: ${message}`, error instanceof OpcuaFault ? error.code : /timed out/i.test(errorMessage(error)) ? 'timeout' : 'unreachable');
      this.ctx.log.warn({ meter: this.meter.name, err: message }, 'energy meter unavailable');
      const at = this.ctx.clock.now();
      this.emitReading({ at, kw: null, importKwh: null, quality: 'failed' });
      await this.closeQuarterHours(at);
      this.schedule(this.backoffMs);
    }
  }

  /**
   * Reads every register of the profile; a Modbus exception on energy or power fails the poll (thrown). `at` is when
   * the energy counter answered (gateway clock): the counter is what the quarter-hours are cut from.
   */
  private async readValues(): Promise<{ values: Partial<Record<MeterQuantity, number | null>>; at: number; requestedAt: number }> {
    const out: Partial<Record<MeterQuantity, number | null>> = {};
    let at: number | undefined;
    let requestedAt: number | undefined;
    for (const read of this.reads) {
      const optional = read.quantities.every((q) => q.quantity === 'importKvarh');
      if (optional && this.noKvarh) continue;
      let data: number[];
      const sent = this.ctx.clock.now();
      try {
        const answer = read.fc === 4 ? await this.client!.readInputRegisters(read.address, read.count) : await this.client!.readHoldingRegisters(read.address, read.count);
        data = answer.data;
      } catch (error) {
        const code = (error as { modbusCode?: number }).modbusCode;
        if (optional && code !== undefined) {
          this.noKvarh = true;
          this.ctx.log.info({ meter: this.meter.name, address: read.address }, `reactive-energy register answered Modbus exception ${code}: read without reactive energy`);
          continue;
        }
        if (code !== undefined) throw new Error(`function ${read.fc} at address ${read.address} (${read.count} registers) answered Modbus exception ${code}: check the profile ${this.meter.profile} against the meter`);
        throw error;
      }
      if (read.quantities.some((q) => q.quantity === 'importKwh')) {
        at = this.ctx.clock.now();
        requestedAt = sent;
      }
      for (const q of read.quantities) {
        const r = this.profile!.registers[q.quantity]!;
        const value = decodeRegister(data.slice(q.offset), r);
        out[q.quantity] = Number.isFinite(value) ? value : null;
      }
    }
    const end = at ?? this.ctx.clock.now();
    return { values: out, at: end, requestedAt: requestedAt ?? end };
  }

  /** Reactive energy is read: the profile has it and the meter answered it. */
  private get reactive(): boolean {
    return this.ua ? Boolean(this.ua.profile.nodes.importKvarh) && !this.ua.noKvarh : Boolean(this.profile!.registers.importKvarh) && !this.noKvarh;
  }

  /** `at`: when the answer came; `requestedAt`: when its request was sent (the value is from between the two). */
  private async take(values: Partial<Record<MeterQuantity, number | null>>, at: number, requestedAt: number, resolution?: number): Promise<void> {
    this.polls++;
    const kw = values.kw ?? null;
    const importKwh = values.importKwh ?? null;
    const importKvarh = this.reactive ? (values.importKvarh ?? null) : undefined;
    if (kw === null || importKwh === null) {
      this.tracker.set('degraded', `meter ${this.meter.name}: the meter answered a value that is not a number (NaN or infinite)`, 'bad_value');
      this.emitReading({ at, kw, importKwh, ...(importKvarh !== undefined ? { importKvarh } : {}), quality: 'failed' });
      await this.closeQuarterHours(at);
      return;
    }
    const resolutionKwh = resolution ?? registerResolution(this.profile!.registers.importKwh, importKwh);
    const verdict = this.counter.push({ at, requestedAt, importKwh, kw, resolutionKwh, ...(importKvarh !== undefined ? { importKvarh } : {}) });
    if (verdict.raised && verdict.fault) this.fault(verdict.fault, verdict.message ?? verdict.fault, at);
    this.gapRaised = false;
    this.emitReading({ at, kw, importKwh, ...(importKvarh !== undefined ? { importKvarh } : {}), quality: verdict.quality, ...(verdict.fault ? { fault: verdict.fault } : {}) });
    // On a wall clock not trusted the meter is read, but its quarter-hours are not stored (closeQuarterHours): say so.
    const untrusted = this.ctx.clockUntrusted?.();
    if (verdict.quality === 'good' && untrusted) this.tracker.set('degraded', `meter ${this.meter.name}: ${round3(kw)} kW, ${round3(importKwh)} kWh; quarter-hours not stored: wall clock not trusted (${untrusted})`, 'clock_untrusted');
    else if (verdict.quality === 'good') this.tracker.set('ok', `meter ${this.meter.name}: ${round3(kw)} kW, ${round3(importKwh)} kWh`);
    else this.tracker.set('degraded', `meter ${this.meter.name}: ${verdict.fault}${verdict.message ? `: ${verdict.message}` : ''}; its quarter-hours are not billed as measured`, `meter_${verdict.fault}`);
    await this.closeQuarterHours(at);
  }

  private fault(kind: MeterFaultKind, message: string, at: number): void {
    this.faults[kind]++;
    this.lastFault = { kind, at: new Date(at).toISOString(), message };
    const level = kind === 'gap' ? 'warning' : 'critical';
    this.ctx.bus.emit('alert', { code: METER_ALERT[kind], level, message: `meter ${this.meter.name}: ${message}`, at });
  }

  private emitReading(r: Omit<MeterReading, 'meter' | 'role' | 'line'>): void {
    const reading: MeterReading = { meter: this.meter.name, role: this.meter.role, ...(this.meter.line ? { line: this.meter.line } : {}), ...r, provenance: this.meter.provenance };
    if (reading.quality !== 'failed' || !this.last) this.last = reading;
    else this.last = { ...this.last, quality: 'failed' };
    this.ctx.bus.emit('meter.reading', reading);
    this.publish();
  }

  /** The retained `meters/<name>`: the last values (the last good ones, marked failed, while the meter is away). */
  private publish(): void {
    const r = this.last;
    const q = this.quarterHours.last;
    const payload: Payloads['meters/+'] = {
      v: PAYLOAD_VERSION,
      meter: this.meter.name,
      role: this.meter.role,
      line: this.meter.line ?? null,
      provenance: this.meter.provenance,
      at: r && r.importKwh !== null ? new Date(r.at).toISOString() : null,
      kw: r?.kw ?? null,
      import_kwh: r?.importKwh ?? null,
      import_kvarh: r?.importKvarh ?? null,
      quality: r?.quality ?? 'failed',
      fault: r?.fault ?? null,
      quarter_hour: q ? { start: new Date(q.start).toISOString(), end: new Date(q.end).toISOString(), kwh: q.kwh, avg_kw: q.avgKw, quality: q.quality, period: q.period } : null,
    };
    // Not awaited: a QoS 1 round trip must not hold the poll (the connection keeps the retained state for reconnects).
    this.ctx.mqtt.publish(topics.meter(this.meter.name), payload, { retain: true }).catch(() => undefined);
  }

  /** Closes, stores and announces the quarter-hours the counter can close by `at`; raises the gap alert while silent. */
  private async closeQuarterHours(at: number): Promise<void> {
    if (this.counter.gapOpen(at) && !this.gapRaised) {
      this.gapRaised = true;
      this.fault('gap', `no reading since ${this.last ? new Date(this.last.at).toISOString() : 'start'}`, at);
    }
    const closed = this.counter.close(at);
    if (!closed.length) return;
    // A wall clock not trusted (README "Reliability: a wall clock it cannot trust") stamps no reading as current: the
    // quarter-hours it closes are not stored (the bill counts them missing), nor announced.
    if (this.ctx.clockUntrusted?.()) return;
    // The contract's access tariff; without a contract, the planner's (the same calendar).
    const tariff = this.ctx.config.energy.contract?.tariff ?? this.ctx.config.planner.tariff;
    const reactive = this.reactive;
    const rows: MeterQuarterHour[] = closed.map(({ kvarh, ...q }) => ({
      meter: this.meter.name,
      role: this.meter.role,
      ...(this.meter.line ? { line: this.meter.line } : {}),
      ...q,
      ...(reactive ? { kvarh: kvarh ?? null } : {}),
      period: tariff ? periodOf(tariff, q.start, this.ctx.config.site.timezone) : null,
    }));
    try {
      await writeMeterQuarterHours(this.ctx.store, rows);
      const state = this.counter.state();
      if (state) await this.ctx.store.setValue(stateKey(this.meter.name), state);
    } catch (error) {
      this.tracker.set('degraded', `meter ${this.meter.name}: quarter-hours not stored: ${errorMessage(error)}`, 'store_failed');
      return;
    }
    for (const r of rows) {
      this.quarterHours.closed++;
      this.quarterHours[r.quality]++;
      this.quarterHours.last = r;
      this.ctx.bus.emit('meter.quarterHour', r);
    }
  }

  counterFrozen(): boolean {
    return this.counter?.isFrozen() ?? false;
  }

  gapOpen(): boolean {
    return this.counter?.gapOpen(this.ctx.clock.now()) ?? false;
  }

  details(): Record<string, unknown> {
    return {
      ...this.tracker.get(),
      role: this.meter.role,
      ...(this.meter.line ? { line: this.meter.line } : {}),
      provenance: this.meter.provenance,
      profile: this.meter.profile,
      model: (this.ua?.profile ?? this.profile!).model,
      transport: this.meter.transport,
      ...(this.ua ? { endpoint: this.meter.opcua?.endpointUrl, sessions: this.ua.sessions } : {}),
      reactive_energy: this.reactive,
      last: this.last,
      polls: this.polls,
      failures: this.failures,
      reconnects: this.reconnects,
      frozen: this.counter?.isFrozen() ?? false,
      faults: this.faults,
      last_fault: this.lastFault,
      quarter_hours: { closed: this.quarterHours.closed, measured: this.quarterHours.measured, interpolated: this.quarterHours.interpolated, missing: this.quarterHours.missing, last: this.quarterHours.last },
    };
  }
}

export interface MetersPlugin extends Plugin {
  /** Each meter's last reading (null before the first poll). */
  readings(): Record<string, MeterReading | null>;
}

export function createMeters(ctx: PluginContext, deviceClock: Clock = ctx.deviceClock ?? realClock): MetersPlugin {
  const pollers = ctx.config.energy.meters.map((m) => new MeterPoller(m, ctx, deviceClock));
  return {
    name: 'meters',
    async start() {
      for (const p of pollers) await p.start();
    },
    async stop() {
      await Promise.all(pollers.map((p) => p.stop()));
    },
    health(): ComponentHealth {
      const meters = Object.fromEntries(pollers.map((p) => [p.meter.name, p.details()]));
      const states = pollers.map((p) => p.tracker.get().state);
      const notOk = pollers.filter((p) => p.tracker.get().state !== 'ok').map((p) => p.tracker.get().message);
      return {
        // A meter away makes the bill not measured, not the gateway down: the plugin is degraded, the meter failed.
        state: states.length ? (worst(states) === 'failed' ? 'degraded' : worst(states)) : 'ok',
        message: notOk.length ? notOk.join('; ') : `${pollers.length} meters ok`,
        // Conditions gone (the health job resolves their alerts): a meter reading again is no longer in a gap, a meter
        // whose counter advances again is no longer frozen. Resets, rollbacks and jumps are events: they stay.
        details: {
          meters,
          fault_kinds: FAULT_KINDS,
          resolved: pollers.flatMap((p) => [
            ...(p.counterFrozen() ? [] : [{ code: METER_ALERT.frozen, subject: `meter ${p.meter.name}` }]),
            ...(p.tracker.get().state === 'failed' || p.gapOpen() ? [] : [{ code: METER_ALERT.gap, subject: `meter ${p.meter.name}` }]),
          ]),
        },
      };
    },
    readings() {
      return Object.fromEntries(pollers.map((p) => [p.meter.name, p.last]));
    },
    jobs: {
      /** Retention: meter quarter-hours older than energy.meterKeepDays (at least 400) go. */
      cleanup: async () => {
        let deleted = 0;
        for (const p of pollers) deleted += await pruneMeterQuarterHours(ctx.store, p.meter.name, ctx.clock.now(), ctx.config.energy.meterKeepDays);
        return { summary: `meters: ${deleted} days of quarter-hours past ${ctx.config.energy.meterKeepDays} days deleted` };
      },
    },
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export const metersPlugin: PluginFactory = {
  name: 'meters',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.energy.meters.length ? true : { enabled: false, reason: 'no energy meters configured (energy.meters)' }),
  create: createMeters,
};
