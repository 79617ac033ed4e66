/**
 * The live quarter-hour guard ("maxímetro", issue #22 item 3): every `checkEverySeconds` of device time, the
 * projected average power of the current quarter-hour from the site meter's `meter.reading` events; when it would
 * pass the period's contracted power minus `marginKw`, it defers what can wait (see guard.ts) and releases it at
 * the next quarter-hour. Deferred run starts go to the line commands as `power.guard` bus events (modbus-lines
 * moves the run later); interruptible loads are switched off through their Modbus coil. Health, alerts
 * (POWER_GUARD_DEFERRED, POWER_GUARD_EXCESS, POWER_GUARD_BLIND) and `/api/health` details say what and why.
 * The guard weighs no €: it keeps every quarter-hour's average under Pc − margin, which avoids the excess under
 * either rule of the bill (the quarter-hour formula, or a maxímetro supply's 2 × (Pmax − Pc) × tep × days / 30,
 * Contract.excessMetering); its POWER_GUARD_EXCESS alert names the rule the bill will charge.
 *
 * The write-nothing mode (`outputs.dryRun`, gateway/core/output-mode.ts): the guard decides as it would live, writes
 * no coil and moves no run. A coil it would switch off, and a run start it would hold (`dryRunFor(line)`, so a line
 * commissioned on its own counts too), are recorded as would-writes (`/api/outputs`, `outputs/dry-run`) and named
 * in its actions, alerts and health ("dry run: would …"); the `power.guard` event carries only what was done.
 * Switched off, the guard checks at once and acts live. Switched on while it holds a load off, it releases that load
 * at once (the one coil write the mode allows: it gives back what the guard took, and a cold room is not left off).
 */
import { realClock, type TimerHandle } from '../../gateway/time/clock.js';
import { formatLocalIso } from '../../gateway/time/tz.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker, type ComponentHealth } from '../../gateway/util/health.js';
import { powerPeriodOf } from '../../gateway/contract/calendar.js';
import { excessMeteringOf, resolveContract, type Contract } from '../../gateway/contract/contract.js';
import type { PowerGuardConfig } from '../../gateway/config/site-load-schema.js';
import { closeModbus, connectModbus, type ModbusClient } from '../../gateway/modbus/client.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import type { BusEvents } from '../../gateway/core/event-bus.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { outputModeOf } from '../../gateway/core/output-mode.js';
import { QH_MS, QuarterHourEnergy, averageSaved, runsOf, slackMs, type PlannedRun } from './guard.js';

type LoadConfig = PowerGuardConfig['interruptible'][number];
export type GuardEvent = BusEvents['power.guard'];

interface LoadState {
  cfg: LoadConfig;
  client?: ModbusClient;
  off: boolean;
  /** Off on paper only: the write-nothing mode decided it and wrote nothing (the load still runs). */
  dry: boolean;
  /** device ms when it went off / back on */
  offAt: number;
  onAt: number;
  /** gateway ms: release at the end of this quarter-hour at the latest */
  releaseAt: number;
  /** the quarter-hour whose off-time budget (maxOffMinutes) it used up: not held again in it */
  spentQh: number;
  reason: string;
}

export interface GuardAction {
  at: number;
  kind: 'defer-run' | 'load-off' | 'load-on' | 'excess';
  what: string;
  reason: string;
}

export function createPowerGuard(ctx: PluginContext): Plugin & { actions(): GuardAction[]; check(): Promise<void> } {
  const cfg = ctx.config.energy.powerGuard;
  const contract: Contract = resolveContract(ctx.config.energy.contract!);
  const excessRule =
    excessMeteringOf(contract) === 'maximetro'
      ? 'maxímetro supply: if this is the month\'s highest quarter-hour of the period, the bill charges 2 × (Pmax − Pc) × tep × days / 30'
      : 'the bill charges Kp × tep × sqrt(Σ (Pd − Pc)²) over the month\'s quarter-hours above Pc';
  const meter = cfg.meter ?? ctx.config.energy.meters.find((m) => m.role === 'site')?.name;
  const tz = ctx.config.site.timezone;
  const device = ctx.deviceClock ?? realClock;
  const tracker = new HealthTracker(() => ctx.clock.now());
  const energy = new QuarterHourEnergy();
  let doc: PlanDocumentPayload | null = null;
  /** Planned start → how far the guard moved that run (key `line@startMs`). */
  const shifts = new Map<string, { shiftMs: number; reason: string }>();
  /** Run starts the guard would have held in the write-nothing mode (not applied, not on the bus), same keys. */
  const wouldShifts = new Map<string, { shiftMs: number; reason: string }>();
  const outputs = outputModeOf(ctx);
  const loads: LoadState[] = cfg.interruptible.map((l) => ({ cfg: l, off: false, dry: false, offAt: -Infinity, onAt: -Infinity, releaseAt: 0, spentQh: -1, reason: '' }));
  const actions: GuardAction[] = [];
  let timer: TimerHandle | undefined;
  let stopped = false;
  let excessAlerted = -1;
  let last: { projectedKw: number | null; limitKw: number; period: number } | null = null;
  const coilProblems = new Map<string, string>();
  const key = (r: PlannedRun) => `${r.line}@${r.start}`;
  const shiftOf = (r: PlannedRun) => shifts.get(key(r))?.shiftMs ?? 0;
  const order = ctx.config.planner.order;
  const kwOfLine = (r: PlannedRun) => r.kw;

  const record = (kind: GuardAction['kind'], what: string, reason: string, level: 'info' | 'warning' = 'info') => {
    const at = ctx.clock.now();
    actions.push({ at, kind, what, reason });
    if (actions.length > 50) actions.shift();
    if (kind !== 'load-on') ctx.bus.emit('alert', { code: kind === 'excess' ? 'POWER_GUARD_EXCESS' : 'POWER_GUARD_DEFERRED', level, message: `${what}: ${reason}`, at });
    ctx.log.info({ kind, what, reason }, 'power guard');
  };

  const publish = () => {
    ctx.bus.emit('power.guard', {
      shifts: [...shifts.entries()].map(([k, v]) => ({ line: k.split('@')[0]!, runStart: Number(k.split('@')[1]), shiftMs: v.shiftMs, reason: v.reason })),
      loadsOff: loads.filter((l) => l.off && !l.dry).map((l) => ({ name: l.cfg.name, kw: l.cfg.kw, reason: l.reason })),
      projectedKw: last?.projectedKw ?? null,
      limitKw: last?.limitKw ?? null,
      period: last?.period ?? null,
      at: ctx.clock.now(),
    });
  };

  const writeCoil = async (l: LoadState, on: boolean): Promise<void> => {
    try {
      if (!l.client?.isOpen) l.client = await connectModbus({ ...l.cfg, host: l.cfg.host ?? '127.0.0.1' }, `interruptible load ${l.cfg.name}`);
      await l.client.writeCoil(l.cfg.coil, on);
      coilProblems.delete(l.cfg.name);
    } catch (error) {
      coilProblems.set(l.cfg.name, `interruptible load ${l.cfg.name}: coil ${l.cfg.coil} not written (${errorMessage(error)})`);
      await closeModbus(l.client).catch(() => undefined);
      l.client = undefined;
      throw error;
    }
  };

  const coilTarget = (l: LoadState) => `interruptible load ${l.cfg.name} (${l.cfg.transport === 'rtu' ? l.cfg.path : `${l.cfg.host ?? '127.0.0.1'}:${l.cfg.port}`} unit ${l.cfg.unitId} coil ${l.cfg.coil})`;

  /** The write-nothing mode reads the coil instead (a read changes nothing): commissioning sees the link works. */
  const readCoil = async (l: LoadState): Promise<string> => {
    try {
      if (!l.client?.isOpen) l.client = await connectModbus({ ...l.cfg, host: l.cfg.host ?? '127.0.0.1' }, `interruptible load ${l.cfg.name}`);
      const on = (await l.client.readCoils(l.cfg.coil, 1)).data[0];
      coilProblems.delete(l.cfg.name);
      return `coil ${l.cfg.coil} reads ${on ? 1 : 0}`;
    } catch (error) {
      coilProblems.set(l.cfg.name, `interruptible load ${l.cfg.name}: coil ${l.cfg.coil} not readable (${errorMessage(error)})`);
      await closeModbus(l.client).catch(() => undefined);
      l.client = undefined;
      return `coil ${l.cfg.coil} not readable`;
    }
  };

  const loadOn = async (l: LoadState, why: string) => {
    if (!l.off) return;
    if (l.dry) {
      l.off = l.dry = false;
      l.onAt = device.now();
      if (outputs.dryRun) outputs.wouldWrite('modbus', coilTarget(l), 'switch back on', { [`coil ${l.cfg.coil}`]: true });
      record('load-on', `dry run: interruptible load ${l.cfg.name} would be released (nothing written)`, why);
      return;
    }
    try {
      await writeCoil(l, true);
    } catch (error) {
      // Still off as far as we know: the next check tries again, and people are told at once (a cold room).
      ctx.bus.emit('alert', { code: 'POWER_GUARD_COIL_FAILED', level: 'critical', message: `interruptible load ${l.cfg.name}: coil ${l.cfg.coil} could not be switched back on (${errorMessage(error)}); retrying every ${cfg.checkEverySeconds} s`, at: ctx.clock.now() });
      return;
    }
    l.off = false;
    l.onAt = device.now();
    record('load-on', `interruptible load ${l.cfg.name} released`, why);
  };

  const checkOnce = async (): Promise<void> => {
    const now = ctx.clock.now();
    const qh = Math.floor(now / QH_MS) * QH_MS;
    const qhEnd = qh + QH_MS;
    // Release at the next quarter-hour (gateway time: the meter's quarter-hours), or after maxOffMinutes of device time.
    for (const l of loads) {
      if (!l.off) continue;
      if (now >= l.releaseAt) await loadOn(l, 'the quarter-hour ended');
      else if (device.now() - l.offAt >= l.cfg.maxOffMinutes * 60_000) {
        l.spentQh = qh;
        await loadOn(l, `${l.cfg.maxOffMinutes} min off reached`);
      }
    }
    const blind = now - energy.lastAt > cfg.staleAfterSeconds * 1000 * (ctx.clock.rate ?? 1);
    if (blind) {
      for (const l of loads) await loadOn(l, 'the site meter is silent: the guard is blind and holds nothing');
      tracker.set('degraded', `blind: no reading of site meter ${meter ?? '(none configured)'} for more than ${cfg.staleAfterSeconds} s; nothing deferred`, 'meter_stale');
      last = null;
      publish();
      return;
    }
    const period = powerPeriodOf(contract.tariff, now, tz);
    const limitKw = contract.contractedKw[period - 1]! - cfg.marginKw;
    let projected = energy.projectedKw(now);
    last = { projectedKw: projected, limitKw, period };
    const runs = runsOf(doc);
    // Forget moves of runs no longer in the plan that began more than a day ago.
    for (const map of [shifts, wouldShifts]) for (const k of map.keys()) if (Number(k.split('@')[1]) < now - 86_400_000 && !runs.some((r) => key(r) === k)) map.delete(k);
    const horizonEnd = doc ? Date.parse(doc.horizon.end) : 0;
    const leadMs = 2 * cfg.checkEverySeconds * 1000 * (ctx.clock.rate ?? 1);
    // 1. A run due at the next boundary: room for it in the next quarter-hour? (decided before it begins)
    if (cfg.deferRuns && energy.lastKw !== null && qhEnd - now <= leadMs) {
      const nextPeriod = powerPeriodOf(contract.tariff, qhEnd, tz);
      const nextLimit = contract.contractedKw[nextPeriod - 1]! - cfg.marginKw;
      const at = (t: number, r: PlannedRun) => r.start + shiftOf(r) <= t && r.end + shiftOf(r) > t;
      // Site power next quarter-hour ≈ now − runs ending at the boundary + runs allowed to begin at it.
      let nextKw = energy.lastKw - runs.filter((r) => at(now, r) && !at(qhEnd, r)).reduce((s, r) => s + kwOfLine(r), 0);
      for (const r of runs.filter((x) => x.start + shiftOf(x) === qhEnd).sort((a, b) => a.start - b.start)) {
        const dry = outputs.dryRunFor(r.line);
        // Already held on paper at an earlier check (a live hold moves the run, so it is not found here again).
        if (dry && wouldShifts.has(key(r))) continue;
        if (nextKw + kwOfLine(r) <= nextLimit) {
          nextKw += kwOfLine(r);
          continue;
        }
        const slack = slackMs(r, runs, order, horizonEnd, shiftOf);
        const reason = `P${nextPeriod} from ${formatLocalIso(qhEnd, tz)}: ${Math.round(nextKw)} kW + ${r.kw} kW of ${r.process} would pass ${contract.contractedKw[nextPeriod - 1]} kW contracted − ${cfg.marginKw} kW margin`;
        if (slack >= QH_MS && dry) {
          wouldShifts.set(key(r), { shiftMs: shiftOf(r) + QH_MS, reason });
          outputs.wouldWrite('power-guard', `run start ${r.line}`, `hold ${r.process} batch ${r.batch} to ${formatLocalIso(qhEnd + QH_MS, tz)}`, { line: r.line, batch: r.batch, planned_start: new Date(r.start + shiftOf(r)).toISOString(), shift_min: QH_MS / 60_000, reason }, r.line);
          record('defer-run', `dry run: would hold start of ${r.process} batch ${r.batch} on line ${r.line} to ${formatLocalIso(qhEnd + QH_MS, tz)} (nothing deferred)`, reason);
        } else if (slack >= QH_MS) {
          shifts.set(key(r), { shiftMs: shiftOf(r) + QH_MS, reason });
          record('defer-run', `start of ${r.process} batch ${r.batch} on line ${r.line} held to ${formatLocalIso(qhEnd + QH_MS, tz)}`, reason);
        } else {
          nextKw += kwOfLine(r);
          record('excess', `start of ${r.process} batch ${r.batch} on line ${r.line} not deferred`, `${reason}; deferring it would break its batch (slack ${Math.round(slack / 60_000)} min)`, 'warning');
        }
      }
    }
    // 2. The quarter-hour in progress: switch interruptible loads off until its end.
    if (projected !== null && projected > limitKw) {
      for (const l of loads) {
        if (projected <= limitKw) break;
        if (l.off || l.spentQh === qh || device.now() - l.onAt < l.cfg.minOnMinutes * 60_000) continue;
        const reason = `P${period}: projected ${projected.toFixed(1)} kW over ${contract.contractedKw[period - 1]} kW contracted − ${cfg.marginKw} kW margin`;
        if (outputs.dryRun) {
          // Decided as live (so it is not decided again every check) and released as live, but no coil is written.
          Object.assign(l, { off: true, dry: true, offAt: device.now(), releaseAt: qhEnd, reason });
          outputs.wouldWrite('modbus', coilTarget(l), `switch off until ${formatLocalIso(qhEnd, tz)}`, { [`coil ${l.cfg.coil}`]: false });
          record('load-off', `dry run: would switch interruptible load ${l.cfg.name} (${l.cfg.kw} kW) off until ${formatLocalIso(qhEnd, tz)} (${await readCoil(l)}; nothing written)`, reason);
          projected -= averageSaved(l.cfg.kw, now);
          continue;
        }
        // Counted off only once the coil says so: a load that could not be switched saves nothing.
        if (!(await writeCoil(l, false).then(() => true, () => false))) continue;
        l.off = true;
        l.offAt = device.now();
        l.releaseAt = qhEnd;
        l.reason = reason;
        record('load-off', `interruptible load ${l.cfg.name} (${l.cfg.kw} kW) off until ${formatLocalIso(qhEnd, tz)}`, l.reason);
        projected -= averageSaved(l.cfg.kw, now);
      }
      if (projected > limitKw && excessAlerted !== qh) {
        excessAlerted = qh;
        record('excess', `quarter-hour from ${formatLocalIso(qh, tz)}`, `projected ${projected.toFixed(1)} kW stays above ${limitKw} kW with everything that may wait deferred (${excessRule})`, 'warning');
      }
    }
    const off = loads.filter((l) => l.off && !l.dry).map((l) => l.cfg.name);
    const heldOf = (map: typeof shifts) => [...map.entries()].filter(([k, v]) => Number(k.split('@')[1]) + v.shiftMs > now).map(([k, v]) => `${k.split('@')[0]} +${v.shiftMs / 60_000} min`);
    const held = heldOf(shifts);
    const wouldOff = loads.filter((l) => l.off && l.dry).map((l) => l.cfg.name);
    const wouldHold = heldOf(wouldShifts);
    const dry = wouldOff.length || wouldHold.length ? `; dry run, nothing written: would switch off: ${wouldOff.join(', ') || 'none'}; would defer run starts: ${wouldHold.join(', ') || 'none'}` : outputs.dryRun ? '; dry run: no coil is written, no run deferred' : '';
    const problems = [...coilProblems.values()];
    tracker.set(problems.length ? 'degraded' : 'ok', `${problems.length ? `${problems.join('; ')}; ` : ''}P${period}: projected ${projected === null ? 'n/a' : projected.toFixed(1)} kW, limit ${limitKw} kW${off.length ? `; off: ${off.join(', ')}` : ''}${held.length ? `; run starts deferred: ${held.join(', ')}` : ''}${dry}`, problems.length ? 'coil_write_failed' : undefined);
    publish();
  };

  /** One check at a time (the device timer and a caller may ask together); a failed check does not block the next. */
  let running: Promise<void> = Promise.resolve();
  const check = (): Promise<void> => (running = running.then(checkOnce, checkOnce));

  const loop = () => {
    if (stopped) return;
    timer = device.setTimeout(() => void check().catch((e: unknown) => tracker.set('degraded', `check failed: ${errorMessage(e)}`, 'check_failed')).finally(loop), cfg.checkEverySeconds * 1000);
  };

  return {
    name: 'power-guard',
    async start() {
      ctx.bus.on('meter.reading', 'power-guard', (r) => {
        if (r.role !== 'site' || r.meter !== meter || r.quality !== 'good' || r.kw === null) return;
        energy.reading(r.at, r.kw, r.importKwh);
      });
      ctx.bus.on('plan.updated', 'power-guard', (e) => {
        doc = e.doc;
      });
      // The write-nothing mode switched: off, what was decided on paper is dropped and the guard checks (and acts) at
      // once; on for every output, a load the guard holds off is given back at once.
      ctx.bus.on('outputs.mode', 'power-guard', () => {
        if (!outputs.dryRun) for (const l of loads) if (l.dry) l.off = l.dry = false;
        for (const k of wouldShifts.keys()) if (!outputs.dryRunFor(k.split('@')[0]!)) wouldShifts.delete(k);
        const giveBack = async () => {
          if (outputs.dryRun) for (const l of loads) if (l.off && !l.dry) await loadOn(l, 'the write-nothing mode was switched on: the guard gives back what it holds');
        };
        running = running.then(giveBack, giveBack);
        void check().catch((e: unknown) => tracker.set('degraded', `check failed: ${errorMessage(e)}`, 'check_failed'));
      });
      tracker.set('starting', `waiting for readings of site meter ${meter}`);
      loop();
    },
    async stop() {
      stopped = true;
      timer?.cancel();
      ctx.bus.removeOwner('power-guard');
      await running.catch(() => undefined);
      for (const l of loads) await loadOn(l, 'the gateway stops').catch(() => undefined);
      await Promise.all(loads.map((l) => closeModbus(l.client)));
    },
    health(): ComponentHealth {
      return {
        ...tracker.get(),
        details: {
          limit: last,
          dryRun: outputs.dryRun,
          wouldSwitchOff: loads.filter((l) => l.off && l.dry).map((l) => ({ name: l.cfg.name, kw: l.cfg.kw, until: new Date(l.releaseAt).toISOString(), reason: l.reason })),
          wouldDefer: [...wouldShifts.entries()].map(([k, v]) => ({ line: k.split('@')[0]!, runStart: new Date(Number(k.split('@')[1])).toISOString(), shiftMin: v.shiftMs / 60_000, reason: v.reason })),
          actions: actions.slice(-10).map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
        },
      };
    },
    actions: () => [...actions],
    check,
  };
}

export const powerGuardPlugin: PluginFactory = {
  name: 'power-guard',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => {
    if (!config.energy.powerGuard.enabled) return { enabled: false, reason: 'energy.powerGuard.enabled is false' };
    if (!config.energy.contract) return { enabled: false, reason: 'the guard needs energy.contract (contracted power per period)', misconfigured: true };
    const meter = config.energy.powerGuard.meter ?? config.energy.meters.find((m) => m.role === 'site')?.name;
    if (!meter || !config.energy.meters.some((m) => m.name === meter && m.role === 'site')) return { enabled: false, reason: 'the guard needs a site meter (energy.meters with role site)', misconfigured: true };
    return true;
  },
  create: createPowerGuard,
};
