import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Level } from 'level';
import { levelDbCause } from './integrity.js';

/**
 * What makes the store's check at open cost what was written since the last verification, not what the store holds
 * (issue 24): the key space is cut into ranges — a series' slots (`s!<series>!`) and a device's raw readings
 * (`r!<device>!`) per UTC month of their start, every other prefix (`m!` series metadata, `k!` values, `o!` outbox,
 * `y!` readings layouts) as one range — and each range has a summary: its record count and a hash (SHA-1, base64,
 * 16 characters) of its keys and stored values in key order.
 *
 * - A range becomes *pending* before the first write or delete that touches it is handed to LevelDB (the file below is
 *   rewritten then, once per range, not per write); a range stays pending until a full verification has read it.
 * - At a clean close the summaries of the pending ranges are computed again, so the next open compares them exactly.
 * - At open only the pending ranges are read (every key and value, so LevelDB reads their blocks) and compared; the
 *   ranges verified before are taken at their summaries. Anything wrong (a read error, a range that differs) makes the
 *   open read everything, as the check always did.
 * - `verifyAll` (run in the background after open, then periodically) reads every range from one snapshot, compares
 *   the ranges not written since the last verification with their summaries — a range that lost records, changed or
 *   vanished is a loss — and makes the summaries of the others current: the "verified up to" watermark.
 *
 * Kept in `CHOCO-EDGE-VERIFIED.json` next to LevelDB's files (which LevelDB ignores); a missing or unreadable file
 * only costs one full read at the next open. Sizes: about 12 ranges per series per year.
 */
export const LEDGER_FILE = 'CHOCO-EDGE-VERIFIED.json';
const LEDGER_FORMAT = 'choco-edge-verified';

export interface RangeSummary {
  /** Records in the range. */
  n: number;
  /** SHA-1 (base64, first 16 characters) of `key \0 value \n` for every record, in key order. */
  h: string;
}

interface LedgerFile {
  format: typeof LEDGER_FORMAT;
  /** When the last full verification ended (ISO), null before the first one. */
  verifiedAt: string | null;
  summaries: Record<string, RangeSummary>;
  /** Ranges written since the last full verification read them. */
  pending: string[];
  /** Set only by a clean close: the marker's `countedAt` of that close, which must match for the open to trust the summaries exactly. */
  closedAt?: string;
}

type Db = Level<string, unknown>;
type Op = { type: 'put' | 'del'; key: string };

const MONTHLY = /^[sr]!/;
const monthCache = { start: 0, end: -1, label: '' };

/** `YYYY-MM` (UTC) of a time in ms. */
function monthOf(t: number): string {
  if (t >= monthCache.start && t < monthCache.end) return monthCache.label;
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  monthCache.start = Date.UTC(y, m, 1);
  monthCache.end = Date.UTC(y, m + 1, 1);
  monthCache.label = `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`;
  return monthCache.label;
}

/** The range a key belongs to: `s!<series>!YYYY-MM`, `r!<device>!YYYY-MM`, else its prefix up to the first `!`. */
export function rangeOf(key: string): string {
  if (MONTHLY.test(key)) {
    const bang = key.lastIndexOf('!');
    const t = Number(key.slice(bang + 1));
    if (bang > 2 && Number.isFinite(t) && t >= 0) return `${key.slice(0, bang + 1)}${monthOf(t)}`;
  }
  const i = key.indexOf('!');
  return i >= 0 ? key.slice(0, i + 1) : key;
}

/** LevelDB bounds of a range (see rangeOf). */
export function rangeBounds(range: string): { gte: string; lt?: string; lte?: string } {
  const month = /^([sr]!.+!)(\d{4})-(\d{2})$/.exec(range);
  if (month) {
    const y = Number(month[2]);
    const m = Number(month[3]) - 1;
    const pad = (t: number) => String(t).padStart(15, '0');
    return { gte: `${month[1]}${pad(Date.UTC(y, m, 1))}`, lt: `${month[1]}${pad(Date.UTC(y, m + 1, 1))}` };
  }
  if (range.endsWith('!')) return { gte: range, lt: `${range.slice(0, -1)}"` };
  return { gte: range, lte: range };
}

/** Reads a range (or all, `undefined`) in key order, summarising each range met; throws LevelDB's error. */
async function summarise(db: Db, bounds: { gte?: string; lt?: string; lte?: string } = {}, onChunk?: () => Promise<void>): Promise<Map<string, RangeSummary>> {
  const out = new Map<string, RangeSummary>();
  const it = db.iterator({ ...bounds, keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as { nextv(n: number): Promise<Array<[string, string]>>; close(): Promise<void> };
  let range = '';
  let n = 0;
  let hash = createHash('sha1');
  const flush = () => {
    if (n > 0) out.set(range, { n, h: hash.digest('base64').slice(0, 16) });
    n = 0;
    hash = createHash('sha1');
  };
  try {
    for (;;) {
      const entries = await it.nextv(1000);
      if (!entries.length) break;
      let text = '';
      for (const [key, value] of entries) {
        const r = rangeOf(key);
        if (r !== range) {
          if (text) hash.update(text);
          text = '';
          flush();
          range = r;
        }
        text += `${key}\0${value}\n`;
        n++;
      }
      if (text) hash.update(text);
      await onChunk?.();
    }
    flush();
  } finally {
    await it.close().catch(() => undefined);
  }
  return out;
}

/** What the open's check of the pending ranges found. */
export interface PendingCheck {
  /** Records: the verified ranges at their summaries plus the pending ranges counted now; null when a read failed. */
  records: number | null;
  readError?: string;
  /** Pending ranges whose count or hash differs from the summary taken at the last clean close. */
  changed: string[];
  /** Ranges read at this open, and their records. */
  checkedRanges: number;
  checkedRecords: number;
}

/** What a full verification found: losses as sentences (empty when none), and what it read. */
export interface Verification {
  losses: string[];
  ranges: number;
  records: number;
  readError?: string;
  at: string;
}

export class VerifiedRanges {
  private summaries = new Map<string, RangeSummary>();
  /** Pending range → the verification generation in which it was last written. */
  private readonly pending = new Map<string, number>();
  private generation = 0;
  private verifiedAt: string | null = null;
  /** The clean close this file was written by (its marker's `countedAt`), if it was. */
  closedAt: string | null = null;
  private running?: Promise<Verification>;
  private stopped = false;

  private constructor(
    readonly dir: string,
    /** True when the file was there and readable: the open may check only the pending ranges. */
    readonly loaded: boolean,
  ) {}

  /** The ledger of `dir`; `loaded` false when it is missing or unreadable (the open then reads everything). */
  static load(dir: string): VerifiedRanges {
    const file = join(dir, LEDGER_FILE);
    try {
      if (!existsSync(file)) return new VerifiedRanges(dir, false);
      const data = JSON.parse(readFileSync(file, 'utf8')) as LedgerFile;
      if (data?.format !== LEDGER_FORMAT || typeof data.summaries !== 'object' || !Array.isArray(data.pending)) return new VerifiedRanges(dir, false);
      const ledger = new VerifiedRanges(dir, true);
      ledger.summaries = new Map(Object.entries(data.summaries));
      for (const r of data.pending) ledger.pending.set(r, 0);
      ledger.verifiedAt = data.verifiedAt;
      ledger.closedAt = data.closedAt ?? null;
      return ledger;
    } catch {
      return new VerifiedRanges(dir, false);
    }
  }

  /** Removes the file (a repair rewrote the store: the next open reads everything and starts a new one). */
  static forget(dir: string): void {
    rmSync(join(dir, LEDGER_FILE), { force: true });
  }

  get pendingRanges(): number {
    return this.pending.size;
  }

  get lastVerifiedAt(): string | null {
    return this.verifiedAt;
  }

  /**
   * Marks the ranges of every write and delete pending before LevelDB sees it, and again once it has run (so a
   * verification that started meanwhile does not take a range it did not see whole as verified).
   */
  track(db: Db): void {
    const batch = db.batch.bind(db) as (ops: Op[], options?: unknown) => Promise<void>;
    const put = db.put.bind(db) as (key: string, value: unknown, options?: unknown) => Promise<void>;
    const del = db.del.bind(db) as (key: string, options?: unknown) => Promise<void>;
    const around = async <T>(keys: string[], work: () => Promise<T>): Promise<T> => {
      this.touch(keys);
      try {
        return await work();
      } finally {
        this.touch(keys);
      }
    };
    (db as unknown as { batch: unknown }).batch = (ops: Op[], options?: unknown) => (Array.isArray(ops) ? around(ops.map((o) => o.key), () => batch(ops, options)) : batch(ops, options));
    (db as unknown as { put: unknown }).put = (key: string, value: unknown, options?: unknown) => around([key], () => put(key, value, options));
    (db as unknown as { del: unknown }).del = (key: string, options?: unknown) => around([key], () => del(key, options));
  }

  private touch(keys: string[]): void {
    let added = false;
    let last = '';
    for (const key of keys) {
      const r = rangeOf(key);
      if (r === last) continue;
      last = r;
      if (!this.pending.has(r)) added = true;
      this.pending.set(r, this.generation);
    }
    // On disk before the write: after a crash, the next open knows which ranges to read.
    if (added) this.save();
  }

  /** Reads every pending range; compares it with its summary when `exact` (the last stop was a clean close). */
  async checkPending(db: Db, exact: boolean): Promise<PendingCheck> {
    let records = 0;
    let checkedRecords = 0;
    const changed: string[] = [];
    for (const [r, s] of this.summaries) if (!this.pending.has(r)) records += s.n;
    try {
      for (const r of this.pending.keys()) {
        const now = (await summarise(db, rangeBounds(r))).get(r) ?? { n: 0, h: '' };
        records += now.n;
        checkedRecords += now.n;
        const before = this.summaries.get(r);
        if (exact && (before ? before.n !== now.n || before.h !== now.h : now.n > 0)) changed.push(`${r}: ${before ? `${before.n} records at the last clean close, ${now.n} now${before.n === now.n ? ' (contents changed)' : ''}` : `${now.n} records not summarised at the last clean close`}`);
      }
    } catch (error) {
      return { records: null, readError: levelDbCause(error), changed, checkedRanges: this.pending.size, checkedRecords };
    }
    return { records, changed, checkedRanges: this.pending.size, checkedRecords };
  }

  /** Records now: the verified ranges at their summaries, the pending ones counted (keys only). For the count checkpoint. */
  async count(db: Db): Promise<{ records: number | null; readError?: string }> {
    let records = 0;
    for (const [r, s] of this.summaries) if (!this.pending.has(r)) records += s.n;
    try {
      for (const r of [...this.pending.keys()]) records += (await db.keys(rangeBounds(r)).all()).length;
      return { records };
    } catch (error) {
      return { records: null, readError: levelDbCause(error) };
    }
  }

  /**
   * After a full read at open: every range summarised from it, nothing pending (it was all just read). A read error
   * leaves no file, so the next open reads everything again.
   */
  async rebuild(db: Db): Promise<{ records: number | null; readError?: string }> {
    const generation = this.generation++;
    try {
      const all = await summarise(db);
      this.summaries = all;
      for (const [r, g] of [...this.pending]) if (g <= generation) this.pending.delete(r);
      this.verifiedAt = new Date().toISOString();
      this.save();
      return { records: [...all.values()].reduce((a, s) => a + s.n, 0) };
    } catch (error) {
      VerifiedRanges.forget(this.dir);
      return { records: null, readError: levelDbCause(error) };
    }
  }

  /** At a clean close (no write in flight): the summaries of the pending ranges, for the next open to compare. False if a read failed. */
  async summarisePending(db: Db): Promise<boolean> {
    try {
      for (const r of this.pending.keys()) {
        const s = (await summarise(db, rangeBounds(r))).get(r);
        if (s) this.summaries.set(r, s);
        else this.summaries.delete(r);
      }
    } catch {
      return false;
    }
    return true;
  }

  /** Sum of the summaries (exact after summarisePending). */
  get records(): number {
    let n = 0;
    for (const s of this.summaries.values()) n += s.n;
    return n;
  }

  /**
   * Reads every record from one snapshot (`between` runs after each 1,000, to let other work run) and compares the
   * ranges verified before and not written since with their summaries. One at a time; a second call joins the first.
   */
  verifyAll(db: Db, between?: () => Promise<void>): Promise<Verification> {
    this.running ??= this.doVerify(db, between).finally(() => (this.running = undefined));
    return this.running;
  }

  private async doVerify(db: Db, between?: () => Promise<void>): Promise<Verification> {
    const generation = this.generation++;
    const at = () => new Date().toISOString();
    let found: Map<string, RangeSummary>;
    try {
      found = await summarise(db, {}, between);
    } catch (error) {
      const cause = levelDbCause(error);
      return { losses: [`reading every record in the background check failed: ${cause}`], ranges: 0, records: 0, readError: cause, at: at() };
    }
    const losses: string[] = [];
    const since = this.verifiedAt ? `verified ${this.verifiedAt}` : 'summarised before';
    const written = (r: string) => this.pending.has(r);
    for (const [r, before] of this.summaries) {
      if (written(r)) continue;
      const now = found.get(r);
      if (!now) losses.push(`${r}: all ${before.n} records gone (${since})`);
      else if (now.n < before.n) losses.push(`${r}: ${before.n - now.n} of ${before.n} records missing (${since}), ${now.n} left`);
      else if (now.n !== before.n || now.h !== before.h) losses.push(`${r}: records changed without a write (${since}: ${before.n}, now ${now.n})`);
    }
    if (this.stopped) return { losses, ranges: found.size, records: [...found.values()].reduce((a, s) => a + s.n, 0), at: at() };
    // The snapshot is the truth for every range not written since it was taken; the others stay pending.
    for (const r of this.summaries.keys()) if (!found.has(r) && !(this.pending.get(r)! > generation)) this.summaries.delete(r);
    for (const [r, s] of found) if (!(this.pending.get(r)! > generation)) this.summaries.set(r, s);
    for (const [r, g] of [...this.pending]) if (g <= generation) this.pending.delete(r);
    this.verifiedAt = at();
    this.save();
    return { losses, ranges: found.size, records: [...found.values()].reduce((a, s) => a + s.n, 0), at: this.verifiedAt };
  }

  /** No more verifications (closing); resolves when one in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  /** Written to a temporary file and renamed; false when that failed (disk full). `closedAt`: by a clean close only. */
  save(closedAt?: string): boolean {
    const file = join(this.dir, LEDGER_FILE);
    const data: LedgerFile = { format: LEDGER_FORMAT, verifiedAt: this.verifiedAt, summaries: Object.fromEntries(this.summaries), pending: [...this.pending.keys()], ...(closedAt ? { closedAt } : {}) };
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(data));
      renameSync(`${file}.tmp`, file);
      return true;
    } catch {
      return false;
    }
  }
}
