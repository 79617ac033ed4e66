/**
 * The bill plugin: the site's electricity bill and the plan's measured savings, from the meters' stored
 * quarter-hours (gateway/meters/quarter-hours.ts), the day-ahead prices in the store and energy.contract.
 *
 * - On every closed quarter-hour of the site meter (bus `meter.quarterHour`) it recomputes today's bill so far and
 *   the month to date (with its projection to the month's end) and publishes them retained on bill/today and
 *   bill/month; the API reads the same figures.
 * - It records the runs as they ran (gateway/bill/ran-runs.ts): on a line with a PLC the gateway writes, from the
 *   commands the PLC verifiably held (bus `line.written`, `line.state`); on a line without, from the plan's runs
 *   (bus `plan.updated`) cut where the plan says they were interrupted, none while the line was in dry run. The plan's
 *   runs of each day are kept too (planned), so that a planned run that did not run is named as left out. It closes
 *   each local day an hour after its last run ended: the day's measured savings against the fixed-shift baseline
 *   (gateway/bill/savings.ts), stored ONCE with the prices and contract used, published on `savings`.
 * Off when there is no energy.contract or no site meter in energy.meters (health says which).
 */
import type { Config } from '../../gateway/config/schema.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { powerPeriodOf } from '../../gateway/contract/calendar.js';
import { resolveContract, type Contract } from '../../gateway/contract/contract.js';
import { computeBill, monthRange, projectMonth, type BillPart } from '../../gateway/bill/bill.js';
import { billPayload, savingsPayload, type BilledWith, type BillPayload, type MonthReconciliation, type SavingsPayload } from '../../gateway/bill/payloads.js';
import { closedBillDay, closedBillKey, closedMonthExcessKey, contractFingerprint, storeOnce, sumDayParts, type ClosedBillDay, type ClosedMonthExcess } from '../../gateway/bill/closed-bills.js';
import { billAmounts, taxesOn } from '../../gateway/bill/bill.js';
import { cents } from '../../gateway/bill/money.js';
import { quarterHourPrices } from '../../gateway/bill/prices.js';
import { closeDay, closedDayKey, fixedShiftStarts, storeClosedDay, type ClosedDay, type ExecutedRun } from '../../gateway/bill/savings.js';
import { closeAt, creditable, onWritten, type LeftOutRun, type OpenRun, type RanRun } from '../../gateway/bill/ran-runs.js';
import { outputModeOf } from '../../gateway/core/output-mode.js';
import { readMeterQuarterHours } from '../../gateway/meters/quarter-hours.js';
import { topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { QUARTER_HOUR_MS } from '../../gateway/series/slots.js';
import { addDays, formatUtcIso, HOUR_MS, localDate, localDayRange, localTimeToUtc } from '../../gateway/time/tz.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker } from '../../gateway/util/health.js';

type MeterConfig = Config['energy']['meters'][number];

export interface PowerNow {
  kw: number | null;
  at: string;
  period: number;
  contracted_kw: number;
  /** kw / contracted_kw */
  ratio: number | null;
  quality: string;
}

export interface BillSummary {
  v: number;
  at: string;
  meter: string;
  /** energy.meters[].provenance of the site meter: 'measured', or 'simulated: …' in the demo */
  provenance: string;
  tariff: string;
  energy_pricing: 'indexed' | 'fixed';
  contracted_kw: number[];
  power_now: PowerNow | null;
  today: BillPayload | null;
  month: BillPayload | null;
  /** the month to date of each line submeter: its energy at the site's prices */
  lines: BillPayload[];
  savings: SavingsPayload;
}

export interface BillPlugin extends Plugin {
  summary(): Promise<BillSummary>;
  /** daily bills of the site meter for local dates [from, to) (at most 400 days); a day without any measured quarter-hour has none */
  days(from: string, to: string): Promise<BillPayload[]>;
  /** a calendar month's bill of the site meter (to now while it runs, with its projection) */
  month(month: string): Promise<BillPayload>;
  /** closed days in [from, to) */
  closedDays(from: string, to: string): Promise<ClosedDay[]>;
  /** recompute now (tests, and the first figures at start) */
  refresh(): Promise<void>;
}

/** The plan's runs whose start passed, per local day of their start (planned; `noted`: the line at their start). */
const RUNS_KEY = (date: string) => `bill.runs.${date}`;
/** The runs as they ran on lines with a PLC the gateway writes (gateway/bill/ran-runs.ts), per local day of their start. */
const RAN_KEY = (date: string) => `bill.ran.${date}`;
/** The run each such line's PLC holds now (not ended yet). */
const OPEN_RUNS_KEY = 'bill.openRuns';

/**
 * A planned run as recorded: its times (the end cut where the plan says it was interrupted), and `noted`, the line at
 * its start ('dry_run', or the line's last link state); records from before runs were confirmed have no `noted`.
 */
type PlannedRecord = Omit<ExecutedRun, 'baselineStart'> & { noted?: string; from?: number };
const SINCE_KEY = 'bill.since';
/** The first local day not yet closed (a cursor, so that closing never rescans from `bill.since`). */
const OPEN_KEY = 'bill.openFrom';
const CLOSE_GRACE_MS = HOUR_MS;
/** The first local day whose bill is not closed yet (gateway/bill/closed-bills.ts). */
const BILL_OPEN_KEY = 'bill.days.openFrom';

export function createBill(ctx: PluginContext): BillPlugin {
  const tz = ctx.config.site.timezone;
  const tracker = new HealthTracker(() => ctx.clock.now());
  const contract: Contract = resolveContract(ctx.config.energy.contract!);
  const site = ctx.config.energy.meters.find((m) => m.role === 'site')!;
  const lineMeters = ctx.config.energy.meters.filter((m): m is MeterConfig & { line: string } => m.role === 'line' && !!m.line);
  const priceSeries = ctx.config.models.priceSeries;
  let power: { kw: number | null; at: number; quality: string } | null = null;
  let lastDoc: PlanDocumentPayload | null = null;
  let today: BillPayload | null = null;
  let month: BillPayload | null = null;
  let lines: BillPayload[] = [];
  let savings: SavingsPayload = savingsPayload([], ctx.clock.now());
  let busy: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const outputs = outputModeOf(ctx);
  /** Lines with a PLC the gateway writes and reads back (Modbus lines[], OPC UA opcua.lines[]). */
  const plcLines = new Set([...ctx.config.lines.map((l) => l.line), ...ctx.config.opcua.lines.map((l) => l.line)]);
  /** The last `line.state` of each PLC line. */
  const lineStates = new Map<string, string>();
  /**
   * When each planned run (process|batch|start) was first in a plan (the earliest `created_at` of the plans holding
   * it): a run placed partly in the past was commanded no earlier than that.
   */
  const firstSeen = new Map<string, number>();
  /** The run each PLC line holds now; kept in the store (OPEN_RUNS_KEY). */
  let openRuns: Record<string, OpenRun> | null = null;
  /** Ledger updates one after another, in the order of the events. */
  let ledger: Promise<void> = Promise.resolve();
  const processOf = (line: string, batch: number) => lastDoc?.runs.find((r) => r.line === line && r.batch === batch)?.process ?? ctx.config.planner.processes.find((p) => p.line === line)?.name ?? line;

  const loadOpen = async (): Promise<Record<string, OpenRun>> => (openRuns ??= (await ctx.store.getValue<Record<string, OpenRun>>(OPEN_RUNS_KEY)) ?? {});
  const appendRan = async (r: RanRun): Promise<void> => {
    const date = localDate(r.start, tz);
    const had = (await ctx.store.getValue<RanRun[]>(RAN_KEY(date))) ?? [];
    await ctx.store.setValue(RAN_KEY(date), [...had, r].sort((a, b) => a.start - b.start));
  };
  /** Applies one change of a PLC line to the ledger (serially): `f` gets the line's open run and returns the run it ended and the new open one. */
  const updateLine = (line: string, f: (open: OpenRun | undefined) => { closed: RanRun | null; open: OpenRun | undefined }): Promise<void> =>
    (ledger = ledger
      .then(async () => {
        const open = await loadOpen();
        const had = open[line];
        const { closed, open: next } = f(had);
        if (closed) await appendRan(closed);
        if (next) open[line] = next;
        else delete open[line];
        if (had || next) await ctx.store.setValue(OPEN_RUNS_KEY, open);
      })
      .catch((error: unknown) => ctx.log.warn({ line, err: errorMessage(error) }, 'bill: run as it ran not recorded')));
  /** Open runs whose valid-until has passed: the PLC dropped them then. */
  const expireOpen = async (now: number): Promise<void> => {
    for (const [line, o] of Object.entries(await loadOpen())) if (o.until <= now) await updateLine(line, (open) => ({ closed: open && open.until <= now ? closeAt(open, now) : null, open: open && open.until <= now ? undefined : open }));
    await ledger;
  };

  const prices = async (start: number, end: number) => quarterHourPrices(await ctx.store.read(priceSeries, start, end));

  const billOf = async (meter: MeterConfig, start: number, end: number, excess: boolean): Promise<BillPart> => {
    const qh = await readMeterQuarterHours(ctx.store, meter.name, start, end);
    return computeBill(contract, start, end, qh, await prices(start, end), { excess, energyOnly: meter.role === 'line', timezone: tz });
  };

  /** A day's bill as stored when it closed, or undefined while it is open. */
  const storedDay = (meter: string, date: string) => ctx.store.getValue<ClosedBillDay>(closedBillKey(meter, date));

  /** The days of [start, end): closed ones as stored, open ones with the current contract (no excess: monthly). */
  const dayBills = async (meter: MeterConfig, start: number, end: number, qh: Awaited<ReturnType<typeof readMeterQuarterHours>>, pr: ReadonlyMap<number, number>) => {
    const out: Array<{ date: string; part: BillPart; closed: ClosedBillDay | null }> = [];
    for (let date = localDate(start, tz); ; date = addDays(date, 1)) {
      const d = localDayRange(date, tz);
      if (d.start >= end) break;
      const closed = (await storedDay(meter.name, date)) ?? null;
      const part = closed ? closed.part : computeBill(contract, Math.max(start, d.start), Math.min(end, d.end), qh, pr, { energyOnly: meter.role === 'line', timezone: tz });
      out.push({ date, part, closed });
    }
    return out;
  };

  /** Consecutive days billed with the same contract, closed or open, as the payload's billed_with. */
  const billedWith = (days: ReadonlyArray<{ date: string; closed: ClosedBillDay | null }>): BilledWith[] => {
    const out: BilledWith[] = [];
    for (const d of days) {
      const c = d.closed?.contract ?? contract;
      const sha = d.closed?.contract_sha256 ?? contractFingerprint(contract);
      const last = out.at(-1);
      if (last && last.contract_sha256 === sha && last.closed === !!d.closed) {
        last.to_local = d.date;
        last.closed_at = d.closed?.closed_at ?? null;
      } else out.push({ from_local: d.date, to_local: d.date, closed: !!d.closed, closed_at: d.closed?.closed_at ?? null, contract_sha256: sha, contract: c });
    }
    return out;
  };

  const monthPayload = async (meter: MeterConfig, m: string, now: number): Promise<BillPayload> => {
    const r = monthRange(m, tz);
    // closed quarter-hours only: the one in progress is not missing, it is not over yet
    const end = Math.max(r.start, Math.min(r.end, Math.floor(now / QUARTER_HOUR_MS) * QUARTER_HOUR_MS));
    const qh = await readMeterQuarterHours(ctx.store, meter.name, r.start, end);
    const pr = await prices(r.start, end);
    const days = end > r.start ? await dayBills(meter, r.start, end, qh, pr) : [];
    let excess = null;
    let excessContract = contract;
    if (meter.role !== 'line') {
      // a closed month's excess as stored when its last day closed; else with the contract in force now
      const stored = await ctx.store.getValue<ClosedMonthExcess>(closedMonthExcessKey(meter.name, m));
      if (stored) ({ excess, contract: excessContract } = stored);
      else excess = computeBill(contract, r.start, end, qh, pr, { excess: true, timezone: tz }).excess;
    }
    const part = sumDayParts(days.map((d) => d.part), r.start, end, excess, excessContract, meter.role === 'line');
    const projected = end < r.end ? projectMonth(contract, part, r.end, tz) : null;
    let reconciliation: MonthReconciliation | null = null;
    if (meter.role !== 'line') {
      const listed = days.filter((d) => d.part.coverage.measured + d.part.coverage.interpolated > 0);
      const unlisted = days.filter((d) => !listed.includes(d));
      const daysTotal = cents(listed.reduce((s, d) => s + billAmounts(d.part).total_eur, 0));
      const unmeasured = cents(unlisted.reduce((s, d) => s + billAmounts(d.part).total_eur, 0));
      const x = part.excessEur;
      const { taxEur: xTax, vatEur: xVat } = taxesOn(x, excessContract);
      const total = billAmounts(part).total_eur;
      reconciliation = {
        rule: 'total_eur = days_total_eur + unmeasured_days_eur + excess_eur + excess_tax_eur + excess_vat_eur + rounding_eur: each day bill (GET /api/bill/days) has the energy and power terms with their tax and VAT, the excess term is billed per month on the month\'s quarter-hours',
        days_total_eur: daysTotal,
        days: listed.length,
        unmeasured_days_eur: unmeasured,
        unmeasured_days: unlisted.length,
        excess_eur: cents(x),
        excess_tax_eur: cents(xTax),
        excess_vat_eur: cents(xVat),
        rounding_eur: cents(total - daysTotal - unmeasured - cents(x) - cents(xTax) - cents(xVat)),
        total_eur: total,
      };
    }
    return billPayload(part, { meter: meter.name, provenance: meter.provenance, role: meter.role, line: meter.line, kind: 'month', at: now, contract, projected, timezone: tz, billedWith: billedWith(days), reconciliation });
  };

  /**
   * Closes the bills of the days that ended over an hour ago (from the first day the gateway saw, at most 62 a
   * call): each meter's day bill is stored with the contract in force (the savings day's, when that closed first),
   * and a month's excess when its last day closes. Never rewritten (storeOnce).
   */
  const closeBills = async (now: number): Promise<void> => {
    const since = await ctx.store.getValue<string>(SINCE_KEY);
    if (!since) return;
    const open = await ctx.store.getValue<string>(BILL_OPEN_KEY);
    const todayDate = localDate(now, tz);
    for (let date = open && open > since ? open : since, n = 0; date < todayDate && n < 62; date = addDays(date, 1), n++) {
      const d = localDayRange(date, tz);
      if (now < d.end + CLOSE_GRACE_MS) break;
      const saved = await ctx.store.getValue<ClosedDay>(closedDayKey(date));
      const used = saved?.priced_with.contract ?? contract;
      for (const meter of [site, ...lineMeters]) {
        if (await storedDay(meter.name, date)) continue;
        const qh = await readMeterQuarterHours(ctx.store, meter.name, d.start, d.end);
        const part = computeBill(used, d.start, d.end, qh, await prices(d.start, d.end), { energyOnly: meter.role === 'line', timezone: tz });
        await storeOnce(ctx.store, closedBillKey(meter.name, date), closedBillDay(meter.name, date, used, part, now));
      }
      const next = addDays(date, 1);
      if (next.slice(0, 7) !== date.slice(0, 7)) {
        const m = date.slice(0, 7);
        const r = monthRange(m, tz);
        const excess = computeBill(used, r.start, r.end, await readMeterQuarterHours(ctx.store, site.name, r.start, r.end), new Map(), { excess: true, timezone: tz }).excess;
        const rec: ClosedMonthExcess = { v: 1, month: m, meter: site.name, closed_at: formatUtcIso(now), contract: used, contract_sha256: contractFingerprint(used), excess };
        await storeOnce(ctx.store, closedMonthExcessKey(site.name, m), rec);
      }
      await ctx.store.setValue(BILL_OPEN_KEY, next);
    }
  };

  /**
   * Runs of the plan in force that have started by `now`, kept per local day of their (planned) start, with the line
   * at their start; a recorded run the plan now shows interrupted (an operator's stop) gets the interruption as its end.
   */
  const recordRuns = async (now: number): Promise<void> => {
    if (!lastDoc) return;
    const byDay = new Map<string, PlannedRecord[]>();
    for (const r of lastDoc.runs) {
      const start = Date.parse(r.start);
      if (start > now) continue;
      const date = localDate(start, tz);
      const noted = outputs.dryRunFor(r.line) ? 'dry_run' : (lineStates.get(r.line) ?? (plcLines.has(r.line) ? 'no state yet' : 'no PLC link'));
      byDay.set(date, [...(byDay.get(date) ?? []), { process: r.process, line: r.line, batch: r.batch, start, end: Date.parse(r.end), kw: r.kw, noted, ...(r.interrupted ? { interrupted: true } : {}) }]);
    }
    for (const [date, runs] of byDay) {
      if (await ctx.store.getValue(closedDayKey(date))) continue;
      const had = (await ctx.store.getValue<PlannedRecord[]>(RUNS_KEY(date))) ?? [];
      const merged = [...had];
      let changed = false;
      for (const r of runs) {
        const i = merged.findIndex((x) => x.process === r.process && x.start === r.start);
        if (i < 0) {
          const { interrupted: _, ...rest } = r as PlannedRecord & { interrupted?: boolean };
          const seen = firstSeen.get(`${r.process}|${r.batch}|${r.start}`);
          merged.push(seen !== undefined && seen > r.start ? { ...rest, from: seen } : rest);
          changed = true;
        } else if ((r as { interrupted?: boolean }).interrupted && r.end < merged[i]!.end) {
          // The plan cut it (an operator's stop): the run ended there, whatever it was planned to.
          merged[i] = { ...merged[i]!, end: r.end };
          changed = true;
        }
      }
      if (changed) await ctx.store.setValue(RUNS_KEY(date), merged.sort((a, b) => a.start - b.start));
    }
  };

  /**
   * The day's runs as they ran (gateway/bill/ran-runs.ts) and the planned runs left out: null while a run of the day
   * still runs on a PLC line (the day is not over).
   */
  const dayRuns = async (date: string, planned: readonly PlannedRecord[]): Promise<{ runs: Array<Omit<ExecutedRun, 'baselineStart'>>; leftOut: LeftOutRun[] } | null> => {
    if (Object.values(await loadOpen()).some((o) => localDate(o.start, tz) === date)) return null;
    const ran: RanRun[] = plcLines.size ? ((await ctx.store.getValue<RanRun[]>(RAN_KEY(date))) ?? []) : [];
    // A run planned late in the day may really start after midnight: it is credited on that day, not left out here.
    const nextDay = plcLines.size ? ((await ctx.store.getValue<RanRun[]>(RAN_KEY(addDays(date, 1)))) ?? []) : [];
    const held = [...ran, ...nextDay, ...Object.values(await loadOpen())];
    const leftOut: LeftOutRun[] = [];
    const iso = formatUtcIso;
    for (const p of planned) {
      const left = (reason: string) => leftOut.push({ process: p.process, line: p.line, batch: p.batch, start: iso(p.start), end: iso(p.end), reason });
      if (p.noted === 'dry_run') {
        left(`line ${p.line} was in the write-nothing mode (dry run) at the run's start: no command was sent to it`);
        continue;
      }
      if (p.noted !== undefined && plcLines.has(p.line)) {
        if (!held.some((r) => r.line === p.line && r.batch === p.batch)) left(`the PLC of line ${p.line} never verifiably held "run batch ${p.batch}" that day (line state at the run's start: ${p.noted})`);
        continue;
      }
      // A line without a PLC link (commands on MQTT only), or a run recorded before runs were confirmed: the plan's
      // run, from when it was first commanded, to its end or interruption.
      const from = Math.max(p.start, p.from ?? p.start);
      if (from >= p.end) {
        left(`first placed in a plan made at ${iso(from)}, after the run's planned end: its line never got its start`);
        continue;
      }
      ran.push({ process: p.process, line: p.line, batch: p.batch, start: from, end: p.end, kw: p.kw, source: 'line command (not verified)' });
    }
    const c = creditable(ran);
    return { runs: c.runs, leftOut: [...leftOut, ...c.leftOut] };
  };

  /** Closes every day from the first the gateway saw up to the last one that has ended (an hour after its last run). */
  const closeDays = async (now: number): Promise<number> => {
    let since = await ctx.store.getValue<string>(SINCE_KEY);
    if (!since) {
      since = localDate(now, tz);
      await ctx.store.setValue(SINCE_KEY, since);
    }
    let closed = 0;
    const todayDate = localDate(now, tz);
    // From the first day not yet closed, at most 62 days a call (a gateway back after a long stop catches up over a
    // few calls); the cursor moves past each closed day. Counting from `since` instead stopped every day from closing
    // 62 days after the install.
    const open = await ctx.store.getValue<string>(OPEN_KEY);
    const first = open && open > since ? open : since;
    for (let date = first, n = 0; date < todayDate && n < 62; date = addDays(date, 1), n++) {
      if (await ctx.store.getValue(closedDayKey(date))) {
        await ctx.store.setValue(OPEN_KEY, addDays(date, 1));
        continue;
      }
      const { start, end } = localDayRange(date, tz);
      const planned = (await ctx.store.getValue<PlannedRecord[]>(RUNS_KEY(date))) ?? [];
      const ran = await dayRuns(date, planned);
      if (!ran) break;
      const started = ran.runs;
      const lastEnd = Math.max(end, ...started.map((r) => r.end), ...planned.map((r) => r.end));
      if (now < lastEnd + CLOSE_GRACE_MS) break;
      const [h, m] = ctx.config.planner.baselineShift.from.split(':').map(Number) as [number, number];
      const runs = fixedShiftStarts(started, localTimeToUtc(date, h, m, tz), ctx.config.planner.order);
      const until = Math.max(lastEnd, ...runs.map((r) => r.baselineStart + (r.end - r.start)));
      const lineQuarterHours: Record<string, Awaited<ReturnType<typeof readMeterQuarterHours>>> = {};
      for (const lm of lineMeters) lineQuarterHours[lm.line] = await readMeterQuarterHours(ctx.store, lm.name, start, until);
      const day = closeDay({
        date,
        // the contract the day's bill was closed with: bill and savings of a day use the same one
        contract: (await storedDay(site.name, date))?.contract ?? contract,
        pricesEurMwh: await prices(start, until),
        runs,
        leftOut: ran.leftOut,
        // the day, and past midnight as far as a run of the day went on (or the baseline would have)
        siteQuarterHours: await readMeterQuarterHours(ctx.store, site.name, start, until),
        lineQuarterHours,
        closedAt: now,
        timezone: tz,
      });
      const [, isNew] = await storeClosedDay(ctx.store, day);
      await ctx.store.setValue(OPEN_KEY, addDays(date, 1));
      if (isNew) closed++;
    }
    return closed;
  };

  const closedDays = async (from: string, to: string): Promise<ClosedDay[]> => {
    const out: ClosedDay[] = [];
    for (let date = from, n = 0; date < to && n < 800; date = addDays(date, 1), n++) {
      const d = await ctx.store.getValue<ClosedDay>(closedDayKey(date));
      if (d) out.push(d);
    }
    return out;
  };

  const compute = async (): Promise<void> => {
    const now = ctx.clock.now();
    const date = localDate(now, tz);
    const { start } = localDayRange(date, tz);
    const end = Math.max(start, Math.floor(now / QUARTER_HOUR_MS) * QUARTER_HOUR_MS);
    today = billPayload(await billOf(site, start, end, false), { meter: site.name, provenance: site.provenance, role: 'site', kind: 'day', at: now, contract, timezone: tz });
    month = await monthPayload(site, date.slice(0, 7), now);
    lines = [];
    for (const lm of lineMeters) lines.push(await monthPayload(lm, date.slice(0, 7), now));
    await expireOpen(now);
    await recordRuns(now);
    await closeBills(now);
    const closed = await closeDays(now);
    if (closed || !savings.days.length) savings = savingsPayload(await closedDays(addDays(date, -62), date), now);
    await ctx.mqtt.publish(topics.billToday, today, { retain: true });
    await ctx.mqtt.publish(topics.billMonth, month, { retain: true });
    if (closed || savings.days.length) await ctx.mqtt.publish(topics.savings, savings, { retain: true });
    const c = month.coverage;
    // Meter faults are the meters plugin's health; here the figures and how much of them is measured.
    tracker.set('ok', `month to date ${month.terms.total_eur.toFixed(2)} € (${c.measured + c.interpolated}/${c.expected} quarter-hours measured${c.missing ? `, ${c.missing} missing` : ''}); ${savings.total ? (savings.total.saved_eur === null ? `no measured day among ${savings.total.not_measured_days} closed` : `saved ${savings.total.saved_eur.toFixed(2)} € on ${savings.total.measured_days} measured days`) : 'no closed day yet'}`);
  };

  const refresh = async (): Promise<void> => {
    if (stopped) return;
    if (busy) {
      again = true;
      return busy;
    }
    busy = (async () => {
      do {
        again = false;
        try {
          await compute();
        } catch (error) {
          tracker.set('degraded', `bill not computed: ${errorMessage(error)}`);
          ctx.log.warn({ err: errorMessage(error) }, 'bill: computing failed');
        }
      } while (again && !stopped);
    })().finally(() => {
      busy = null;
    });
    return busy;
  };

  return {
    name: 'bill',
    async start() {
      ctx.bus.on('meter.reading', 'bill', (r) => {
        if (r.meter === site.name) power = { kw: r.kw, at: r.at, quality: r.quality };
      });
      ctx.bus.on('meter.quarterHour', 'bill', (q) => {
        if (q.meter === site.name) void refresh();
      });
      ctx.bus.on('plan.updated', 'bill', (e) => {
        lastDoc = e.doc;
        const made = Date.parse(e.doc.created_at);
        if (Number.isFinite(made)) {
          for (const r of e.doc.runs) {
            const key = `${r.process}|${r.batch}|${Date.parse(r.start)}`;
            if (!(firstSeen.get(key)! <= made)) firstSeen.set(key, made);
          }
        }
        if (firstSeen.size > 5000) for (const k of [...firstSeen.keys()].slice(0, firstSeen.size - 5000)) firstSeen.delete(k);
      });
      // The runs as they ran on the PLC lines (gateway/bill/ran-runs.ts).
      ctx.bus.on('line.written', 'bill', (w) => {
        lineStates.set(w.line, 'ok');
        void updateLine(w.line, (open) => onWritten(open, w, processOf));
      });
      ctx.bus.on('line.state', 'bill', (e) => {
        lineStates.set(e.line, e.state);
        // Nothing written (dry run), the PLC falls back (failed), the gateway stops: the run the line held ends now.
        if (e.state === 'dry_run' || e.state === 'failed' || e.state === 'stopped') {
          const now = ctx.clock.now();
          void updateLine(e.line, (open) => ({ closed: open ? closeAt(open, now) : null, open: undefined }));
        }
      });
      tracker.set('starting', `waiting for the first quarter-hour of meter ${site.name}`);
      void refresh();
    },
    async stop() {
      stopped = true;
      ctx.bus.removeOwner('bill');
      await busy;
      await ledger;
    },
    health: () => tracker.get(),
    refresh,
    async summary() {
      const now = ctx.clock.now();
      const period = powerPeriodOf(contract.tariff, now, tz);
      const contracted = contract.contractedKw[period - 1]!;
      // a reading older than 3 polls (on the gateway clock, which the demo accelerates) or 5 minutes is not "now"
      const maxAge = Math.max(5 * 60_000, 3 * site.pollMs * (ctx.clock.rate ?? 1));
      const fresh = power && now - power.at <= maxAge ? power : null;
      return {
        v: 1,
        at: formatUtcIso(now),
        meter: site.name,
        provenance: site.provenance,
        tariff: contract.tariff,
        energy_pricing: 'fixed' in contract.energy ? 'fixed' : 'indexed',
        contracted_kw: contract.contractedKw,
        power_now: fresh ? { kw: fresh.kw, at: formatUtcIso(fresh.at), period, contracted_kw: contracted, ratio: fresh.kw === null ? null : Math.round((fresh.kw / contracted) * 1000) / 1000, quality: fresh.quality } : null,
        today,
        month,
        lines,
        savings,
      };
    },
    async days(from, to) {
      const out: BillPayload[] = [];
      const now = ctx.clock.now();
      for (let date = from, n = 0; date < to && n < 400; date = addDays(date, 1), n++) {
        const { start, end } = localDayRange(date, tz);
        if (start >= now) break;
        const e = Math.min(end, Math.floor(now / QUARTER_HOUR_MS) * QUARTER_HOUR_MS);
        const closed = await storedDay(site.name, date);
        const part = closed ? closed.part : await billOf(site, start, e, false);
        // A day the site meter never saw (before the gateway ran, a long outage) has no bill, as a month (below):
        // never power, tax and VAT on 0 kWh in the list or its CSV.
        if (part.coverage.measured + part.coverage.interpolated === 0) continue;
        out.push(billPayload(part, { meter: site.name, provenance: site.provenance, role: 'site', kind: 'day', at: now, contract: closed?.contract ?? contract, timezone: tz, billedWith: billedWith([{ date, closed: closed ?? null }]) }));
      }
      return out;
    },
    async month(m) {
      // A month the site meter never saw has no bill: neither "measured" at 0 € nor power and VAT on 0 kWh.
      const now = ctx.clock.now();
      const noBill = (why: string) => Object.assign(new Error(`no bill for ${m}: ${why}`), { statusCode: 404 });
      if (monthRange(m, tz).start >= now) throw noBill(`the month has not started (today is ${localDate(now, tz)} in ${tz})`);
      const b = await monthPayload(site, m, now);
      if (b.coverage.measured + b.coverage.interpolated === 0) throw noBill(`the site meter ${JSON.stringify(site.name)} has no quarter-hour in that month (${b.coverage.expected} expected so far), so nothing was measured`);
      return b;
    },
    closedDays,
  };
}

export const billPlugin: PluginFactory = {
  name: 'bill',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => {
    if (!config.energy.contract) return { enabled: false, reason: 'no energy.contract: the bill needs the supply contract (README "The contract")' };
    if (!config.energy.meters.some((m) => m.role === 'site')) return { enabled: false, reason: 'no site meter in energy.meters: the bill is measured at the supply point (README "Connecting a meter")', misconfigured: true };
    return true;
  },
  create: createBill,
};

