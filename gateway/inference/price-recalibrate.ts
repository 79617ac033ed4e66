import type { LayersModel } from './tf.js';
import { PLANT_TZ, addDays, localDayRange } from '../time/tz.js';
import { MissingInputsError, type DriverRow } from './price-features.js';
import { forecastPrices } from './price-model.js';
import type { Slot } from '../series/slots.js';
import { DayProfiles, daySlots, marketPeriods } from './price-profiles.js';
import { BAND_KINDS, DEFAULT_LEAR, NOMINAL_LEVELS, calibrationSteps, forecastLearDay, historyNeed, memberWeights, runSteps, runStepsYielding, residualBand, type BandKind, type BandState, type ExternalMembers, type LearCalibration, type LearDayForecast, type LearHistory, type LearSettings } from './price-lear.js';

/** One origin of a rolling run: the calibration made at the end of `lastDay` and its forecasts of the next two days. */
export interface RollingOrigin {
  lastDay: string;
  calibration: LearCalibration;
  forecasts: LearDayForecast[];
}

/**
 * Recalibrates at the end of every day in [from, to] exactly as the daily job does, and forecasts D+1 and D+2 from
 * each. The 10/90 % band of each origin comes from the residuals of earlier origins' forecasts whose targets were
 * already published at that origin (the last `conformalDays` days of them): out of sample, as on the box.
 * `onOrigin` sees each origin as it is made (for caching and progress).
 */
export function rollingOrigins(h: LearHistory, from: string, to: string, settings: LearSettings, options: RollingOptions = {}): RollingOrigin[] {
  return runSteps(rollingSteps(h, from, to, settings, options));
}

export interface RollingOptions {
  tz?: string;
  onOrigin?: (o: RollingOrigin) => void;
  keep?: boolean;
  cached?: (lastDay: string) => LearDayForecast[] | undefined;
  /** Forecasts from outside the calibration (the TF.js network) that join the weighted combination. */
  external?: ExternalMemberSource;
}

/** External members for the day `lastDay + k`, made from what was known at the end of `lastDay`. */
export type ExternalMemberSource = (lastDay: string, k: 1 | 2) => ExternalMembers | undefined;

/** `rollingOrigins` as steps (see `calibrationSteps`). */
export function* rollingSteps(h: LearHistory, from: string, to: string, settings: LearSettings, options: RollingOptions = {}): Generator<void, RollingOrigin[]> {
  const tz = options.tz ?? PLANT_TZ;
  const out: RollingOrigin[] = [];
  const past: LearDayForecast[] = [];
  const keepDays = pastDays(settings);
  for (let last = from; last <= to; last = addDays(last, 1)) {
    const hit = options.cached?.(last);
    if (hit) {
      past.push(...hit);
      while (past.length && past[0]!.date < addDays(last, -keepDays)) past.shift();
      continue;
    }
    let calibration: LearCalibration;
    try {
      calibration = yield* calibrationSteps(h, last, settings);
    } catch {
      continue;
    }
    const band = adaptiveBand(h, past, last, settings);
    calibration.bands = band.bands;
    calibration.bandState = band.state;
    if (band.scales) calibration.bandScales = band.scales;
    calibration.weights = memberWeights(h, past, last, settings.weightDays ?? 0);
    const forecasts = ([1, 2] as const).map((k) => forecastLearDay(calibration, h, last, k, tz, options.external?.(last, k))).filter((f): f is LearDayForecast => f !== undefined);
    const o = { lastDay: last, calibration, forecasts };
    options.onOrigin?.(o);
    if (options.keep !== false) out.push(o);
    past.push(...forecasts);
    while (past.length && past[0]!.date < addDays(last, -keepDays)) past.shift();
  }
  return out;
}

const bandStepOf = (s: LearSettings) => s.bandStep ?? DEFAULT_LEAR.bandStep ?? 0;
const scaleDaysOf = (s: LearSettings) => s.bandScaleDays ?? DEFAULT_LEAR.bandScaleDays ?? 0;

/** Days of earlier forecasts an origin's band and weights read: the adaptive band replays `conformalDays` of bands, each from `conformalDays` of residuals. */
function pastDays(s: LearSettings): number {
  return (bandStepOf(s) > 0 ? 2 * s.conformalDays : s.conformalDays) + Math.max(s.weightDays ?? 0, scaleDaysOf(s)) + 3;
}

/**
 * Origins before an origin that a replay must have computed for that origin's forecasts, weights and band to be
 * exactly those of an uninterrupted daily run (the evaluation's and the gateway's replays start this early).
 */
export function warmupDays(s: LearSettings): number {
  return (bandStepOf(s) > 0 ? 2 * s.conformalDays : s.conformalDays) + (s.weightDays ?? 0) + scaleDaysOf(s) + 4;
}

/** The band kind a forecast was issued with. */
const bandKindOf = (f: LearDayForecast): BandKind => f.band ?? (f.k === 2 ? 'd2' : f.driversUsed ? 'd1Drivers' : 'd1');

export function nominalBandState(through: string): BandState {
  return { through, levels: Object.fromEntries(BAND_KINDS.map((k) => [k, [...NOMINAL_LEVELS]])) as BandState['levels'] };
}

/** Levels of the band's edges stay within these, so that the band never inverts and a long run of misses cannot wind the state up without end. */
export const LEVEL_LIMITS = { low: [0, 0.45], high: [0.55, 1] } as const;

/**
 * One adaptive conformal update (Gibbs & Candès 2021) per band kind and published forecast: the low edge's level
 * moves by γ × (10 % − share of the day's prices below the band `offsets` gave it), the high edge's by
 * γ × (share above − 10 %), each kept within `LEVEL_LIMITS`.
 */
export function updateLevels(levels: BandState['levels'], f: LearDayForecast, actual: ArrayLike<number>, offsets: readonly [number, number], step: number): void {
  let below = 0;
  let above = 0;
  for (const s of f.slots) {
    const a = actual[s.period]!;
    if (a < s.value + offsets[0]) below++;
    else if (a > s.value + offsets[1]) above++;
  }
  const n = f.slots.length;
  const kind = bandKindOf(f);
  const [lo, hi] = levels[kind];
  const clamp = (x: number, [a, b]: readonly [number, number]) => Math.min(b, Math.max(a, x));
  levels[kind] = [clamp(lo + step * (NOMINAL_LEVELS[0] - below / n), LEVEL_LIMITS.low), clamp(hi + step * (above / n - (1 - NOMINAL_LEVELS[1])), LEVEL_LIMITS.high)];
}

/**
 * The band of the calibration made at the end of `lastDay`. Split conformal: quantiles of the last `conformalDays`
 * of out-of-sample residuals, divided by the error scale at their origin and multiplied by today's (see
 * `errorScales`; `bandScaleDays` 0: unscaled). Adaptive (`bandStep` γ > 0): the quantile levels come from adaptive
 * conformal inference run over the last `conformalDays` days, from the nominal 10/90 % at their start: each origin's
 * band is rebuilt from what was known then, each published day's misses move the levels. The recursion is rebuilt
 * from the stored forecasts at every origin, so its result depends only on the last weeks: a replay that starts
 * `warmupDays` earlier (the evaluation, the gateway after a restart) gives exactly the band of an uninterrupted run.
 */
export function adaptiveBand(h: LearHistory, past: readonly LearDayForecast[], lastDay: string, settings: LearSettings): { bands: LearCalibration['bands']; state: BandState; scales?: { d1: number; d2: number } } {
  const step = bandStepOf(settings);
  const scaleDays = scaleDaysOf(settings);
  const bandAt = (origin: string, levels?: BandState['levels']) => {
    const scales = scaleDays > 0 ? errorScales(h, past, origin, scaleDays) : undefined;
    return { bands: conformalBands(h, past, origin, settings.conformalDays, levels, scales), scales };
  };
  if (step <= 0) return { ...bandAt(lastDay), state: nominalBandState(lastDay) };
  const start = addDays(lastDay, -settings.conformalDays);
  const byDate = new Map<string, LearDayForecast[]>();
  for (const f of past) if (f.date > start && f.date <= lastDay) byDate.set(f.date, [...(byDate.get(f.date) ?? []), f]);
  const state = nominalBandState(start);
  // The band each origin of the window issued, as it would have with the levels of that day.
  const issued = new Map<string, LearCalibration['bands']>();
  for (let day = addDays(start, 1); day <= lastDay; day = addDays(day, 1)) {
    const due = (byDate.get(day) ?? []).sort((a, b) => a.k - b.k);
    const actual = due.length ? h.prices.profile(day, marketPeriods(day)) : undefined;
    for (const f of actual ? due : []) {
      const origin = addDays(f.date, -f.k);
      if (origin < start) continue;
      let bands = issued.get(origin);
      if (!bands) issued.set(origin, (bands = bandAt(origin, state.levels).bands));
      const offsets = bands[bandKindOf(f)];
      if (offsets && f.slots.length) updateLevels(state.levels, f, actual!, offsets, step);
    }
    state.through = day;
    // Origins are rebuilt lazily with the levels as they stood at the end of their day.
    if (!issued.has(day) && day < lastDay) issued.set(day, bandAt(day, structuredClone(state.levels)).bands);
  }
  return { ...bandAt(lastDay, state.levels), state };
}

/** Residual quantiles (at `levels` per band kind; nominal 10/90 % without) of the forecasts whose target day is ≤ lastDay and within the last `days` days. */
export function conformalBands(h: LearHistory, past: readonly LearDayForecast[], lastDay: string, days: number, levels?: BandState['levels'], scales?: { d1: number; d2: number }): LearCalibration['bands'] {
  const res = { d1: [] as number[], d2: [] as number[], d1Drivers: [] as number[] };
  const from = addDays(lastDay, -days + 1);
  for (const f of past) {
    if (f.date > lastDay || f.date < from) continue;
    if (scales && !(f.scale! > 0)) continue;
    const actual = h.prices.profile(f.date, marketPeriods(f.date));
    if (!actual) continue;
    // Scaled: residuals in units of the error scale at their origin (see `errorScales`).
    const unit = scales ? f.scale! : 1;
    const list = f.k === 2 ? res.d2 : f.driversUsed ? res.d1Drivers : res.d1;
    for (const s of f.slots) list.push((actual[s.period]! - s.value) / unit);
    if (f.k === 1 && f.driversUsed) for (const s of f.slots) res.d1.push((actual[s.period]! - s.value) / unit);
  }
  const scaled = (band: [number, number] | null, by: number): [number, number] | null => (band ? [band[0] * by, band[1] * by] : null);
  return {
    d1: scaled(residualBand(res.d1, levels?.d1), scales?.d1 ?? 1),
    d2: scaled(residualBand(res.d2, levels?.d2), scales?.d2 ?? 1),
    d1Drivers: scaled(residualBand(res.d1Drivers, levels?.d1Drivers), scales?.d1 ?? 1),
  };
}

/** Smallest error scale (€/MWh), so that a run of near-exact days cannot shrink the band to nothing. */
const MIN_ERROR_SCALE = 1;

/**
 * Mean absolute error (€/MWh) of the D+1 and of the D+2 forecasts whose targets lie in the last `days` days up to
 * `lastDay` (all published); with none, the mean absolute day-over-day change of the prices over those days, so that
 * the first scaled bands have a scale of the market's own size.
 */
export function errorScales(h: LearHistory, past: readonly LearDayForecast[], lastDay: string, days: number): { d1: number; d2: number } {
  const from = addDays(lastDay, -days + 1);
  const acc = { d1: { abs: 0, n: 0 }, d2: { abs: 0, n: 0 } };
  for (const f of past) {
    if (f.date > lastDay || f.date < from) continue;
    const actual = h.prices.profile(f.date, marketPeriods(f.date));
    if (!actual) continue;
    const a = f.k === 2 ? acc.d2 : acc.d1;
    for (const s of f.slots) a.abs += Math.abs(actual[s.period]! - s.value);
    a.n += f.slots.length;
  }
  const persistence = () => {
    let abs = 0;
    let n = 0;
    for (let d = from; d <= lastDay; d = addDays(d, 1)) {
      const periods = marketPeriods(d);
      const today = h.prices.profile(d, periods);
      const before = h.prices.profile(addDays(d, -1), periods);
      if (!today || !before) continue;
      for (let p = 0; p < periods; p++) abs += Math.abs(today[p]! - before[p]!);
      n += periods;
    }
    return n ? abs / n : MIN_ERROR_SCALE;
  };
  const scale = (a: { abs: number; n: number }) => Math.round(Math.max(MIN_ERROR_SCALE, a.n ? a.abs / a.n : persistence()) * 1000) / 1000;
  return { d1: scale(acc.d1), d2: scale(acc.d2) };
}

/** The store does not hold enough price history yet: nothing is wrong, there is nothing to learn from. */
export class NotEnoughHistory extends Error {}

/** Forecast slots of one target day made by some model from the prices up to the day before it. */
export type DayForecaster = (lastDay: string) => readonly Slot[] | undefined;

export interface GuardScore {
  days: number;
  slots: number;
  mae: number;
  naiveDayMae: number;
}

/**
 * MAE of D+1 forecasts over the days after each of `lastDays`, at the market's resolution (a coarser forecast slot
 * covers the periods inside it), beside same-period-yesterday on the same periods.
 */
export function scoreD1(h: LearHistory, lastDays: readonly string[], forecaster: DayForecaster, tz = PLANT_TZ): GuardScore {
  let abs = 0;
  let naive = 0;
  let n = 0;
  let days = 0;
  for (const last of lastDays) {
    const target = addDays(last, 1);
    const periods = marketPeriods(target);
    const actual = h.prices.profile(target, periods);
    const yesterday = h.prices.profile(last, periods);
    const f = actual && yesterday ? forecaster(last) : undefined;
    if (!f || !actual || !yesterday) continue;
    const byStart = new Map(f.map((s) => [s.start, s]));
    let used = false;
    for (const s of daySlots(target, periods, tz)) {
      const hit = byStart.get(s.start) ?? f.find((x) => x.start <= s.start && s.start < x.end);
      if (!hit) continue;
      abs += Math.abs(hit.value - actual[s.period]!);
      naive += Math.abs(yesterday[s.period]! - actual[s.period]!);
      n++;
      used = true;
    }
    if (used) days++;
  }
  const r = (x: number) => Math.round(x * 100) / 100;
  return { days, slots: n, mae: n ? r(abs / n) : NaN, naiveDayMae: n ? r(naive / n) : NaN };
}

export interface RecalibrationResult {
  candidate: LearCalibration;
  /** Out-of-sample: each of the last `guardDays` days forecast by the calibration made the evening before it. */
  backtest: GuardScore & { coverage: number | null };
  /** The candidate's and the active model's D+1 error on the same recent days, each with its own fixed weights. */
  guard: { candidate: GuardScore; active: GuardScore | null; tolerance: number; activeKind: 'calibration' | 'network' | 'none' };
  promote: boolean;
  reason: string;
  cost: { wallMs: number; cpuMs: number; maxRssGrowthMb: number; calibrations: number };
}

/**
 * The daily recalibration: calibrates on everything up to `lastDay`, backtests the same procedure over the last
 * `guardDays` days (recalibrating each evening, which also gives the 10/90 % band its out-of-sample residuals), and
 * decides whether the candidate may replace the active model: its D+1 MAE on the last `guardDays` days must not be
 * worse than the active's by more than `tolerance`. A calibration is compared with a calibration, both scored with
 * their own fixed weights on the same days; a network (trained elsewhere, out of sample here) is compared with the
 * candidate's out-of-sample backtest so that the comparison never favours the candidate.
 */
export function recalibrate(h: LearHistory, lastDay: string, settings: LearSettings, active: ActiveModel, options: RecalibrationOptions): RecalibrationResult {
  return runSteps(recalibrationSteps(h, lastDay, settings, active, options));
}

/** `recalibrate` for the live gateway: the same work, giving the event loop a turn every ~20 ms. */
export function recalibrateYielding(h: LearHistory, lastDay: string, settings: LearSettings, active: ActiveModel, options: RecalibrationOptions): Promise<RecalibrationResult> {
  return runStepsYielding(recalibrationSteps(h, lastDay, settings, active, options));
}

export type ActiveModel = { kind: 'calibration'; calibration: LearCalibration } | { kind: 'network'; forecaster: DayForecaster } | null;
export interface RecalibrationOptions {
  guardDays: number;
  tolerance: number;
  tz?: string;
  /**
   * Forecasts of earlier origins by last day, kept between daily runs (same history, same settings): a daily run
   * then calibrates once for the new day instead of replaying the whole backtest. Filled by the run.
   */
  memo?: Map<string, LearDayForecast[]>;
  external?: ExternalMemberSource;
}

function* recalibrationSteps(h: LearHistory, lastDay: string, settings: LearSettings, active: ActiveModel, options: RecalibrationOptions): Generator<void, RecalibrationResult> {
  const tz = options.tz ?? PLANT_TZ;
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const rss = process.resourceUsage().maxRSS;
  const first = addDays(lastDay, -Math.max(options.guardDays, warmupDays(settings)));
  const backtestDays = new Set(Array.from({ length: options.guardDays }, (_, i) => addDays(lastDay, -1 - i)));
  const oos = new Map<string, LearDayForecast>();
  const memo = options.memo;
  let candidate: LearCalibration | undefined;
  let calibrations = 0;
  const keepForBacktest = (last: string, forecasts: readonly LearDayForecast[]) => {
    const d1 = forecasts.find((f) => f.k === 1);
    if (d1 && backtestDays.has(last)) oos.set(last, d1);
  };
  yield* rollingSteps(h, first, lastDay, settings, {
    tz,
    keep: false,
    external: options.external,
    cached: (last) => {
      const hit = last === lastDay ? undefined : memo?.get(last);
      if (hit) keepForBacktest(last, hit);
      return hit;
    },
    onOrigin: (o) => {
      calibrations++;
      if (o.lastDay === lastDay) candidate = o.calibration;
      keepForBacktest(o.lastDay, o.forecasts);
      memo?.set(o.lastDay, o.forecasts);
    },
  });
  if (memo) for (const day of [...memo.keys()]) if (day < first) memo.delete(day);
  if (!candidate) throw new NotEnoughHistory(`cannot calibrate on prices up to ${lastDay}: ${historyNeed(settings)}`);
  const days = [...backtestDays].sort();
  const backtest = scoreD1(h, days, (last) => oos.get(last)?.slots, tz);
  let inside = 0;
  let counted = 0;
  for (const [last, f] of oos) {
    const actual = h.prices.profile(addDays(last, 1), marketPeriods(addDays(last, 1)));
    if (!actual || f.slots[0]!.low === f.slots[0]!.high) continue;
    for (const s of f.slots) {
      counted++;
      if (actual[s.period]! >= s.low && actual[s.period]! <= s.high) inside++;
    }
  }
  const fixed = (cal: LearCalibration): DayForecaster => (last) => forecastLearDay(cal, h, last, 1, tz, options.external?.(last, 1))?.slots;
  // Both sides on the same days: those the candidate's out-of-sample replay could forecast.
  const scored = days.filter((day) => oos.has(day));
  const mine = active?.kind === 'calibration' ? scoreD1(h, scored, fixed(candidate), tz) : backtest;
  const theirs = active ? scoreD1(h, scored, active.kind === 'calibration' ? fixed(active.calibration) : active.forecaster, tz) : null;
  let promote: boolean;
  let reason: string;
  if (!Number.isFinite(mine.mae)) {
    promote = false;
    reason = `no day of the last ${options.guardDays} could be scored`;
  } else if (!theirs || !Number.isFinite(theirs.mae)) {
    promote = true;
    reason = `no active model to compare with on the last ${options.guardDays} days; candidate D+1 MAE ${mine.mae} €/MWh`;
  } else {
    promote = mine.mae <= theirs.mae * (1 + options.tolerance);
    reason = `candidate D+1 MAE ${mine.mae} ${promote ? '≤' : '>'} active ${theirs.mae} €/MWh${options.tolerance ? ` (tolerance ${options.tolerance * 100} %)` : ''} on the last ${mine.days} days`;
  }
  const used = process.cpuUsage(cpu);
  return {
    candidate,
    backtest: { ...backtest, coverage: counted ? Math.round((inside / counted) * 1000) / 1000 : null },
    guard: { candidate: mine, active: theirs, tolerance: options.tolerance, activeKind: active?.kind ?? 'none' },
    promote,
    reason,
    cost: { wallMs: Math.round(performance.now() - wall), cpuMs: Math.round((used.user + used.system) / 1000), maxRssGrowthMb: Math.round(((process.resourceUsage().maxRSS - rss) / 1024) * 10) / 10, calibrations },
  };
}

/** Name of the TF.js network among the members of the combination. */
export const NETWORK_MEMBER = 'net';

/** The last 16 days of hourly prices up to the end of `lastDay`: what the network reads. */
function hourlyPricesUpTo(h: LearHistory, lastDay: string, tz: string): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i < 16; i++) {
    const date = addDays(lastDay, -i);
    const p = h.prices.profile(date, 24);
    if (p) for (const s of daySlots(date, 24, tz)) out.set(s.start, p[s.period]!);
  }
  return out;
}

/** REE's D-1 forecasts for the day after `lastDay`, hourly, as the network reads them (MW); undefined when not stored. */
function driversAfter(h: LearHistory, lastDay: string, tz: string): Map<number, DriverRow> | undefined {
  const date = addDays(lastDay, 1);
  const demand = h.drivers?.demand.profile(date, 24);
  const wind = h.drivers?.wind.profile(date, 24);
  const solar = h.drivers?.solar.profile(date, 24);
  if (!demand || !wind || !solar) return undefined;
  return new Map(daySlots(date, 24, tz).map((s) => [s.start, { demand: demand[s.period]!, wind: wind[s.period]!, solar: solar[s.period]! }]));
}

/** The network's 48 hourly slots after the end of `lastDay` (with REE's D-1 forecasts when stored), or undefined when its inputs are missing. */
function networkSlots(network: LayersModel, h: LearHistory, lastDay: string, tz: string): readonly Slot[] | undefined {
  try {
    return forecastPrices(network, hourlyPricesUpTo(h, lastDay, tz), localDayRange(lastDay, tz).end, driversAfter(h, lastDay, tz), tz).slots;
  } catch (error) {
    if (error instanceof MissingInputsError) return undefined;
    throw error;
  }
}

/** The shipped TF.js network as a D+1 forecaster on the same history (hourly), for the guard. */
export function networkDayForecaster(network: LayersModel, h: LearHistory, tz = PLANT_TZ): DayForecaster {
  return (lastDay) => {
    const { start, end } = localDayRange(addDays(lastDay, 1), tz);
    return networkSlots(network, h, lastDay, tz)?.filter((s) => s.start >= start && s.start < end);
  };
}

/**
 * The TF.js network as an external member (`net`) of the combination: its forecast of D+1 and D+2 from the prices up
 * to the end of L, laid out per clock period at the market's resolution like every member (an hour's value on its
 * quarter-hours; DST days as `DayProfiles` lays them out). With `trainedTo` (the last day of its training data) it
 * forecasts only from origins on or after that day: on earlier days its errors are in-sample and would buy it weight.
 */
export function networkMember(network: LayersModel, h: LearHistory, tz = PLANT_TZ, trainedTo?: string): ExternalMemberSource {
  let memo: { lastDay: string; profiles: DayProfiles | undefined } | undefined;
  return (lastDay, k) => {
    if (trainedTo !== undefined && lastDay < trainedTo) return undefined;
    if (memo?.lastDay !== lastDay) {
      const slots = networkSlots(network, h, lastDay, tz);
      memo = { lastDay, profiles: slots ? new DayProfiles(slots, tz) : undefined };
    }
    const target = addDays(lastDay, k);
    const values = memo.profiles?.profile(target, marketPeriods(target));
    return values ? { [NETWORK_MEMBER]: values } : undefined;
  };
}
