/**
 * The site's base load on the box (issue #22 item 1; the model is gateway/site-load/forecast.ts):
 * - records the runs of every plan (`plan.updated`) in the store (`siteload.runs`, the last learnDays + 2 days), so
 *   the planned load can be taken off the site meter later, whatever the planner keeps;
 * - once a day (the `recalibration` job) refits the model on the site meter's measured quarter-hours minus those
 *   runs, with the observed outdoor temperature, and reports its day-ahead error in health;
 * - at every planning run and refit, writes the forecast for the next 48 h as series `forecast.site.base_load`
 *   (kW per quarter-hour; learned, or the configured profile, or 0 kW without either, and health says which).
 */
import { readMeterQuarterHours } from '../../gateway/meters/quarter-hours.js';
import { forecastBaseLoad, recalibrate, unplannedSamples, type BaseLoadModel } from '../../gateway/site-load/forecast.js';
import { hourly, QUARTER_HOUR_MS, type Slot } from '../../gateway/series/slots.js';
import { DAY_MS, HOUR_MS, formatUtcIso } from '../../gateway/time/tz.js';
import { HealthTracker, type ComponentHealth } from '../../gateway/util/health.js';
import type { SeriesDescriptor } from '../../gateway/series/status.js';
import { PLUGIN_API_VERSION, type JobRunResult, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';

export const BASE_LOAD_SERIES = 'forecast.site.base_load';
const RUNS_KEY = 'siteload.runs';
const MODEL_KEY = 'siteload.model';
const SHIFTS_KEY = 'siteload.shifts';
const HORIZON_MS = 48 * HOUR_MS;

interface StoredRun {
  line: string;
  start: number;
  end: number;
  kw: number;
}

export function createSiteLoad(ctx: PluginContext): Plugin & { model(): BaseLoadModel | null } {
  const cfg = ctx.config.energy.siteLoad;
  const tz = ctx.config.site.timezone;
  const meter = cfg.meter ?? ctx.config.energy.meters.find((m) => m.role === 'site')?.name;
  const tracker = new HealthTracker(() => ctx.clock.now());
  let model: BaseLoadModel | null = null;
  let runs: StoredRun[] = [];
  /** Runs the quarter-hour guard moved later (`line@plannedStart` → ms): taken off the meter where they really ran. */
  let shifts: Record<string, number> = {};
  const asRun = (r: StoredRun): StoredRun => {
    const shift = shifts[`${r.line}@${r.start}`] ?? 0;
    return shift ? { ...r, start: r.start + shift, end: r.end + shift } : r;
  };
  let lastSource = 'none';

  const temperatures = async (series: string, from: number, to: number) => {
    const slots: Slot[] = hourly(await ctx.store.read(series, from, to));
    return (ms: number) => slots.find((s) => s.start <= ms && s.end > ms)?.value ?? null;
  };

  const writeForecast = async (): Promise<string> => {
    const now = ctx.clock.now();
    const from = Math.floor(now / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
    const fc = await temperatures('fc.combined.temp', from, from + HORIZON_MS);
    const obs = await temperatures('obs.combined.temp', from - 3 * HOUR_MS, from + HOUR_MS);
    const slots = forecastBaseLoad(cfg, model, from, from + HORIZON_MS, (ms) => fc(ms) ?? obs(ms), tz);
    await ctx.store.write(BASE_LOAD_SERIES, 'kW', slots.map((s) => ({ start: s.start, end: s.end, value: s.value })), { source: 'site-load', fetchedAt: now, replaceRange: true });
    const sources = [...new Set(slots.map((s) => s.source))];
    lastSource = sources.join('+');
    const learned = model && model.days >= cfg.minDays;
    const error = model?.error ? `; day-ahead error on ${model.error.day}: ${model.error.maeKw} kW mean absolute, bias ${model.error.biasKw} kW` : '';
    const what = learned ? `learned from ${model!.days} days of site meter ${meter}, cooling ${model!.coolingKwPerDegC.toFixed(2)} kW/°C${error}` : sources.includes('profile') ? `configured profile (${model?.days ?? 0} of ${cfg.minDays} measured days so far)` : noBaseLoad(meter, model, cfg.minDays);
    tracker.set(learned || sources.includes('profile') ? 'ok' : 'degraded', `base load ${lastSource}: ${what}`, learned || sources.includes('profile') ? undefined : 'no_base_load');
    return `${BASE_LOAD_SERIES}: ${slots.length} quarter-hours, ${what}`;
  };

  const refit = async (): Promise<JobRunResult> => {
    const now = ctx.clock.now();
    if (meter) {
      const from = now - (cfg.learnDays + 2) * DAY_MS;
      const quarterHours = await readMeterQuarterHours(ctx.store, meter, from, now);
      const obs = await temperatures('obs.combined.temp', from, now);
      const samples = unplannedSamples(quarterHours, runs.map(asRun), obs);
      model = recalibrate(cfg, samples, now, tz);
      await ctx.store.setValue(MODEL_KEY, model);
    }
    return { summary: await writeForecast() };
  };

  return {
    name: 'site-load',
    async start() {
      runs = (await ctx.store.getValue<StoredRun[]>(RUNS_KEY)) ?? [];
      model = (await ctx.store.getValue<BaseLoadModel>(MODEL_KEY)) ?? null;
      shifts = (await ctx.store.getValue<Record<string, number>>(SHIFTS_KEY)) ?? {};
      ctx.bus.on('power.guard', 'site-load', (e) => {
        let changed = false;
        for (const x of e.shifts) {
          const k = `${x.line}@${x.runStart}`;
          if (shifts[k] !== x.shiftMs) {
            shifts[k] = x.shiftMs;
            changed = true;
          }
        }
        if (!changed) return;
        const keepAfter = ctx.clock.now() - (cfg.learnDays + 2) * DAY_MS;
        shifts = Object.fromEntries(Object.entries(shifts).filter(([k]) => Number(k.split('@')[1]) > keepAfter));
        ctx.store.setValue(SHIFTS_KEY, shifts).catch((error: unknown) => tracker.set('degraded', `guard moves not saved: ${String(error)}`, 'store_failed'));
      });
      ctx.bus.on('plan.updated', 'site-load', (e) => {
        const horizonStart = Date.parse(e.doc.horizon.start);
        const keepAfter = ctx.clock.now() - (cfg.learnDays + 2) * DAY_MS;
        // Runs that began before this plan's horizon stay as recorded; from it on, the new plan says what runs.
        runs = [
          ...runs.filter((r) => r.start < horizonStart && r.end > keepAfter),
          ...e.doc.runs.map((r) => ({ line: r.line, start: Date.parse(r.start), end: Date.parse(r.end), kw: r.kw })),
        ];
        ctx.store.setValue(RUNS_KEY, runs).catch((error: unknown) => tracker.set('degraded', `planned runs not saved: ${String(error)}`, 'store_failed'));
      });
      tracker.set('starting', `base load: ${model ? `model of ${formatUtcIso(model.fittedAt)}` : 'no model yet'}; first forecast at the next planning run`);
    },
    async stop() {
      ctx.bus.removeOwner('site-load');
    },
    health(): ComponentHealth {
      const h = tracker.get();
      return { ...h, details: { source: lastSource, days: model?.days ?? 0, fittedAt: model ? formatUtcIso(model.fittedAt) : null, coolingKwPerDegC: model?.coolingKwPerDegC ?? null, error: model?.error ?? null } };
    },
    jobs: { recalibration: refit, planning: async () => ({ summary: await writeForecast() }) },
    series(): SeriesDescriptor[] {
      return [{ id: BASE_LOAD_SERIES, unit: 'kW', description: 'forecast of the site load the planner does not plan, per quarter-hour (learned from the site meter, or the configured profile)', source: 'site-load', staleAfterMs: 2 * DAY_MS, critical: false, ahead: true }];
    },
    model: () => model,
  };
}

export const siteLoadPlugin: PluginFactory = {
  name: 'site-load',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) =>
    config.energy.siteLoad.profile || config.energy.meters.some((m) => m.role === 'site') ? true : { enabled: false, reason: 'no site meter (energy.meters with role site) and no energy.siteLoad.profile' },
  create: createSiteLoad,
};

/**
 * Why there is no base load yet (health message of code `no_base_load`), true to what the plugin has: no site meter
 * configured, a site meter not yet learned from, or fewer measured days than `minDays` (how many it has and needs).
 */
export function noBaseLoad(meter: string | undefined, model: BaseLoadModel | null, minDays: number): string {
  const noProfile = 'no energy.siteLoad.profile is configured for the meantime: 0 kW';
  if (!meter) return `no site meter (energy.meters with role site, or energy.siteLoad.meter) and ${noProfile}`;
  if (!model) return `site meter ${meter} has not been learned from yet (the daily recalibration fits it), and ${noProfile}`;
  const days = model.days === 1 ? '1 measured day' : `${model.days} measured days`;
  return `site meter ${meter} has ${days} of the ${minDays} needed to learn the base load, and ${noProfile}`;
}
