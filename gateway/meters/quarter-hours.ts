import { QUARTER_HOUR_MS } from '../series/slots.js';
import { DAY_MS, addDays, localDate } from '../time/tz.js';

/** A meter measures the whole site (the supply point the bill is for) or one production line (a submeter). */
export type MeterRole = 'site' | 'line';

/**
 * How a quarter-hour's energy is known: `measured` from counter readings around both of its ends (polls no further
 * apart than the meter's gap threshold); `interpolated` when the counter's increase across a short gap (or a short
 * frozen spell) was spread over the gap in proportion to time (the total is measured, its timing is not);
 * `missing` when it is not known (a long gap, a counter reset, a rollback, an impossible jump, the gateway not yet
 * running): kWh null, never billed as measured.
 */
export type QuarterHourQuality = 'measured' | 'interpolated' | 'missing';

/** One local quarter-hour of one meter. */
export interface MeterQuarterHour {
  meter: string;
  role: MeterRole;
  /** The production line a `line` meter measures. */
  line?: string;
  /** [start, end) in UTC ms; always 15 minutes, on the local (Europe/Madrid) quarter-hour grid. */
  start: number;
  end: number;
  /** Active energy imported in the quarter-hour, kWh; null when missing. */
  kwh: number | null;
  /** Average active power, kW = 4 × kWh (the Pd of the excess-power formula); null when missing. */
  avgKw: number | null;
  /** Reactive energy (inductive, imported) in the quarter-hour, kvarh, for meters whose profile has it. */
  kvarh?: number | null;
  /** Access-tariff period 1..6 of the quarter-hour (gateway/contract/calendar.ts periodOf); null if not known yet. */
  period: number | null;
  quality: QuarterHourQuality;
}

/** The part of the store quarter-hours need: its key-value records (SeriesStore getValue/setValue/deleteValue). */
export interface QuarterHourStore {
  getValue<T>(name: string): Promise<T | undefined>;
  setValue(name: string, value: unknown): Promise<void>;
  deleteValue(name: string): Promise<void>;
}

/** Stored row: [start, kwh, kvarh, period, quality code]; the day's record holds the meter's role and line once. */
type Row = [number, number | null, number | null | undefined, number | null, 0 | 1 | 2];
interface DayRecord {
  v: 1;
  role: MeterRole;
  line?: string;
  rows: Row[];
}
interface MeterIndex {
  /** First local day with a record (retention deletes from here). */
  first: string;
}

const QUALITY: QuarterHourQuality[] = ['measured', 'interpolated', 'missing'];
const METER_RE = /^[a-z0-9][a-z0-9_-]{0,40}$/;

/** Key of one meter's local day: `meterqh.<meter>.<YYYY-MM-DD>` (Europe/Madrid). */
export const dayKey = (meter: string, date: string): string => `meterqh.${meter}.${date}`;
const indexKey = (meter: string): string => `meterqh.${meter}`;

function checkMeter(meter: string): void {
  if (!METER_RE.test(meter)) throw new Error(`invalid meter name ${JSON.stringify(meter)} (lowercase letters, digits, _ and -)`);
}

/** UTC start of the local quarter-hour containing `ms` (Madrid's offsets are whole hours, so the UTC and local grids coincide). */
export function quarterHourStart(ms: number): number {
  return Math.floor(ms / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
}

/** Read-modify-write of one day record at a time per store, so concurrent writers never lose a row. */
const queues = new WeakMap<object, Map<string, Promise<void>>>();
function serialized(store: object, key: string, work: () => Promise<void>): Promise<void> {
  const map = queues.get(store) ?? new Map<string, Promise<void>>();
  queues.set(store, map);
  const run = (map.get(key) ?? Promise.resolve()).then(work, work);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  map.set(key, tail);
  void tail.then(() => {
    if (map.get(key) === tail) map.delete(key);
  });
  return run;
}

/**
 * Stores quarter-hours (any meters, any days): one record per meter and local day, rows keyed by their start; a row
 * already stored for the same meter and start is replaced. Throws on a row that is not a 15-minute slot on the
 * quarter-hour grid, a negative or non-finite kWh, a missing row with a kWh or a measured one without.
 * Resolves once the store has the records (fsynced when the store syncs).
 */
export async function writeMeterQuarterHours(store: QuarterHourStore, rows: readonly MeterQuarterHour[]): Promise<void> {
  const groups = new Map<string, { meter: string; date: string; rows: MeterQuarterHour[] }>();
  for (const r of rows) {
    checkMeter(r.meter);
    if (r.end - r.start !== QUARTER_HOUR_MS || r.start % QUARTER_HOUR_MS !== 0) throw new Error(`meter ${r.meter}: quarter-hour ${new Date(r.start).toISOString()} is not a 15-minute slot on the quarter-hour grid`);
    if (r.kwh !== null && !(Number.isFinite(r.kwh) && r.kwh >= 0)) throw new Error(`meter ${r.meter}: quarter-hour ${new Date(r.start).toISOString()} has an invalid kWh ${r.kwh}`);
    if ((r.kwh === null) !== (r.quality === 'missing')) throw new Error(`meter ${r.meter}: quarter-hour ${new Date(r.start).toISOString()} is ${r.quality} with kWh ${r.kwh}`);
    const date = localDate(r.start);
    const key = dayKey(r.meter, date);
    const g = groups.get(key) ?? { meter: r.meter, date, rows: [] };
    g.rows.push(r);
    groups.set(key, g);
  }
  for (const [key, g] of groups) {
    await serialized(store, key, async () => {
      const old = await store.getValue<DayRecord>(key);
      const byStart = new Map<number, Row>((old?.rows ?? []).map((row) => [row[0], row]));
      const first = g.rows[0]!;
      for (const r of g.rows) byStart.set(r.start, [r.start, r.kwh, r.kvarh, r.period, QUALITY.indexOf(r.quality) as 0 | 1 | 2]);
      const record: DayRecord = { v: 1, role: first.role, ...(first.line ? { line: first.line } : {}), rows: [...byStart.values()].sort((a, b) => a[0] - b[0]) };
      await store.setValue(key, record);
      const index = await store.getValue<MeterIndex>(indexKey(g.meter));
      if (!index || g.date < index.first) await store.setValue(indexKey(g.meter), { first: g.date } satisfies MeterIndex);
    });
  }
}

/** A meter's stored quarter-hours starting in [fromMs, toMs), by start. Quarter-hours never stored are absent (not invented). */
export async function readMeterQuarterHours(store: QuarterHourStore, meter: string, fromMs: number, toMs: number): Promise<MeterQuarterHour[]> {
  checkMeter(meter);
  const out: MeterQuarterHour[] = [];
  if (!(toMs > fromMs)) return out;
  const last = localDate(toMs - 1);
  for (let date = localDate(fromMs); date <= last; date = addDays(date, 1)) {
    const record = await store.getValue<DayRecord>(dayKey(meter, date));
    if (!record) continue;
    for (const [start, kwh, kvarh, period, q] of record.rows) {
      if (start < fromMs || start >= toMs) continue;
      out.push({
        meter,
        role: record.role,
        ...(record.line ? { line: record.line } : {}),
        start,
        end: start + QUARTER_HOUR_MS,
        kwh,
        avgKw: kwh === null ? null : round6(4 * kwh),
        ...(kvarh !== undefined ? { kvarh } : {}),
        period,
        quality: QUALITY[q]!,
      });
    }
  }
  return out;
}

/** Deletes a meter's days that ended more than `keepDays` (at least 400) before `now`; returns how many days went. */
export async function pruneMeterQuarterHours(store: QuarterHourStore, meter: string, now: number, keepDays: number): Promise<number> {
  checkMeter(meter);
  if (!(keepDays >= 400)) throw new Error(`meter quarter-hours are kept at least 400 days, not ${keepDays}`);
  const index = await store.getValue<MeterIndex>(indexKey(meter));
  if (!index) return 0;
  const cutoff = localDate(now - keepDays * DAY_MS);
  let deleted = 0;
  let date = index.first;
  for (; date < cutoff; date = addDays(date, 1)) {
    if (await store.getValue(dayKey(meter, date))) {
      await store.deleteValue(dayKey(meter, date));
      deleted++;
    }
  }
  if (date !== index.first) await store.setValue(indexKey(meter), { first: date } satisfies MeterIndex);
  return deleted;
}

export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
