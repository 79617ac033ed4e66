/**
 * The site's base load: the load the planner does not plan (cold rooms, air handling, compressors, lighting), per
 * local quarter-hour, for the planning horizon. Issue #22 item 1.
 *
 * Learned on the box from the site meter minus the planned runs: each sample is one measured quarter-hour,
 * `unplanned kW = site meter average kW − Σ kW of the runs the plan had on in it` (samples where that is
 * negative are kept at 0: a run that drew less than its rating). The model, refitted once a day (recalibrate):
 *   kW(q) = mean[dayType, slot] + coolingKwPerDegC × (cdd(T_q) − meanCdd[dayType, slot])
 *   dayType: workday (Mon-Fri), saturday, sunday (Sundays and national holidays);
 *   slot: the local clock quarter-hour of the day 0..95 (on the 25-hour day the repeated hour shares its slots,
 *         on the 23-hour day 02:00-03:00 has none); cdd(T) = max(0, T − referenceC), T outdoor °C;
 *   the cooling slope is one least-squares fit over all samples of the residuals on cdd (≥ 0).
 * A (dayType, slot) with fewer than 2 samples, and the whole forecast before minDays measured days, is the
 * configured profile (`energy.siteLoad.profile`); with neither, 0 kW and `source: 'none'`.
 * The error reported is the day-ahead one: the model fitted on the days before the last whole measured day,
 * scored on that day (mean absolute error, bias, kW).
 */
import { localDate, localParts } from '../time/tz.js';
import { isNationalHoliday } from '../time/calendar.js';
import { QUARTER_HOUR_MS, type Slot } from '../series/slots.js';
import type { SiteLoadConfig } from '../config/site-load-schema.js';

export type DayType = 'workday' | 'saturday' | 'sunday';
export const DAY_TYPES: readonly DayType[] = ['workday', 'saturday', 'sunday'];

/** One measured quarter-hour of unplanned load. */
export interface BaseLoadSample {
  /** UTC ms of the quarter-hour's start. */
  start: number;
  /** Unplanned average power, kW. */
  kw: number;
  /** Outdoor temperature, °C, or null when not known. */
  outdoorC: number | null;
}

export type BaseLoadSource = 'learned' | 'profile' | 'none';

export interface BaseLoadModel {
  /** When it was fitted (UTC ms). */
  fittedAt: number;
  /** Measured local days it learned from. */
  days: number;
  samples: number;
  /** [dayType][slot] mean kW, null where too few samples. */
  mean: Record<DayType, Array<number | null>>;
  meanCdd: Record<DayType, Array<number | null>>;
  coolingKwPerDegC: number;
  referenceC: number;
  /** Day-ahead error on the last whole measured day, or null before there is one. */
  error: { day: string; maeKw: number; biasKw: number; quarterHours: number } | null;
}

export interface BaseLoadForecastSlot extends Slot {
  source: BaseLoadSource;
}

/** The day type of the local day containing `ms`. */
export function dayTypeOf(ms: number, timezone?: string): DayType {
  const date = localDate(ms, timezone);
  const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
  if (weekday === 0 || isNationalHoliday(date)) return 'sunday';
  return weekday === 6 ? 'saturday' : 'workday';
}

/** The local clock quarter-hour of the day, 0..95. */
export function slotOfDay(ms: number, timezone?: string): number {
  const p = localParts(ms, timezone);
  return p.hour * 4 + Math.floor(p.minute / 15);
}

const cdd = (t: number | null, ref: number) => (t === null ? null : Math.max(0, t - ref));

/** The configured profile's kW at `ms` (local clock hour, day type, cooling term), or null without a profile. */
export function profileKw(cfg: SiteLoadConfig, ms: number, outdoorC: number | null, timezone?: string): number | null {
  const profile = cfg.profile;
  if (!profile) return null;
  const type = dayTypeOf(ms, timezone);
  const day = type === 'workday' ? profile.workday : type === 'saturday' ? (profile.saturday ?? profile.workday) : (profile.sunday ?? profile.saturday ?? profile.workday);
  const hour = localParts(ms, timezone).hour;
  const kw = typeof day === 'number' ? day : day[hour]!;
  return kw + (profile.coolingKwPerDegC ?? 0) * (cdd(outdoorC, profile.referenceC ?? 18) ?? 0);
}

function emptyTable(): Record<DayType, Array<number | null>> {
  return { workday: new Array(96).fill(null), saturday: new Array(96).fill(null), sunday: new Array(96).fill(null) };
}

/** Fits the model on `samples` (any order); `error` is left null (see recalibrate). */
export function fitBaseLoad(samples: readonly BaseLoadSample[], referenceC: number, fittedAt: number, timezone?: string): BaseLoadModel {
  const sum = emptyTable();
  const sumCdd = emptyTable();
  const count = { workday: new Array<number>(96).fill(0), saturday: new Array<number>(96).fill(0), sunday: new Array<number>(96).fill(0) };
  const countCdd = { workday: new Array<number>(96).fill(0), saturday: new Array<number>(96).fill(0), sunday: new Array<number>(96).fill(0) };
  const keyed = samples.map((s) => ({ ...s, type: dayTypeOf(s.start, timezone), slot: slotOfDay(s.start, timezone), c: cdd(s.outdoorC, referenceC) }));
  for (const s of keyed) {
    sum[s.type][s.slot] = (sum[s.type][s.slot] ?? 0) + s.kw;
    count[s.type][s.slot]!++;
    if (s.c !== null) {
      sumCdd[s.type][s.slot] = (sumCdd[s.type][s.slot] ?? 0) + s.c;
      countCdd[s.type][s.slot]!++;
    }
  }
  const mean = emptyTable();
  const meanCdd = emptyTable();
  for (const t of DAY_TYPES) {
    for (let q = 0; q < 96; q++) {
      if (count[t][q]! >= 2) mean[t][q] = sum[t][q]! / count[t][q]!;
      if (countCdd[t][q]! >= 2) meanCdd[t][q] = sumCdd[t][q]! / countCdd[t][q]!;
    }
  }
  // One cooling slope: least squares of the residual on the cdd deviation, through the origin, never negative.
  let sxy = 0;
  let sxx = 0;
  for (const s of keyed) {
    const m = mean[s.type][s.slot];
    const mc = meanCdd[s.type][s.slot];
    if (s.c === null || m === null || m === undefined || mc === null || mc === undefined) continue;
    const x = s.c - mc;
    sxy += x * (s.kw - m);
    sxx += x * x;
  }
  const days = new Set(samples.map((s) => localDate(s.start, timezone))).size;
  return { fittedAt, days, samples: samples.length, mean, meanCdd, coolingKwPerDegC: sxx > 0 ? Math.max(0, sxy / sxx) : 0, referenceC, error: null };
}

/**
 * The base-load forecast per quarter-hour of [from, to) (UTC ms on the quarter-hour grid); `outdoorC(ms)` gives
 * the forecast outdoor temperature (null when unknown). Learned where the model has the slot and at least
 * `cfg.minDays` days, the profile otherwise, 0 kW with source 'none' without either.
 */
export function forecastBaseLoad(cfg: SiteLoadConfig, model: BaseLoadModel | null, from: number, to: number, outdoorC: (ms: number) => number | null, timezone?: string): BaseLoadForecastSlot[] {
  const out: BaseLoadForecastSlot[] = [];
  const usable = model && model.days >= (cfg.minDays ?? 7) ? model : null;
  for (let t = Math.ceil(from / QUARTER_HOUR_MS) * QUARTER_HOUR_MS; t < to; t += QUARTER_HOUR_MS) {
    const temp = outdoorC(t);
    const learned = usable ? predict(usable, t, temp, timezone) : null;
    const profile = learned === null ? profileKw(cfg, t, temp, timezone) : null;
    const value = learned ?? profile ?? 0;
    out.push({ start: t, end: t + QUARTER_HOUR_MS, value: Math.round(value * 1000) / 1000, source: learned !== null ? 'learned' : profile !== null ? 'profile' : 'none' });
  }
  return out;
}

/** The model's kW at `ms`, or null where it has no mean for that day type and slot. */
export function predict(model: BaseLoadModel, ms: number, outdoorC: number | null, timezone?: string): number | null {
  const type = dayTypeOf(ms, timezone);
  const slot = slotOfDay(ms, timezone);
  const m = model.mean[type][slot];
  if (m === null || m === undefined) return null;
  const mc = model.meanCdd[type][slot];
  const c = cdd(outdoorC, model.referenceC);
  return Math.max(0, m + (c === null || mc === null || mc === undefined ? 0 : model.coolingKwPerDegC * (c - mc)));
}

/**
 * The daily recalibration: fits on the last `cfg.learnDays` measured local days before `now`, and reports the
 * day-ahead error on the last whole measured day (the model fitted on the days before it, scored on it).
 */
export function recalibrate(cfg: SiteLoadConfig, samples: readonly BaseLoadSample[], now: number, timezone?: string): BaseLoadModel {
  const referenceC = cfg.profile?.referenceC ?? 18;
  const today = localDate(now, timezone);
  const past = samples.filter((s) => s.start + QUARTER_HOUR_MS <= now && localDate(s.start, timezone) < today);
  const dates = [...new Set(past.map((s) => localDate(s.start, timezone)))].sort();
  const window = new Set(dates.slice(-(cfg.learnDays ?? 28)));
  const model = fitBaseLoad(past.filter((s) => window.has(localDate(s.start, timezone))), referenceC, now, timezone);
  const lastDay = dates.at(-1);
  if (lastDay && dates.length >= 2) {
    const before = new Set(dates.slice(0, -1).slice(-(cfg.learnDays ?? 28)));
    const earlier = fitBaseLoad(past.filter((s) => before.has(localDate(s.start, timezone))), referenceC, now, timezone);
    let abs = 0;
    let bias = 0;
    let n = 0;
    for (const s of past) {
      if (localDate(s.start, timezone) !== lastDay) continue;
      const f = earlier.days >= (cfg.minDays ?? 7) ? predict(earlier, s.start, s.outdoorC, timezone) : null;
      const p = f ?? profileKw(cfg, s.start, s.outdoorC, timezone);
      if (p === null) continue;
      abs += Math.abs(p - s.kw);
      bias += p - s.kw;
      n++;
    }
    if (n) model.error = { day: lastDay, maeKw: Math.round((abs / n) * 1000) / 1000, biasKw: Math.round((bias / n) * 1000) / 1000, quarterHours: n };
  }
  return model;
}

/**
 * Unplanned-load samples from a site meter's quarter-hours and the planned runs: only measured quarter-hours
 * (interpolated and missing ones teach nothing), minus the kW of each run overlapping the quarter-hour (pro rata).
 */
export function unplannedSamples(
  quarterHours: ReadonlyArray<{ start: number; avgKw: number | null; quality: string }>,
  runs: ReadonlyArray<{ start: number; end: number; kw: number }>,
  outdoorC: (ms: number) => number | null,
): BaseLoadSample[] {
  const out: BaseLoadSample[] = [];
  for (const q of quarterHours) {
    if (q.quality !== 'measured' || q.avgKw === null) continue;
    const end = q.start + QUARTER_HOUR_MS;
    let planned = 0;
    for (const r of runs) {
      const overlap = Math.min(end, r.end) - Math.max(q.start, r.start);
      if (overlap > 0) planned += (r.kw * overlap) / QUARTER_HOUR_MS;
    }
    out.push({ start: q.start, kw: Math.max(0, q.avgKw - planned), outdoorC: outdoorC(q.start) });
  }
  return out;
}
