/**
 * Where a plan made on forecast prices loses against perfect hindsight, one day at a time (issue #23: the trace
 * behind the 10:00-fixed figure of `simulate`; `simulate --days FILE` writes it as CSV).
 *
 * For the plan fixed at the decision hour and for the hindsight plan of the same day it gives: the local start of
 * each run; how the energy falls into the night (00-09 local), the midday (09-18) and the evening (18-24); the
 * energy-weighted mean price at each plan's hours, as forecast (what the plan saw) and as published (what it
 * paid); and the ranking error, (forecast − real at the hindsight plan's hours) − (forecast − real at the plan's
 * hours), €/MWh: how much dearer the forecast made the hindsight hours look against the plan's than they were. A
 * constant error over the day changes no decision (every run is placed within the day either way, so it adds the
 * same € to every plan): only the ranking error costs. With the forecaster's 10-90 % band, its mean half-width
 * over the day (€/MWh) says whether the ranking error was inside what the forecaster admitted.
 */
import { localParts } from '../../gateway/time/tz.js';
import type { PlannedRun } from '../../gateway/planner/types.js';

export interface DayTrace {
  /** Local start times per process, e.g. `mixing 00:00 04:00; refining 01:00 05:00`. */
  planStarts: string;
  hindsightStarts: string;
  /** Per cent of the day's energy placed at night (00-09 local), midday (09-18) and evening (18-24), rounded. */
  planShare: [number, number, number];
  hindsightShare: [number, number, number];
  /** Energy-weighted mean price at the plan's slots: as forecast, as published (€/MWh, 2 decimals). */
  planForecastEurMwh: number;
  planActualEurMwh: number;
  /** The same at the hindsight plan's slots. */
  hindsightForecastEurMwh: number;
  hindsightActualEurMwh: number;
  /** (hindsight forecast − hindsight actual) − (plan forecast − plan actual), €/MWh; > 0: the forecast ranked the plan's hours too cheap against hindsight's. */
  rankingErrorEurMwh: number;
  /** Mean half-width of the 10-90 % band over the day's slots (€/MWh), null without a band. */
  bandHalfEurMwh: number | null;
}

export interface DayTraceInput {
  /** Slot starts (UTC ms) and their length (ms). */
  starts: readonly number[];
  resolutionMs: number;
  /** kW of each process by name. */
  kw: Readonly<Record<string, number>>;
  /** €/MWh per slot: what the plan saw and what was published. */
  forecast: readonly number[];
  actual: readonly number[];
  /** The 10-90 % band per slot (€/MWh), when the forecaster gave one. */
  low?: readonly number[] | undefined;
  high?: readonly number[] | undefined;
  plan: readonly PlannedRun[];
  hindsight: readonly PlannedRun[];
  timezone: string;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Energy (kWh) per slot of `runs`; throws on a run outside the day or of an unknown process. */
function energyBySlot(input: DayTraceInput, runs: readonly PlannedRun[]): number[] {
  const hours = input.resolutionMs / 3_600_000;
  const e = input.starts.map(() => 0);
  for (const r of runs) {
    const kw = input.kw[r.process];
    if (kw === undefined) throw new Error(`day trace: unknown process ${JSON.stringify(r.process)}`);
    if (r.startSlot < 0 || r.startSlot + r.slots > input.starts.length) throw new Error(`day trace: ${r.process} run at slot ${r.startSlot} (${r.slots} slots) outside the day's ${input.starts.length}`);
    for (let i = r.startSlot; i < r.startSlot + r.slots; i++) e[i]! += kw * hours;
  }
  return e;
}

function weighted(energy: readonly number[], price: readonly number[]): number {
  let kwh = 0;
  let eur = 0;
  energy.forEach((e, i) => {
    kwh += e;
    eur += e * price[i]!;
  });
  return kwh ? eur / kwh : NaN;
}

function shares(input: DayTraceInput, energy: readonly number[]): [number, number, number] {
  const parts = [0, 0, 0];
  energy.forEach((e, i) => {
    const h = localParts(input.starts[i]!, input.timezone).hour;
    parts[h < 9 ? 0 : h < 18 ? 1 : 2]! += e;
  });
  const total = parts[0]! + parts[1]! + parts[2]!;
  return parts.map((p) => (total ? Math.round((100 * p) / total) : 0)) as [number, number, number];
}

function startsText(input: DayTraceInput, runs: readonly PlannedRun[]): string {
  const by = new Map<string, number[]>();
  for (const r of [...runs].sort((a, b) => a.startSlot - b.startSlot)) by.set(r.process, [...(by.get(r.process) ?? []), r.startSlot]);
  const hhmm = (slot: number) => {
    const p = localParts(input.starts[slot]!, input.timezone);
    return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
  };
  return Object.keys(input.kw)
    .filter((name) => by.has(name))
    .map((name) => `${name} ${by.get(name)!.map(hhmm).join(' ')}`)
    .join('; ');
}

/** The trace of one day (see the module's docstring). */
export function dayTrace(input: DayTraceInput): DayTrace {
  const n = input.starts.length;
  if (input.forecast.length !== n || input.actual.length !== n) throw new Error(`day trace: ${n} slots but ${input.forecast.length} forecast and ${input.actual.length} published prices`);
  const plan = energyBySlot(input, input.plan);
  const hind = energyBySlot(input, input.hindsight);
  const pf = weighted(plan, input.forecast);
  const pa = weighted(plan, input.actual);
  const hf = weighted(hind, input.forecast);
  const ha = weighted(hind, input.actual);
  const band = input.low && input.high && input.low.length === n && input.high.length === n ? input.high.reduce((a, h, i) => a + (h - input.low![i]!) / 2, 0) / n : null;
  return {
    planStarts: startsText(input, input.plan),
    hindsightStarts: startsText(input, input.hindsight),
    planShare: shares(input, plan),
    hindsightShare: shares(input, hind),
    planForecastEurMwh: round2(pf),
    planActualEurMwh: round2(pa),
    hindsightForecastEurMwh: round2(hf),
    hindsightActualEurMwh: round2(ha),
    rankingErrorEurMwh: round2(hf - ha - (pf - pa)),
    bandHalfEurMwh: band === null ? null : round2(band),
  };
}

/** One simulated day as the CSV row needs it (`SimulationDay` of simulate.ts with its trace). */
export interface TracedDay {
  date: string;
  priceSource: string;
  baselineEur: number;
  hindsightEur: number;
  planEur: number;
  liveEur: number;
  planBroke?: boolean | undefined;
  trace?: DayTrace | undefined;
}

const CSV_HEADER = [
  'date',
  'price_source',
  'baseline_eur',
  'hindsight_eur',
  'plan_eur',
  'plan_loss_eur',
  'live_eur',
  'plan_broke_ambient_limit',
  'plan_night_midday_evening_pct',
  'hindsight_night_midday_evening_pct',
  'plan_forecast_eur_mwh',
  'plan_actual_eur_mwh',
  'hindsight_forecast_eur_mwh',
  'hindsight_actual_eur_mwh',
  'ranking_error_eur_mwh',
  'band_half_eur_mwh',
  'plan_starts',
  'hindsight_starts',
];

const csvField = (v: string | number | null | undefined): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * The days as CSV (header + one row per day, `\n`-terminated): € to the cent, plan_loss_eur = plan − hindsight
 * (what the plan fixed at the decision hour lost against perfect hindsight), the trace's fields where the day has
 * one (empty otherwise: e.g. on published prices nothing was forecast).
 */
export function dayTraceCsv(days: readonly TracedDay[]): string {
  const eur = (x: number) => x.toFixed(2);
  const rows = days.map((d) => {
    const t = d.trace;
    return [
      d.date,
      d.priceSource,
      eur(d.baselineEur),
      eur(d.hindsightEur),
      eur(d.planEur),
      eur(d.planEur - d.hindsightEur),
      eur(d.liveEur),
      d.planBroke ? 'yes' : 'no',
      t ? t.planShare.join('/') : '',
      t ? t.hindsightShare.join('/') : '',
      t?.planForecastEurMwh,
      t?.planActualEurMwh,
      t?.hindsightForecastEurMwh,
      t?.hindsightActualEurMwh,
      t?.rankingErrorEurMwh,
      t?.bandHalfEurMwh,
      t?.planStarts,
      t?.hindsightStarts,
    ]
      .map(csvField)
      .join(',');
  });
  return `${[CSV_HEADER.join(','), ...rows].join('\n')}\n`;
}
