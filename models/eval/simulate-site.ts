/**
 * `choco-edge simulate` with the site (issue #22): the plan, the fixed shift and the perfect-hindsight plan of each
 * simulated day priced as the bill prices them — the runs' load (each process at its configured kW) + the site's
 * base load, per quarter-hour, through gateway/site-load/plan-bill.ts (the bill's own computeBill, month by month,
 * with energy, power, excess, tax and VAT), on the day's real OMIE prices (an hourly price applies to its four
 * quarter-hours). With the site, simulate.ts also plans every schedule under the contract
 * (gateway/planner/contract-terms.ts); this reports what each schedule would have been billed, the excess
 * quarter-hours included.
 *
 * --base-load CSV: `datetime_utc,kw`, the site's unplanned load per quarter-hour or per hour (an hourly row applies
 * to its four quarter-hours), one sentence naming the row for a bad one; without it, the configured profile
 * (energy.siteLoad.profile), else 0 kW (and the report says so).
 */
import { InputError, readInputText } from '../../gateway/config/cli-input.js';
import type { Config } from '../../gateway/config/schema.js';
import type { Contract } from '../../gateway/contract/contract.js';
import { sumAmounts, type BillAmounts } from '../../gateway/bill/bill.js';
import { planBill, type PlanQuarterHour } from '../../gateway/site-load/plan-bill.js';
import { profileKw } from '../../gateway/site-load/forecast.js';
import type { PlannedRun } from '../../gateway/planner/types.js';
import { parseInstant } from '../../gateway/time/tz.js';
import { errorMessage } from '../../gateway/util/errors.js';

const QH = 900_000;
const HOUR = 3_600_000;

export interface SiteOptions {
  contract: Contract;
  /** kW of the unplanned load at a quarter-hour's start (UTC ms). */
  baseLoadKw: (ms: number) => number;
  /** What the base load is, for the report. */
  baseLoadSource: string;
}

export interface SiteDay {
  starts: number[];
  resolutionMs: number;
  plan: PlannedRun[];
  baseline: PlannedRun[];
  hindsight: PlannedRun[];
}

export interface SiteBill {
  amounts: BillAmounts;
  excessQuarterHours: number;
}

export interface SiteReport {
  baseLoadSource: string;
  plan: SiteBill;
  baseline: SiteBill;
  hindsight: SiteBill;
}

/** Reads a base-load CSV (`datetime_utc,kw`, quarter-hour or hourly rows) into kW per quarter-hour start. */
export function loadBaseLoad(path: string): Map<number, number> {
  const lines = readInputText(path, '--base-load').split(/\r?\n/);
  const header = (lines[0] ?? '').trim().replace(/^\uFEFF/, '');
  if (header !== 'datetime_utc,kw') throw new InputError(`--base-load ${path} row 1: expected the header datetime_utc,kw, got ${JSON.stringify(header.slice(0, 60))}`);
  const out = new Map<number, number>();
  let previous = -Infinity;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const [when, value, extra] = line.split(',');
    const at = `--base-load ${path} row ${i + 1}`;
    if (extra !== undefined) throw new InputError(`${at}: expected datetime_utc (with Z or an offset),kw, got ${JSON.stringify(line.slice(0, 60))}`);
    // The project's one parser of offset timestamps (gateway/time/tz.ts): Z or an offset, a real calendar date.
    let t: number;
    try {
      t = parseInstant(when);
    } catch (error) {
      throw new InputError(`${at}: ${errorMessage(error)} (datetime_utc, a UTC timestamp like 2025-01-15T08:15:00Z)`);
    }
    const kw = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(kw) || kw < 0) throw new InputError(`${at}: kW must be a non-negative number, got ${JSON.stringify(value ?? '')}`);
    if (t % QH !== 0) throw new InputError(`${at}: ${when} is not on the quarter-hour grid`);
    if (t <= previous) throw new InputError(`${at}: ${when} is not after the row before it (rows sorted, no duplicates)`);
    previous = t;
    if (t % HOUR === 0 && !out.has(t)) for (let q = 0; q < 4; q++) out.set(t + q * QH, kw);
    else out.set(t, kw);
  }
  if (!out.size) throw new InputError(`--base-load ${path}: no rows after the header`);
  return out;
}

/**
 * The base load for the simulation: the file when given (a quarter-hour it does not cover is an InputError naming
 * it, raised when priced), else the configured profile, else 0 kW.
 */
export function baseLoadFor(config: Config, path: string | undefined, range?: { start: number; end: number }): { kw: (ms: number) => number; source: string } {
  if (path) {
    const map = loadBaseLoad(path);
    // Checked before any day is planned: a file that misses a quarter-hour of the range is refused at once.
    if (range) for (let t = range.start; t < range.end; t += QH) if (!map.has(t)) throw new InputError(`--base-load ${path} has no value for the quarter-hour ${new Date(t).toISOString()}: it must cover every simulated day`);
    return {
      kw: (ms) => {
        const v = map.get(ms);
        if (v === undefined) throw new InputError(`--base-load ${path} has no value for the quarter-hour ${new Date(ms).toISOString()}: it must cover every simulated day`);
        return v;
      },
      source: `--base-load ${path}`,
    };
  }
  if (config.energy.siteLoad.profile) return { kw: (ms) => profileKw(config.energy.siteLoad, ms, null, config.site.timezone) ?? 0, source: 'the configured profile (energy.siteLoad.profile, no temperature term)' };
  return { kw: () => 0, source: 'none (0 kW: give --base-load or energy.siteLoad.profile)' };
}

/** Prices the three schedules of every simulated day as the bill does. `pricesEurMwh`: hourly (or quarter-hour) OMIE by UTC start. */
export function siteReport(config: Config, site: SiteOptions, days: readonly SiteDay[], pricesEurMwh: ReadonlyMap<number, number>): SiteReport {
  const kwOf = new Map(config.planner.processes.map((p) => [p.name, p.kw]));
  const qhPrices = new Map<number, number>();
  const bill = (pick: (d: SiteDay) => PlannedRun[]): SiteBill => {
    const quarterHours: PlanQuarterHour[] = [];
    for (const d of days) {
      const first = d.starts[0]!;
      const end = d.starts.at(-1)! + d.resolutionMs;
      const planned = new Map<number, number>();
      for (const r of pick(d)) {
        const s = first + r.startSlot * d.resolutionMs;
        for (let t = s; t < s + r.slots * d.resolutionMs; t += QH) planned.set(t, (planned.get(t) ?? 0) + (kwOf.get(r.process) ?? 0));
      }
      for (let t = first; t < end; t += QH) {
        quarterHours.push({ start: t, plannedKw: planned.get(t) ?? 0, baseKw: site.baseLoadKw(t) });
        const price = pricesEurMwh.get(t) ?? pricesEurMwh.get(Math.floor(t / HOUR) * HOUR);
        if (price !== undefined) qhPrices.set(t, price);
      }
    }
    // planBill prices month by month; a day left out of the simulation is simply absent (counted missing).
    // excess as the bill charges it: the maxímetro where the contract has one (the planner weighed the quarter-hour formula)
    const b = planBill(site.contract, quarterHours, qhPrices, config.site.timezone, 'contract');
    return { amounts: sumAmounts(b.months.map((m) => m.amounts)), excessQuarterHours: b.excessQuarterHours };
  };
  return { baseLoadSource: site.baseLoadSource, plan: bill((d) => d.plan), baseline: bill((d) => d.baseline), hindsight: bill((d) => d.hindsight) };
}

const amountsText = (b: SiteBill) =>
  `energy_kwh=${b.amounts.energy_kwh.toFixed(3)} energy_eur=${b.amounts.energy_eur.toFixed(2)} power_eur=${b.amounts.power_eur.toFixed(2)} excess_eur=${b.amounts.excess_eur.toFixed(2)} tax_eur=${b.amounts.tax_eur.toFixed(2)} vat_eur=${b.amounts.vat_eur.toFixed(2)} total_eur=${b.amounts.total_eur.toFixed(2)} excess_quarter_hours=${b.excessQuarterHours}`;

/** The report's site lines: the bill of each schedule, and the share of the hindsight saving kept on the bill. */
export function formatSiteReport(r: SiteReport): string[] {
  const saved = r.baseline.amounts.total_eur - r.plan.amounts.total_eur;
  const possible = r.baseline.amounts.total_eur - r.hindsight.amounts.total_eur;
  return [
    `site: the runs at their processes' kW + base load ${r.baseLoadSource}, billed as the bill does (energy.contract)`,
    `bill plan:      ${amountsText(r.plan)}`,
    `bill baseline:  ${amountsText(r.baseline)}`,
    `bill hindsight: ${amountsText(r.hindsight)}`,
    `bill saved against the fixed shift: ${saved.toFixed(2)} €; share of the perfect-hindsight bill saving kept: ${possible === 0 ? 'n/a (hindsight saves nothing)' : `${((100 * saved) / possible).toFixed(1)} %`}`,
  ];
}
