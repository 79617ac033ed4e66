import type { Config } from '../config/schema.js';
import { localParts } from '../time/tz.js';
import { TARIFFS, tariffPeriod } from './tariff.js';
import type { DayQuota, PlannedRun, PlannerInput } from './types.js';

type PlannerConfig = Config['planner'];
type Window = PlannerConfig['forbidden'][number];

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether instant t (local clock) falls in any of the windows. */
export function inWindows(windows: readonly Window[], t: number, timezone: string): boolean {
  const p = localParts(t, timezone);
  const weekday = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
  const m = p.hour * 60 + p.minute;
  return windows.some((w) => w.weekdays.includes(weekday) && m >= minutesOf(w.from) && m < minutesOf(w.to));
}

export interface InputParts {
  starts: number[];
  resolutionMs: number;
  priceEurMwh: number[];
  priceSource: Array<'published' | 'forecast'>;
  outdoorC: Array<number | null>;
  runsToPlace: Record<string, number>;
  fixedRuns?: PlannedRun[];
  dayQuotas?: DayQuota[];
  orderCredit?: Record<string, number>;
  waitingSince?: Record<string, number[]>;
  fixedWaitSince?: Record<string, Record<number, number>>;
  /** Use the baseline shift as the only production window (the fixed-shift comparison). */
  baseline?: boolean;
}

/** Turns the planner config and the slot data into the solver's input (tariff, windows, limits). */
export function buildPlannerInput(cfg: PlannerConfig, parts: InputParts, timezone: string): PlannerInput {
  const calendar = TARIFFS[cfg.tariff]!;
  const adders = { ...calendar.adders, ...cfg.adders };
  const period = parts.starts.map((t) => tariffPeriod(calendar, t, timezone));
  const windows = parts.baseline ? [cfg.baselineShift] : cfg.productionWindows;
  return {
    starts: parts.starts,
    resolutionMs: parts.resolutionMs,
    priceEurMwh: parts.priceEurMwh,
    priceSource: parts.priceSource,
    adderEurKwh: period.map((p) => adders[p] ?? 0),
    period,
    outdoorC: parts.outdoorC,
    processes: cfg.processes.map((p) => ({ ...p })),
    order: cfg.order,
    contractedKw: cfg.contractedKw,
    coolingKwPerDegree: cfg.coolingKwPerDegree,
    coolingFromC: cfg.coolingFromC,
    plantTemp: cfg.plantTemp,
    haltAtOutdoorC: cfg.haltAtOutdoorC,
    forbidden: parts.starts.map((t) => !inWindows(windows, t, timezone) || inWindows(cfg.forbidden, t, timezone)),
    fixedRuns: parts.fixedRuns ?? [],
    runsToPlace: parts.runsToPlace,
    ...(parts.dayQuotas ? { dayQuotas: parts.dayQuotas } : {}),
    orderCredit: parts.orderCredit ?? {},
    ...(parts.waitingSince ? { waitingSince: parts.waitingSince } : {}),
    ...(parts.fixedWaitSince ? { fixedWaitSince: parts.fixedWaitSince } : {}),
    timeLimitMs: cfg.timeLimitMs,
  };
}
