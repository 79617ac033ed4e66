import { isNationalHoliday } from '../time/calendar.js';
import type { Slot } from '../series/slots.js';
import { PLANT_TZ, addDays } from '../time/tz.js';
import { DayProfiles, daySlots, marketPeriods } from './price-profiles.js';
import { clearSkyProfile } from './clear-sky.js';
import { RidgeAccumulator, predictRidge, type RidgeFit } from './ridge.js';

/**
 * LEAR-style price forecaster (Lago et al. 2021): one ridge regression per clock period of the day and per horizon
 * day, on asinh-transformed prices, refitted on several calibration windows. Inputs, all known at the end of the
 * last published day L: the price of the same period on L, L−1 and the same weekday a week before the target; L's
 * prices an hour before and after that period; L's mean, min, max and last period; weekday and holiday of the
 * target; and, when REE's D-1 forecasts of demand, wind and PV are stored for the target day and for L, the
 * target's residual load and the day-over-day change of residual load, wind and PV (the target-day member only:
 * D-1 forecasts never reach D+2); the members of long windows also read the target period's clear-sky irradiance (`clear-sky.ts`), the
 * seasonal size of the midday solar dip. The members and the same-period-of-L forecast are combined with weights inversely
 * proportional to each one's out-of-sample MAE over the last `weightDays` days, so that in a month where the market
 * merely repeats itself (e.g. windy weeks clearing at 0 €/MWh) the forecast leans on persistence.
 */
export interface LearSettings {
  /** Calibration windows, days of targets ending at L. */
  windows: number[];
  /** Ridge penalty on standardised features, per row. */
  lambda: number;
  /** Days of out-of-sample residuals behind the 10/90 % band. */
  conformalDays: number;
  /** Days of out-of-sample member errors behind the combination weights; 0 (or absent, as in older calibrations): the plain average of the ridge members. */
  weightDays?: number;
  /**
   * Adaptive conformal inference (Gibbs & Candès 2021) on the band: each published day moves the quantile levels of
   * the band by γ × (the day's miscoverage on that side − 10 %), so that a month that breaks from the last
   * `conformalDays` widens (or narrows) the band within days. 0: the plain 10/90 % residual quantiles. Absent:
   * `DEFAULT_LEAR.bandStep`.
   */
  bandStep?: number;
  /**
   * Days of recent absolute errors that scale the band (locally adaptive conformal): residuals are divided by the
   * mean absolute error of the same horizon's forecasts over the `bandScaleDays` days before their origin, and the
   * band's quantiles multiplied by today's. 0: unscaled residuals. Absent: `DEFAULT_LEAR.bandScaleDays`.
   */
  bandScaleDays?: number;
  /**
   * D+2 also weighs the calibration's own D+1 forecast (prices, calendar and, when stored, REE's D-1 drivers; without
   * the external members) as a member named `chain`, by its recent errors like every member. Absent:
   * `DEFAULT_LEAR.chainMember`.
   */
  chainMember?: boolean;
  /**
   * Members of calibration windows of at least this many days also read the target period's clear-sky irradiance
   * (`clear-sky.ts`: the seasonal size of the midday solar dip, known in advance); shorter windows, where it is
   * little more than a time trend, do not. 0: no member reads it. Absent: `DEFAULT_LEAR.clearSkyWindow`.
   */
  clearSkyWindow?: number;
}

export const DEFAULT_LEAR: LearSettings = { windows: [28, 56, 84, 364], lambda: 0.05, conformalDays: 28, weightDays: 7, bandStep: 0.1, bandScaleDays: 7, chainMember: true, clearSkyWindow: 84 };

/** The bands of a calibration: D+1 on prices and calendar, D+2, D+1 with REE's D-1 drivers. */
export type BandKind = 'd1' | 'd2' | 'd1Drivers';
export const BAND_KINDS: readonly BandKind[] = ['d1', 'd2', 'd1Drivers'];
/** Nominal quantile levels of the band's edges. */
export const NOMINAL_LEVELS: readonly [number, number] = [0.1, 0.9];

/**
 * The adaptive band's state: per band kind, the quantile levels [low, high] of the residuals that the band's edges
 * take (nominal 0.1 and 0.9; each within [0, 0.5) and (0.5, 1], so the band can never invert), after the errors of every
 * forecast whose target day is ≤ `through` were applied. Kept in the calibration, so that the next day's run (and a
 * restarted gateway) carries on from it.
 */
export interface BandState {
  through: string;
  levels: Record<BandKind, [number, number]>;
}

/** Name of the persistence member (the same period of L) among the combined forecasts. */
export const NAIVE_MEMBER = 'naive';
/** Name of the D+1 forecast taken as a member of the D+2 combination (see `LearSettings.chainMember`). */
export const CHAIN_MEMBER = 'chain';

/** The ridge member kind of a member name (`d1-28`, `d1-drivers-364`, `d2-56`); undefined for the shared members (`naive`, external ones such as the TF.js network) that join every kind. */
export function memberKindOf(name: string): MemberKind | undefined {
  const m = /^(d1|d1-drivers|d2)-\d+$/.exec(name);
  return m ? (m[1] as MemberKind) : undefined;
}

/** Floor of a member's MAE in its weight (€/MWh), so that a member that was exact for a few days cannot take all the weight. */
const MIN_WEIGHT_MAE = 0.5;

export type MemberKind = 'd1' | 'd1-drivers' | 'd2';

export interface LearMember {
  kind: MemberKind;
  window: number;
  periods: number;
  rows: number;
  /** asinh((price − median) / mad) over the window's prices. */
  median: number;
  mad: number;
  /** Range of the transformed targets it was fitted on: predictions are kept within it (sinh explodes outside). */
  zMin: number;
  zMax: number;
  fits: RidgeFit[];
  /** Fitted with the target period's clear-sky irradiance as its last input (`CLEAR_SKY_INPUT`; absent: without). */
  clearSky?: boolean;
}

/** A calibration: everything needed to forecast from L, as JSON. */
export interface LearCalibration {
  kind: 'lear-ensemble';
  /** Input layout of the member rows (`LEAR_LAYOUT` when calibrated by this code; absent in older calibrations: 1). */
  layout?: number;
  /** The last local day whose prices it saw (targets ≤ L). */
  lastDay: string;
  settings: LearSettings;
  members: LearMember[];
  /** Residual (actual − forecast) quantiles 10/90 % per horizon day, €/MWh, from out-of-sample forecasts; null when too few. */
  bands: { d1: [number, number] | null; d2: [number, number] | null; d1Drivers: [number, number] | null };
  /** The adaptive band's quantile levels behind `bands` (absent in older calibrations: the nominal 10/90 %). */
  bandState?: BandState;
  /** Recent mean absolute error per horizon day (€/MWh) that scaled `bands` (absent: unscaled). */
  bandScales?: { d1: number; d2: number };
  /**
   * Combination weights per member kind (member name `<kind>-<window>`, `naive` or an external one such as `net` →
   * weight, unnormalised), from the members' out-of-sample errors; absent or empty for a kind: the plain average of
   * its ridge members.
   */
  weights?: Partial<Record<MemberKind, Record<string, number>>>;
  inputs: string[];
}

/** Stored history the forecaster reads: prices and, optionally, REE's D-1 drivers (MW). */
export interface LearHistory {
  prices: DayProfiles;
  drivers?: { demand: DayProfiles; wind: DayProfiles; solar: DayProfiles } | undefined;
}

export function learHistory(prices: Iterable<Slot>, drivers?: { demand: Iterable<Slot>; wind: Iterable<Slot>; solar: Iterable<Slot> }, tz = PLANT_TZ): LearHistory {
  return {
    prices: new DayProfiles(prices, tz),
    drivers: drivers ? { demand: new DayProfiles(drivers.demand, tz), wind: new DayProfiles(drivers.wind, tz), solar: new DayProfiles(drivers.solar, tz) } : undefined,
  };
}

export const PRICE_INPUTS = ['price_L', 'price_L-1', 'price_week_before_target', 'price_L_hour_before', 'price_L_hour_after', 'L_mean', 'L_min', 'L_max', 'L_last', 'weekday', 'holiday'];
/** The input of the members of long windows (see `LearSettings.clearSkyWindow`): clear-sky GHI of the target period, kW/m². */
export const CLEAR_SKY_INPUT = 'clear_sky_target';
export const DRIVER_INPUTS = ['residual_load_target', 'residual_load_change', 'wind_change', 'solar_change', 'residual_load_target_day_mean'];

interface DriverDay {
  rl: Float64Array;
  wind: Float64Array;
  solar: Float64Array;
  rlMean: number;
}

function driverDay(h: LearHistory, date: string, periods: number): DriverDay | undefined {
  const d = h.drivers;
  if (!d) return undefined;
  const demand = d.demand.profile(date, periods);
  const wind = d.wind.profile(date, periods);
  const solar = d.solar.profile(date, periods);
  if (!demand || !wind || !solar) return undefined;
  const rl = new Float64Array(periods);
  let s = 0;
  for (let i = 0; i < periods; i++) {
    rl[i] = (demand[i]! - wind[i]! - solar[i]!) / 1000;
    s += rl[i]!;
  }
  return { rl, wind: wind.map((x) => x / 1000), solar: solar.map((x) => x / 1000), rlMean: s / periods };
}

const weekdayOf = (date: string) => new Date(`${date}T12:00:00Z`).getUTCDay();

/** Lag days for a target k days after L: L, L−1, and the target's weekday one week before it. */
const lagDays = (last: string, k: number) => [last, addDays(last, -1), addDays(last, k - 7)];

class Transform {
  constructor(
    readonly median: number,
    readonly mad: number,
  ) {}
  to(p: number): number {
    return Math.asinh((p - this.median) / this.mad);
  }
  from(z: number): number {
    return this.median + this.mad * Math.sinh(z);
  }
}

function windowTransform(h: LearHistory, last: string, window: number, periods: number): Transform | undefined {
  const values: number[] = [];
  for (let i = 0; i < window; i++) {
    const p = h.prices.profile(addDays(last, -i), periods);
    if (p) for (const x of p) values.push(x);
  }
  if (values.length < 7 * periods) return undefined;
  values.sort((a, b) => a - b);
  const median = values[values.length >> 1]!;
  const dev = values.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  const mad = Math.max(1, dev[dev.length >> 1]! / 0.6745);
  return new Transform(median, mad);
}

interface DayInputs {
  lags: Float64Array[];
  stats: number[];
  calendar: number[];
  drivers: number[][] | null;
  /** Clear-sky GHI (kW/m²) of each period of the target day, when the member reads it. */
  clearSky: Float64Array | null;
}

/** The inputs for target day `target` from last known day L = target − k, or undefined when a lag day is missing. */
function dayInputs(h: LearHistory, target: string, k: number, periods: number, tr: Transform, withDrivers: boolean, clearSky = false): DayInputs | undefined {
  const last = addDays(target, -k);
  const lags: Float64Array[] = [];
  for (const d of lagDays(last, k)) {
    const p = h.prices.profile(d, periods);
    if (!p) return undefined;
    lags.push(p.map((x) => tr.to(x)));
  }
  const l = lags[0]!;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of l) {
    sum += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const wd = weekdayOf(target);
  const calendar = [...Array.from({ length: 7 }, (_, i) => (i === wd ? 1 : 0)), isNationalHoliday(target) ? 1 : 0];
  let drivers: number[][] | null = null;
  if (withDrivers) {
    const t = driverDay(h, target, periods);
    const o = driverDay(h, last, periods);
    if (!t || !o) return undefined;
    drivers = Array.from({ length: periods }, (_, p) => [t.rl[p]!, t.rl[p]! - o.rl[p]!, t.wind[p]! - o.wind[p]!, t.solar[p]! - o.solar[p]!, t.rlMean]);
  }
  return { lags, stats: [sum / l.length, min, max, l[l.length - 1]!], calendar, drivers, clearSky: clearSky ? clearSkyProfile(target, periods) : null };
}

/**
 * Input layout of the ridge rows: 2 added L's prices an hour before and after the period. Calibrations stored by
 * an older gateway (no `layout`: 1) keep forecasting with the rows they were fitted on until the next one replaces them.
 */
export const LEAR_LAYOUT = 2;

function row(x: DayInputs, p: number, layout = LEAR_LAYOUT): number[] {
  const l = x.lags[0]!;
  const hour = l.length / 24;
  const neighbours = layout >= 2 ? [l[Math.max(0, p - hour)]!, l[Math.min(l.length - 1, p + hour)]!] : [];
  return [...x.lags.map((l) => l[p]!), ...neighbours, ...x.stats, ...x.calendar, ...(x.drivers ? x.drivers[p]! : []), ...(x.clearSky ? [x.clearSky[p]!] : [])];
}

function fitMember(h: LearHistory, last: string, kind: MemberKind, window: number, periods: number, lambda: number, layout: number, clearSky = false): LearMember | undefined {
  const tr = windowTransform(h, last, window, periods);
  if (!tr) return undefined;
  const k = kind === 'd2' ? 2 : 1;
  let accs: RidgeAccumulator[] = [];
  let rows = 0;
  let zMin = Infinity;
  let zMax = -Infinity;
  for (let i = 0; i < window; i++) {
    const target = addDays(last, -i);
    const actual = h.prices.profile(target, periods);
    if (!actual) continue;
    const x = dayInputs(h, target, k, periods, tr, kind === 'd1-drivers', clearSky);
    if (!x) continue;
    rows++;
    if (!accs.length) accs = Array.from({ length: periods }, () => new RidgeAccumulator(row(x, 0, layout).length));
    for (let p = 0; p < periods; p++) {
      const z = tr.to(actual[p]!);
      zMin = Math.min(zMin, z);
      zMax = Math.max(zMax, z);
      accs[p]!.add(row(x, p, layout), z);
    }
  }
  if (rows < Math.min(14, window)) return undefined;
  return { kind, window, periods, rows, median: tr.median, mad: tr.mad, zMin, zMax, fits: accs.map((a) => a.solve(lambda)), ...(clearSky ? { clearSky: true } : {}) };
}

/**
 * Calibrates every member on targets up to and including `lastDay`, at the resolution of the two days after it.
 * Members lacking data (short history, no drivers) are left out; with none at all, throws.
 */
export function calibrateLear(h: LearHistory, lastDay: string, settings: LearSettings = DEFAULT_LEAR, layout = LEAR_LAYOUT): LearCalibration {
  return runSteps(calibrationSteps(h, lastDay, settings, layout));
}

/** `calibrateLear` one member at a time: yields between members so that a caller can let the event loop run. */
export function* calibrationSteps(h: LearHistory, lastDay: string, settings: LearSettings = DEFAULT_LEAR, layout = LEAR_LAYOUT): Generator<void, LearCalibration> {
  const members: LearMember[] = [];
  const clearSky = settings.clearSkyWindow ?? DEFAULT_LEAR.clearSkyWindow ?? 0;
  const resolutions = [...new Set([marketPeriods(addDays(lastDay, 1)), marketPeriods(addDays(lastDay, 2))])];
  for (const periods of resolutions) {
    for (const window of settings.windows) {
      for (const kind of ['d1', 'd2', ...(h.drivers ? ['d1-drivers' as const] : [])] as MemberKind[]) {
        const m = fitMember(h, lastDay, kind, window, periods, settings.lambda, layout, clearSky > 0 && window >= clearSky);
        if (m) members.push(m);
        yield;
      }
    }
  }
  if (!members.some((m) => m.kind === 'd1')) throw new Error(`cannot calibrate on prices up to ${lastDay}: ${historyNeed(settings)}`);
  const drivers = members.some((m) => m.kind === 'd1-drivers');
  const sun = members.some((m) => m.clearSky);
  return { kind: 'lear-ensemble', layout, lastDay, settings, members, bands: { d1: null, d2: null, d1Drivers: null }, inputs: [...PRICE_INPUTS, ...(drivers ? DRIVER_INPUTS : []), ...(sun ? [CLEAR_SKY_INPUT] : [])] };
}

/** What a first calibration needs: the shortest window's minimum of fitted days (14, or the window), each with the week before it. */
export function historyNeed(settings: LearSettings): string {
  const rows = Math.min(14, ...settings.windows);
  return `too little history (needs ${rows + 7}+ days of prices: ${rows} days to fit, each with the week before it)`;
}

/** Runs a step generator to its end, synchronously. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Runs a step generator to its end, giving the event loop a turn whenever ~`sliceMs` of work has passed. */
export async function runStepsYielding<T>(steps: Generator<void, T>, sliceMs = 20): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}

export function isLearCalibration(x: unknown): x is LearCalibration {
  const c = x as LearCalibration | null;
  return typeof c === 'object' && c !== null && c.kind === 'lear-ensemble' && Array.isArray(c.members) && typeof c.lastDay === 'string';
}

export interface LearDayForecast {
  date: string;
  k: number;
  driversUsed: boolean;
  /** The calibration's band it was issued with (absent in older forecasts: see `driversUsed`). */
  band?: BandKind;
  /** The error scale (€/MWh) its band was scaled by, when the band was scaled (see `LearSettings.bandScaleDays`). */
  scale?: number;
  slots: Array<Slot & { period: number; low: number; high: number }>;
  /** Each member's forecast per period (€/MWh), `naive` and external members included: what the next calibrations weigh the members by. */
  members?: Record<string, number[]>;
}

/** Forecasts made outside the calibration for the target day, per period at the market's resolution (e.g. `{net: […]}`); values of another length are ignored. */
export type ExternalMembers = Record<string, ArrayLike<number>>;

/** Member kinds that can forecast `k` days after L, best first. */
const kindsFor = (k: 1 | 2): MemberKind[] => (k === 1 ? ['d1-drivers', 'd1'] : ['d2']);

/**
 * Forecast of the local day `lastDay + k` (k = 1, 2) from the prices up to `lastDay`; undefined when inputs are
 * missing. `external` members join the combination once the calibration holds a weight for them.
 */
export function forecastLearDay(cal: LearCalibration, h: LearHistory, lastDay: string, k: 1 | 2, tz = PLANT_TZ, external?: ExternalMembers): LearDayForecast | undefined {
  const target = addDays(lastDay, k);
  const periods = marketPeriods(target);
  const naive = h.prices.profile(lastDay, periods);
  const members: Record<string, number[]> = {};
  let chosen: MemberKind | undefined;
  for (const kind of kindsFor(k)) {
    for (const m of cal.members.filter((x) => x.kind === kind && x.periods === periods)) {
      const tr = new Transform(m.median, m.mad);
      const x = dayInputs(h, target, k, periods, tr, kind === 'd1-drivers', m.clearSky === true);
      if (!x) continue;
      const rows = Array.from({ length: periods }, (_, p) => row(x, p, cal.layout ?? 1));
      if (rows.some((r, p) => r.length !== m.fits[p]!.weights.length)) continue;
      members[`${kind}-${m.window}`] = rows.map((r, p) => tr.from(Math.min(m.zMax, Math.max(m.zMin, predictRidge(m.fits[p]!, r)))));
      chosen ??= kind;
    }
  }
  if (!chosen || !naive) return undefined;
  members[NAIVE_MEMBER] = [...naive];
  if (k === 2 && (cal.settings.chainMember ?? DEFAULT_LEAR.chainMember)) {
    // The day after L at D+2's resolution: the same clock periods as far as both days have them.
    const next = forecastLearDay(cal, h, lastDay, 1, tz);
    if (next && next.slots.length === periods) members[CHAIN_MEMBER] = next.slots.map((s) => s.value);
  }
  for (const [name, values] of Object.entries(external ?? {})) {
    if (memberKindOf(name) || name === NAIVE_MEMBER || name === CHAIN_MEMBER || values.length !== periods) continue;
    const list = Array.from(values);
    if (list.every(Number.isFinite)) members[name] = list;
  }
  const values = combine(members, chosen, cal.weights?.[chosen]);
  const driversUsed = chosen === 'd1-drivers';
  const bandKind: BandKind = k === 2 ? 'd2' : driversUsed && cal.bands.d1Drivers ? 'd1Drivers' : 'd1';
  const band = cal.bands[bandKind] ?? [0, 0];
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    date: target,
    k,
    driversUsed,
    band: bandKind,
    ...(cal.bandScales ? { scale: k === 2 ? cal.bandScales.d2 : cal.bandScales.d1 } : {}),
    slots: daySlots(target, periods, tz).map((s) => {
      const v = values[s.period]!;
      return { start: s.start, end: s.end, period: s.period, value: round(v), low: round(v + band[0]), high: round(v + band[1]) };
    }),
    members: Object.fromEntries(Object.entries(members).map(([name, v]) => [name, v.map(round)])),
  };
}

/**
 * The weighted mean of `kind`'s members and of the shared ones (`naive`, external) that hold a weight; a ridge
 * member without a weight yet (e.g. a window that just got enough history) takes the mean weight of the others.
 * Without weights for `kind`: the plain mean of its ridge members.
 */
function combine(members: Record<string, number[]>, kind: MemberKind, weights: Record<string, number> | undefined): number[] {
  const own = Object.keys(members).filter((name) => memberKindOf(name) === kind);
  const known = own.map((name) => weights?.[name]).filter((w): w is number => w !== undefined && w > 0);
  const mean = (list: readonly string[], weightOf: (name: string) => number) => {
    const w = list.map(weightOf);
    const total = w.reduce((a, b) => a + b, 0);
    return members[list[0]!]!.map((_, p) => list.reduce((s, name, i) => s + members[name]![p]! * w[i]!, 0) / total);
  };
  if (!weights || !known.length) return mean(own, () => 1);
  const fallback = known.reduce((a, b) => a + b, 0) / known.length;
  const shared = Object.keys(members).filter((name) => !memberKindOf(name) && (weights[name] ?? 0) > 0);
  return mean([...own, ...shared], (name) => (weights[name] !== undefined && weights[name]! > 0 ? weights[name]! : fallback));
}

/**
 * Combination weights for a calibration made at the end of `lastDay`: 1 / MAE of each member (and of `naive`) over
 * the earlier forecasts whose targets lie in the last `days` days up to `lastDay` (all published, so out of sample).
 */
export function memberWeights(h: LearHistory, past: readonly LearDayForecast[], lastDay: string, days: number): NonNullable<LearCalibration['weights']> {
  const out: NonNullable<LearCalibration['weights']> = {};
  if (days <= 0) return out;
  const from = addDays(lastDay, -days + 1);
  const errors = new Map<string, { abs: number; n: number }>();
  for (const f of past) {
    if (f.date > lastDay || f.date < from || !f.members) continue;
    const actual = h.prices.profile(f.date, marketPeriods(f.date));
    if (!actual) continue;
    for (const kind of kindsFor(f.k as 1 | 2)) {
      // The shared members are scored on the same days as the kind's own (e.g. drivers days for `d1-drivers`).
      if (!Object.keys(f.members).some((name) => memberKindOf(name) === kind)) continue;
      for (const [name, values] of Object.entries(f.members)) {
        const own = memberKindOf(name);
        if (own && own !== kind) continue;
        if (values.length !== actual.length) continue;
        const key = `${kind}/${name}`;
        const e = errors.get(key) ?? { abs: 0, n: 0 };
        for (let p = 0; p < actual.length; p++) e.abs += Math.abs(values[p]! - actual[p]!);
        e.n += actual.length;
        errors.set(key, e);
      }
    }
  }
  for (const [key, e] of errors) {
    const [kind, name] = key.split('/') as [MemberKind, string];
    (out[kind] ??= {})[name] = Math.round((1 / Math.max(MIN_WEIGHT_MAE, e.abs / e.n)) * 1e6) / 1e6;
  }
  for (const kind of Object.keys(out) as MemberKind[]) if (!Object.keys(out[kind]!).some((name) => memberKindOf(name))) delete out[kind];
  return out;
}

/** The `levels` quantiles of residuals (10 % and 90 % unless told; each clamped to [0, 1]), or null with fewer than 48. */
export function residualBand(residuals: readonly number[], levels: readonly [number, number] = NOMINAL_LEVELS): [number, number] | null {
  if (residuals.length < 48) return null;
  const s = [...residuals].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(Math.min(1, Math.max(0, p)) * (s.length - 1))))]!;
  return [q(levels[0]), q(levels[1])];
}
