/**
 * The `bill` command (issue #21 item 6): the monthly bill of a supply point from a quarter-hour readings file and
 * OMIE price files, for a plant's accountant and for offline checks. Reads and checks the readings here; prices
 * come as slots (models/eval/datasets.ts loadPriceSlots reads the OMIE files) and are expanded to quarter-hours.
 *
 * Readings: a header `datetime_utc,kwh[,kvarh]`, then one row per quarter-hour, the energy imported in
 * [t, t + 15 min). A bad file is refused with one sentence naming the row (InputError → exit 2).
 */
import { InputError } from '../config/cli-input.js';
import type { Contract } from '../contract/contract.js';
import { QUARTER_HOUR_MS } from '../series/slots.js';
import { formatLocalIso, formatUtcIso, localDayRange, parseInstant, PLANT_TZ } from '../time/tz.js';
import { errorMessage } from '../util/errors.js';
import { quarterHourPrices } from './prices.js';
import { billAmounts, computeBill, monthRange, monthsOf, sumAmounts, type BillAmounts, type BillPart, type BillQuarterHour } from './bill.js';
import { centsSplit } from './money.js';

export interface ReadingRow extends BillQuarterHour {
  kwh: number;
  kvarh?: number;
  /** 1-based line number in the file (the header is row 1) */
  row: number;
}

/** A number as a meter export writes it: decimal digits, an optional sign and decimal point (no hex, exponent or Infinity). */
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;

/** A quarter-hour above this many times the largest contracted power is not a reading of this supply (a file in Wh, a typo). */
export const PLAUSIBLE_CONTRACT_FACTOR = 10;

/**
 * Refuses (InputError, one sentence naming the row) a reading of [start, end) whose average power, 4 × kWh, is above
 * PLAUSIBLE_CONTRACT_FACTOR × the contract's largest contracted power: the supply could not have drawn it (a
 * readings file in Wh bills 1000 times the energy).
 */
export function checkPlausibleReadings(contract: Contract, readings: readonly ReadingRow[], start: number, end: number, name = 'file'): void {
  const maxKw = Math.max(...contract.contractedKw);
  const limitKwh = (PLAUSIBLE_CONTRACT_FACTOR * maxKw) / 4;
  const bad = readings.find((r) => r.start >= start && r.start < end && r.kwh > limitKwh);
  if (bad) throw new InputError(`--readings ${name} row ${bad.row}: ${bad.kwh} kWh in the quarter-hour ${formatUtcIso(bad.start)} is an average of ${Number((4 * bad.kwh).toFixed(3))} kW, more than ${PLAUSIBLE_CONTRACT_FACTOR} × the largest contracted power (${maxKw} kW), so it cannot be this supply's energy in kWh (is the file in Wh?)`);
}

/**
 * Refuses a PVPC price file given as --prices (one sentence): PVPC is the regulated retail price, tolls and charges
 * included, which the indexed bill adds to OMIE again. The evidence: a header column or the file name saying PVPC.
 */
export function checkNotPvpc(path: string, header: string): void {
  const column = header.replace(/^\uFEFF/, '').split(',').map((c) => c.trim()).find((c) => /pvpc/i.test(c));
  const byName = /pvpc/i.test(path.split(/[\\/]/).pop() ?? '');
  if (column || byName) throw new InputError(`--prices ${path}: is a PVPC price file (${column ? `its column ${column}` : 'its name'}), which already includes the tolls and charges the indexed bill adds to the price: pass OMIE day-ahead prices (price_es_eur_mwh) instead`);
}

/** Parses and checks a readings file's text: header, timestamps on the quarter-hour grid, sorted, no duplicate, no missing quarter, kWh ≥ 0. */
export function parseReadings(text: string, name: string): ReadingRow[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().replace(/^\uFEFF/, '');
  const cols = header.split(',').map((c) => c.trim());
  if (cols[0] !== 'datetime_utc' || cols[1] !== 'kwh' || (cols.length > 2 && cols[2] !== 'kvarh') || cols.length > 3) {
    throw new InputError(`--readings ${name} row 1: expected the header datetime_utc,kwh[,kvarh], got ${JSON.stringify(header.slice(0, 60))}`);
  }
  const out: ReadingRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const row = i + 1;
    const at = `--readings ${name} row ${row}`;
    const f = line.split(',').map((x) => x.trim());
    if (f.length !== cols.length) throw new InputError(`${at}: expected ${cols.length} fields (${cols.join(',')}), got ${f.length}`);
    // The project's one parser of offset timestamps (gateway/time/tz.ts): Z or an offset, a real calendar date.
    let t: number;
    try {
      t = parseInstant(f[0]);
    } catch (error) {
      throw new InputError(`${at}: ${errorMessage(error)} (datetime_utc, a UTC timestamp like 2025-01-15T08:15:00Z)`);
    }
    if (t % QUARTER_HOUR_MS !== 0) throw new InputError(`${at}: ${f[0]} is not the start of a quarter-hour (:00, :15, :30 or :45)`);
    // Decimal digits only: Number() would also take 0x10 (16), 1e6, Infinity or a blank as numbers.
    const kwh = DECIMAL.test(f[1]!) ? Number(f[1]) : NaN;
    if (!Number.isFinite(kwh)) throw new InputError(`${at}: kWh ${JSON.stringify(f[1])} is not a number written in decimal (digits with an optional decimal point, e.g. 12.5)`);
    if (kwh < 0) throw new InputError(`${at}: negative kWh ${f[1]} (the file must hold imported energy, which never decreases)`);
    let kvarh: number | undefined;
    if (cols.length === 3 && f[2] !== '') {
      kvarh = DECIMAL.test(f[2]!) ? Number(f[2]) : NaN;
      if (!Number.isFinite(kvarh) || kvarh < 0) throw new InputError(`${at}: kvarh ${JSON.stringify(f[2])} is not a number ≥ 0 written in decimal`);
    }
    out.push({ start: t, kwh, ...(kvarh !== undefined ? { kvarh } : {}), quality: 'measured', row });
  }
  // Order first, over the whole file, then gaps: two rows swapped are "unsorted" (naming the rows), never a
  // "missing" quarter-hour that is in fact a few rows further down.
  for (let i = 1; i < out.length; i++) {
    const prev = out[i - 1]!;
    const r = out[i]!;
    const at = `--readings ${name} row ${r.row}`;
    if (r.start === prev.start) throw new InputError(`${at}: ${formatUtcIso(r.start)} duplicates row ${prev.row}`);
    if (r.start < prev.start) throw new InputError(`${at}: ${formatUtcIso(r.start)} comes before row ${prev.row} (${formatUtcIso(prev.start)}); rows must be sorted by time`);
  }
  for (let i = 1; i < out.length; i++) {
    const prev = out[i - 1]!;
    const r = out[i]!;
    if (r.start > prev.start + QUARTER_HOUR_MS) {
      const gap = (r.start - prev.start) / QUARTER_HOUR_MS - 1;
      throw new InputError(`--readings ${name} row ${r.row}: ${formatUtcIso(r.start)} follows ${formatUtcIso(prev.start)} (row ${prev.row}), so ${gap} quarter-hour${gap > 1 ? 's are' : ' is'} missing from ${formatUtcIso(prev.start + QUARTER_HOUR_MS)}`);
    }
  }
  if (!out.length) throw new InputError(`--readings ${name}: no rows after the header`);
  return out;
}

/**
 * The report: one line per local calendar month touching [from, to) (local dates, `to` excluded), each followed by
 * one indented `excess P<n> …` line per period with an excess (excessLines), then `total:` with the sums of the
 * month lines. Throws InputError when the readings or (indexed contracts) the prices do not
 * cover the range.
 */
export function billReport(contract: Contract, readings: readonly ReadingRow[], pricesEurMwh: ReadonlyMap<number, number>, from: string, to: string, name = 'file', timezone = PLANT_TZ): string {
  const start = localDayRange(from, timezone).start;
  const end = localDayRange(to, timezone).start;
  const first = readings[0]!;
  const last = readings[readings.length - 1]!;
  if (first.start > start || last.start + QUARTER_HOUR_MS < end) {
    throw new InputError(`--readings ${name} covers ${formatUtcIso(first.start)} (row ${first.row}) to ${formatUtcIso(last.start + QUARTER_HOUR_MS)} (row ${last.row}), not the whole range --from ${from} --to ${to} (${formatUtcIso(start)} to ${formatUtcIso(end)})`);
  }
  checkPlausibleReadings(contract, readings, start, end, name);
  if (!('fixed' in contract.energy)) {
    for (const r of readings) {
      if (r.start < start || r.start >= end) continue;
      if (!pricesEurMwh.has(r.start)) throw new InputError(`--prices have no price for the quarter-hour ${formatUtcIso(r.start)} (--readings row ${r.row}): the price files do not cover the range`);
    }
  }
  const lines: string[] = [];
  const months: BillAmounts[] = [];
  for (const month of monthsOf(start, end, timezone)) {
    const m = monthRange(month, timezone);
    const part = computeBill(contract, Math.max(start, m.start), Math.min(end, m.end), readings, pricesEurMwh, { excess: true, timezone });
    const amounts = billAmounts(part);
    months.push(amounts);
    lines.push(`month=${month} ${formatAmounts(amounts)}`);
    lines.push(...excessLines(contract, part, amounts.excess_eur, timezone));
  }
  lines.push(`total: ${formatAmounts(sumAmounts(months))}`);
  return lines.join('\n');
}

const kwFig = (x: number) => String(Number(x.toFixed(3)));

/**
 * The excess term explained, one line per period that has one (its € split to the cent so the lines add up to the
 * month's excess_eur), e.g.
 *   `  excess P1 maximetro: Pmax=46 kW at 2026-01-07T10:00:00+01:00 over Pc=40 kW: 2 × 6 kW × tep 1.4064 €/kW × 31 days / 30 = 17.44 €`
 *   `  excess P1 quarter-hour: 1 quarter-hour above Pc=40 kW (Pmax=46 kW at …): Kp 1 × tep 1.4064 €/kW × sqrt(36 kW²) = 8.44 €`
 */
export function excessLines(contract: Contract, part: BillPart, excessEur: number, timezone = PLANT_TZ): string[] {
  const x = part.excess;
  if (!x || !x.metering) return [];
  const split = centsSplit(x.periods.map((p) => p.eur), excessEur);
  const out: string[] = [];
  x.periods.forEach((p, i) => {
    if (!(p.eur > 0) || p.maxKw === null || p.maxAt === null) return;
    const at = formatLocalIso(p.maxAt, timezone);
    const tep = `tep ${contract.tepEurKw} €/kW`;
    if (x.metering === 'maximetro') {
      out.push(`  excess P${p.period} maximetro: Pmax=${kwFig(p.maxKw)} kW at ${at} over Pc=${kwFig(p.contractedKw)} kW: 2 × ${kwFig(p.maxKw - p.contractedKw)} kW × ${tep} × ${Number((x.days ?? 0).toFixed(4))} days / 30 = ${split[i]!.toFixed(2)} €`);
    } else {
      out.push(`  excess P${p.period} quarter-hour: ${p.quarterHoursAbove} quarter-hour${p.quarterHoursAbove === 1 ? '' : 's'} above Pc=${kwFig(p.contractedKw)} kW (Pmax=${kwFig(p.maxKw)} kW at ${at}): Kp ${p.kp} × ${tep} × sqrt(${kwFig(p.sumSquaresKw2)} kW²) = ${split[i]!.toFixed(2)} €`);
    }
  });
  return out;
}

export function formatAmounts(a: BillAmounts): string {
  return `energy_kwh=${a.energy_kwh.toFixed(3)} energy_eur=${a.energy_eur.toFixed(2)} power_eur=${a.power_eur.toFixed(2)} excess_eur=${a.excess_eur.toFixed(2)} tax_eur=${a.tax_eur.toFixed(2)} vat_eur=${a.vat_eur.toFixed(2)} total_eur=${a.total_eur.toFixed(2)}`;
}

/**
 * The whole command: `choco-edge bill --readings FILE.csv[.gz] --prices CSV[.gz][,CSV…] --from DATE --to DATE`.
 * `loadPrices` reads the OMIE files as slots (main passes models/eval/datasets.ts loadPriceSlots, the loader of
 * eval and simulate); its failures become one-sentence InputErrors.
 */
export function billCommand(
  contract: Contract | undefined,
  options: { readings: string; prices: string; from: string; to: string },
  readText: (path: string, what: string) => string,
  loadPrices: (paths: string[]) => Array<{ start: number; end: number; value: number }>,
): string {
  if (!contract) throw new InputError('the configuration has no energy.contract: the bill needs the supply contract (README "The contract"); pass it with --config FILE');
  const readings = parseReadings(readText(options.readings, '--readings'), options.readings);
  const paths = options.prices.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const path of paths) checkNotPvpc(path, readText(path, '--prices').split('\n', 1)[0] ?? '');
  let prices: Map<number, number>;
  try {
    prices = quarterHourPrices(loadPrices(paths));
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`--prices ${paths.join(',')}: ${(error as Error).message}`);
  }
  return billReport(contract, readings, prices, options.from, options.to, options.readings);
}
