import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { findGaps, resample, type Slot, type StoredSlot, type Unit } from './slots.js';
import { DAY_MS, HOUR_MS } from '../time/tz.js';
import { CountCheckpoint } from './count-checkpoint.js';
import { MARKER_FILE, REPAIR_REMEDY, StoreOpenError, checkBeforeOpen, openRefusal, countAllRecords, integrityFrom, levelDbCause, logSizes, logsChanged, lossesInLevelDbLog, readMarker, readMarkerState, withMarkerDamage, writeMarker, type MarkerDamage, type StoreIntegrity } from './integrity.js';
import { VerifiedRanges, type Verification } from './verified-ranges.js';
import { WriteGate } from './write-gate.js';
import { ReadGuard } from './read-guard.js';
import { StoreError } from '../util/errors.js';
import { DEFAULT_READINGS, ReadingsLog, type ReadingsOptions } from './readings.js';
import { SeriesMetaCache, type SeriesMeta } from './series-meta.js';

export type { SeriesMeta } from './series-meta.js';

/** Where a series stands at a time: its last write, the slot covering that time, its latest slot. */
export interface SeriesPosition {
  source: string;
  fetchedAt: number;
  at?: StoredSlot;
  latest?: StoredSlot;
}

export interface RetentionPolicy {
  /** Slots shorter than an hour are kept as they are for this many days, then averaged to hourly slots. */
  rawDays: number;
  /** Everything older than this is deleted; 0 keeps history for ever. */
  keepDays: number;
}

export interface WriteOptions {
  source: string;
  fetchedAt: number;
  /** Slots already stored inside the written range but absent from this write are removed (a day re-published whole). */
  replaceRange?: boolean;
}

export interface WriteResult {
  written: number;
  removed: number;
}

interface StoredValue {
  e: number;
  v: number;
  s: string;
  f: number;
}

const SERIES_ID_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const slotKey = (series: string, start: number): string => `s!${series}!${String(start).padStart(15, '0')}`;
const metaKey = (series: string): string => `m!${series}`;
const kvKey = (name: string): string => `k!${name}`;
const outboxKey = (seq: number): string => `o!${String(seq).padStart(15, '0')}`;

export interface OutboxEntry {
  seq: number;
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

/** One reopen of the store after a failed write: when, why, and how many so far. */
export interface StoreReopen {
  at: string;
  cause: string;
  count: number;
}

/** When the full verification runs in the background (monotonic ms): first `afterMs` after open, then every `everyMs`. */
export interface VerifySchedule {
  afterMs: number;
  everyMs: number;
}
export const DEFAULT_VERIFY: VerifySchedule = { afterMs: 60_000, everyMs: 6 * 3_600_000 };

/** Time-series history on LevelDB. Keys sort by series then start, so range reads are one ordered scan. */
export class SeriesStore {
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  /** Reads hold it; the reopen after a failed write waits for them and holds new ones back (see ReadGuard). */
  private readonly guard = new ReadGuard();
  private readonly gate = new WriteGate(
    (cause) =>
      this.guard.exclusive(async () => {
        await this.db.close();
        await this.db.open({ createIfMissing: false });
        this.reopens.count++;
        this.reopens.last = { at: new Date().toISOString(), cause };
        for (const listener of this.reopenListeners) listener({ ...this.reopens.last, count: this.reopens.count });
      }),
  );
  /** Reopens after a failed write since the store was opened: an event health and alerts report (`onReopen`). */
  private readonly reopens: { count: number; last: { at: string; cause: string } | null } = { count: 0, last: null };
  private readonly reopenListeners: Array<(e: StoreReopen) => void> = [];
  private checked!: StoreIntegrity;
  private readonly metas = new SeriesMetaCache();
  /** Raw Modbus readings, written by group commit (see ReadingsLog). */
  readonly readings: ReadingsLog;

  private constructor(
    private readonly db: Level<string, unknown>,
    private readonly sync: boolean,
    readonly dir: string,
    readings: ReadingsOptions,
    now: () => number,
  ) {
    this.readings = new ReadingsLog(
      {
        batch: (ops) => this.track(() => this.db.batch(ops, { sync: this.sync })),
        iterate: (range) => this.guard.scan(() => this.db.iterator(range)),
        slotOps: (series, unit, slots, source, fetchedAt) => {
          const meta = this.metas.next(series, unit, slots, source, fetchedAt, Date.now());
          const ops = slots.map((s) => ({ type: 'put' as const, key: slotKey(series, s.start), value: { e: s.end, v: s.value, s: source, f: fetchedAt } satisfies StoredValue }));
          return { ops: [...ops, { type: 'put', key: metaKey(series), value: meta }], stored: () => this.metas.set(meta) };
        },
      },
      readings,
      now,
    );
  }

  /**
   * Opens (or creates) the store in `dir` and checks it: never creates an empty store over a damaged one, reports
   * every loss (see `integrity()`). Throws a `StoreOpenError` with LevelDB's cause, the path and the remedy.
   * `now` is the gateway's clock (readings are aggregated once older than `readings.rawHours` by it).
   * `mustExist` (read-only CLI use, e.g. backup): a missing store is a StoreOpenError and nothing is created.
   */
  static async open(dir: string, options: { sync?: boolean; readings?: Partial<ReadingsOptions>; now?: () => number; mustExist?: boolean; verify?: Partial<VerifySchedule> | false } = {}): Promise<SeriesStore> {
    const { createIfMissing } = checkBeforeOpen(dir);
    if (createIfMissing && options.mustExist) throw new StoreOpenError(dir, 'there is no store here', 'check the data folder (dataDir, CHOCO_EDGE_DATA_DIR)');
    const { marker, unreadable } = readMarkerState(dir);
    // Before LevelDB replays its log (and deletes it): a log damaged while stopped means reading everything.
    const logChange = logsChanged(dir, marker);
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json', createIfMissing });
    try {
      await db.open();
    } catch (error) {
      throw openRefusal(dir, error);
    }
    const store = new SeriesStore(db, options.sync ?? true, dir, { ...DEFAULT_READINGS, ...options.readings }, options.now ?? Date.now);
    const ledger = VerifiedRanges.load(dir);
    store.ledger = ledger;
    store.checked = await checkAtOpen(db, dir, ledger, marker, lossesInLevelDbLog(dir), logChange);
    // An unreadable marker is damage, not a new store: once the store is open the file is moved aside (kept for
    // the operator) and reported, in health and in the marker written now, until acknowledged.
    let markerDamaged: MarkerDamage | undefined = marker?.markerDamaged;
    if (unreadable !== undefined) {
      const at = new Date().toISOString();
      const copy = join(dir, `${MARKER_FILE}.unreadable-${at.replace(/[:.]/g, '-')}`);
      let moved: string | null = copy;
      try {
        renameSync(join(dir, MARKER_FILE), copy);
      } catch {
        moved = null;
      }
      markerDamaged = { at, why: unreadable, copy: moved };
    }
    if (markerDamaged) store.checked = withMarkerDamage(store.checked, markerDamaged);
    ledger.track(db);
    // An unreadable store keeps the count it had: a later check compares against it, never against 0.
    const records = store.checked.records;
    store.saveMarker(records ?? marker?.records ?? 0, false, records === null ? marker?.deletesSinceCount : 0);
    if (records !== null) store.counts = new CountCheckpoint(db, records, (n, deletes, at) => store.saveMarker(n, false, deletes, at), () => ledger.count(db));
    if (options.verify !== false && records !== null) store.scheduleVerify({ ...DEFAULT_VERIFY, ...options.verify });
    const metas: SeriesMeta[] = [];
    try {
      for await (const value of db.values({ gte: 'm!', lt: 'm!~' })) metas.push(value as SeriesMeta);
    } catch (error) {
      // Already reported by the full read above (a damaged table); serve what is readable.
      if (store.checked.state !== 'failed') throw new StoreOpenError(dir, levelDbCause(error));
    }
    store.metas.load(metas);
    return store;
  }

  private ledger!: VerifiedRanges;
  private verifyTimer?: NodeJS.Timeout;
  private readonly verifyListeners: Array<(v: Verification) => void> = [];

  private scheduleVerify(schedule: VerifySchedule): void {
    const next = (ms: number) => {
      this.verifyTimer = setTimeout(() => void this.verify().catch(() => undefined).finally(() => !this.closed && next(schedule.everyMs)), ms);
      this.verifyTimer.unref();
    };
    next(schedule.afterMs);
  }

  /**
   * Reads every record from one snapshot and compares the ranges verified before (and not written since) with their
   * summaries: the full check, off the open's path (it runs by itself `verify.afterMs` after open, then every
   * `verify.everyMs`). A loss is reported like one found at open: in `integrity()` (state failed, kept in the marker
   * until acknowledged), hence the STORE_DAMAGED alert, and to `onVerified` listeners.
   */
  async verify(): Promise<Verification> {
    if (this.closed) throw new StoreError(`store: closed (${this.dir}); nothing is verified`);
    const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
    const result = await this.guard.run(() => this.ledger.verifyAll(this.db, yieldNow));
    if (result.losses.length && !this.closed) {
      const losses = [...this.checked.losses, ...result.losses.map((l) => `${result.at}: ${l}`)];
      this.checked = this.withMarkerNote({ ...this.checked, losses, state: 'failed', code: 'store_failed', message: `store damaged, data lost: ${losses.join('; ')}. To fix: ${REPAIR_REMEDY}` });
      // Into the marker (kept until acknowledged), with the running count and deletes as they stand.
      this.counts?.resave();
    }
    if (this.checked.verification) this.checked = { ...this.checked, verification: { ...this.checked.verification, pendingRanges: this.ledger.pendingRanges, lastFullAt: this.ledger.lastVerifiedAt } };
    for (const listener of this.verifyListeners) listener(result);
    return result;
  }

  /** Called after each full verification (background or `verify()`), with what it found. */
  onVerified(listener: (v: Verification) => void): void {
    this.verifyListeners.push(listener);
  }

  /** Called after each reopen that followed a failed write (the gateway raises a STORE_REOPENED alert). */
  onReopen(listener: (e: StoreReopen) => void): void {
    this.reopenListeners.push(listener);
  }

  /** What the open found (losses reported by LevelDB, records missing since the last clean shutdown), the last failed write and the reopens. */
  integrity(): StoreIntegrity {
    const failure = this.gate.failure;
    const reopened = this.reopens.last ? `; reopened ${this.reopens.count} time${this.reopens.count === 1 ? '' : 's'} after a failed write, last at ${this.reopens.last.at} (${this.reopens.last.cause})` : '';
    const reopens = { reopens: this.reopens.count, lastReopen: this.reopens.last };
    if (failure && !this.closed && this.db.status !== 'open') {
      // The reopen after a failed write failed too (disk still full): nothing can be read or written until it works.
      return { ...this.checked, ...reopens, state: 'failed', code: 'store_failed', writeFailure: failure, message: `store unavailable: ${failure}; free disk space under ${this.dir}: it reopens by itself${this.checked.state === 'failed' ? `. Before: ${this.checked.message}` : ''}${reopened}` };
    }
    // A count taken after the open (every 5 min of writes): said first, with its time; the open's count follows, labelled so.
    const last = this.counts?.last;
    const later = last ? { lastCount: { records: last.records, at: last.countedAt } } : {};
    const counted = later.lastCount && this.checked.state === 'ok' ? `${later.lastCount.records} records at the last count (${later.lastCount.at}); ` : '';
    if (!failure || this.checked.state === 'failed') return { ...this.checked, ...reopens, ...later, message: `${counted}${this.checked.message}${reopened}`, writeFailure: failure };
    return { ...this.checked, ...reopens, state: 'degraded', code: 'store_failed', writeFailure: failure, message: `store: ${failure}; writes are refused until it works again (free disk space under ${this.dir})${reopened}` };
  }

  /**
   * An operator's acknowledgement of the losses reported so far (after a repair, a restore or a re-fetch): they leave
   * health and the marker, and are returned. Until then they stay, across restarts and repairs.
   */
  acknowledgeLosses(): string[] {
    const damage = this.checked.markerDamaged;
    const acknowledged = [...this.checked.losses, ...(damage ? [`${damage.at}: the store's marker was unreadable (${damage.why})`] : [])];
    if (!acknowledged.length) return [];
    const records = this.checked.records;
    this.checked = { ...this.checked, losses: [], markerDamaged: undefined, state: records === null ? 'failed' : 'ok', message: records === null ? this.checked.message : `${records} records at open (losses acknowledged since)` };
    if (records !== null) this.saveMarker(records, false);
    return acknowledged;
  }

  /** Reopens the store if a write failed, so that it serves again once the cause (disk full) is gone. */
  async heal(): Promise<void> {
    if (this.closed) return;
    await this.gate.heal().catch(() => undefined);
    if (this.gate.reopens !== this.countedReopens && this.db.status === 'open') await this.recount();
  }
  private countedReopens = 0;

  /** After a reopen the figures in `integrity()` are counted again, never the ones from before the failure. */
  private async recount(): Promise<void> {
    this.countedReopens = this.gate.reopens;
    const { records, readError } = await countAllRecords(() => this.db.keys());
    if (records === null) {
      this.checked = { ...this.checked, records: null, state: 'failed', code: 'store_failed', message: `reading every record after reopening failed: ${readError}. To fix: ${REPAIR_REMEDY}` };
    } else if (this.checked.state === 'ok') {
      this.checked = { ...this.checked, records, message: `${records} records at the reopen of ${new Date().toISOString()} (counted again after a failed write)` };
    } else this.checked = { ...this.checked, records };
  }

  /** Resolves only after LevelDB has the batch in its log (fsynced when `sync`): the acknowledgement callers rely on. */
  async write(series: string, unit: Unit, slots: readonly Slot[], options: WriteOptions): Promise<WriteResult> {
    return (await this.writeMany([{ series, unit, slots }], options))[0]!;
  }

  /**
   * Writes several series (e.g. the ES and PT prices of one day) as ONE LevelDB batch: all or none, one fsync, resolved
   * only after LevelDB has it in its log (fsynced when `sync`), like `write`. The replaced-range reads of the series
   * go out together. Returns one result per entry, in order. Throws before writing anything on an invalid id or slot.
   */
  async writeMany(entries: ReadonlyArray<{ series: string; unit: Unit; slots: readonly Slot[] }>, options: WriteOptions): Promise<WriteResult[]> {
    for (const { series, slots } of entries) {
      assertSeriesId(series);
      for (const s of slots) {
        if (!Number.isFinite(s.start) || !Number.isFinite(s.end) || s.end <= s.start || !Number.isFinite(s.value)) {
          throw new Error(`refusing to write ${series}: invalid slot ${JSON.stringify(s)}`);
        }
      }
    }
    const ids = [...new Set(entries.map((e) => e.series))].sort();
    if (ids.length !== entries.length) throw new Error(`refusing to write: a series appears twice in one batch (${entries.map((e) => e.series).join(', ')})`);
    // Each series' queue is held (in id order, so two batches never wait on each other) while its metadata is updated.
    const inQueues = (i: number, work: () => Promise<WriteResult[]>): Promise<WriteResult[]> => (i === ids.length ? work() : this.serialized(ids[i]!, () => inQueues(i + 1, work)));
    return this.track(() => inQueues(0, async () => {
      const built = await Promise.all(entries.map((e) => this.opsFor(e.series, e.unit, e.slots, options)));
      await this.db.batch(built.flatMap((b) => b.ops), { sync: this.sync });
      for (const b of built) this.metas.set(b.meta);
      return built.map((b, i) => ({ written: entries[i]!.slots.length, removed: b.removed }));
    }));
  }

  /** The batch operations of one series' write (with `replaceRange`, the stored keys inside the range not written are deleted) and its next metadata. */
  private async opsFor(series: string, unit: Unit, slots: readonly Slot[], options: WriteOptions): Promise<{ ops: Array<{ type: 'put'; key: string; value: unknown } | { type: 'del'; key: string }>; meta: SeriesMeta; removed: number }> {
    const ops: Array<{ type: 'put'; key: string; value: unknown } | { type: 'del'; key: string }> = [];
    let removed = 0;
    let from = Infinity;
    let to = -Infinity;
    for (const s of slots) {
      if (s.start < from) from = s.start;
      if (s.end > to) to = s.end;
    }
    // Nothing of this series is stored at or after `from` when its latest slot ever written starts before it (the next
    // day's prices, written the day before): then the range holds no key to delete and is not read.
    const last = this.metas.get(series)?.last;
    const rangeEmpty = last !== undefined && last.start < from;
    if (options.replaceRange && slots.length > 0 && !rangeEmpty) {
      const keep = new Set(slots.map((s) => s.start));
      // One native read of the whole range (`all()`), not one promise per key: the range is one day's slots; under the read guard.
      for (const key of await this.guard.run(() => this.db.keys({ gte: slotKey(series, from), lt: slotKey(series, to) }).all())) {
        if (!keep.has(Number(key.slice(key.lastIndexOf('!') + 1)))) {
          ops.push({ type: 'del', key });
          removed++;
        }
      }
    }
    for (const s of slots) {
      const value: StoredValue = { e: s.end, v: s.value, s: options.source, f: options.fetchedAt };
      ops.push({ type: 'put', key: slotKey(series, s.start), value });
    }
    const meta = this.metas.next(series, unit, slots, options.source, options.fetchedAt, Date.now());
    // The latest slot was in the replaced range and is gone: status looks it up until the next write sets it again.
    const newLast = meta.last;
    if (removed > 0 && newLast && newLast.start >= from && newLast.start < to && !slots.some((s) => s.start === newLast.start)) delete meta.last;
    ops.push({ type: 'put', key: metaKey(series), value: meta });
    return { ops, meta, removed };
  }

  /** Runs writes of one series one after the other, so its metadata (read, updated, written back) never loses an update. */
  private serialized<T>(series: string, work: () => Promise<T>): Promise<T> {
    const run = (this.seriesQueue.get(series) ?? Promise.resolve()).then(work, work);
    const tail = run.then(() => undefined, () => undefined);
    this.seriesQueue.set(series, tail);
    void tail.then(() => {
      if (this.seriesQueue.get(series) === tail) this.seriesQueue.delete(series);
    });
    return run;
  }
  private readonly seriesQueue = new Map<string, Promise<void>>();

  async read(series: string, from: number, to: number): Promise<StoredSlot[]> {
    assertSeriesId(series);
    const out: StoredSlot[] = [];
    // A slot that started before `from` may still cover it: look back as far as the longest slot this series ever had.
    const lookback = this.metas.get(series)?.maxSlotMs ?? DAY_MS;
    // `all()`: the range in as few native reads as LevelDB allows, not one promise per entry (every entry is kept anyway); under the read guard.
    for (const [key, raw] of await this.guarded(`${series} from ${new Date(from).toISOString()}`, () => this.db.iterator({ gte: slotKey(series, Math.max(0, from - lookback)), lt: slotKey(series, to) }).all())) {
      const v = raw as StoredValue;
      const start = Number(key.slice(key.lastIndexOf('!') + 1));
      if (v.e <= from) continue;
      out.push({ start, end: v.e, value: v.v, source: v.s, fetchedAt: v.f });
    }
    if (this.readings.has(series)) return [...out, ...(await this.readings.read(series, from, to))].sort((a, b) => a.start - b.start);
    return out;
  }

  /**
   * Where a series stands at `now`, in constant time: the slot covering now and the latest slot come from the
   * metadata kept up to date on write (or the readings in memory), with at most one seek for a slot inside the horizon.
   */
  async status(series: string, now: number): Promise<SeriesPosition | undefined> {
    const known = this.statusNow(series, now);
    if (known !== 'seek') return known;
    const meta = this.metas.get(series)!;
    const latest = meta.last ?? (await this.latest(series));
    let at: StoredSlot | undefined;
    if (latest && latest.start <= now && latest.end > now) at = latest;
    else if (latest && latest.end > now) {
      for await (const [key, raw] of this.scan(series, () => this.db.iterator({ gte: slotKey(series, 0), lte: slotKey(series, now), reverse: true, limit: 1 }))) {
        const v = raw as StoredValue;
        if (v.e > now) at = { start: Number(key.slice(key.lastIndexOf('!') + 1)), end: v.e, value: v.v, source: v.s, fetchedAt: v.f };
      }
    }
    return { source: meta.lastSource, fetchedAt: meta.lastFetchedAt, ...(latest ? { latest } : {}), ...(at ? { at } : {}) };
  }

  /** `status` when memory alone answers it (readings, or a latest slot that covers now or ended); 'seek' otherwise. */
  statusNow(series: string, now: number): SeriesPosition | undefined | 'seek' {
    if (this.readings.has(series)) {
      const latest = this.readings.latest(series);
      if (!latest) return undefined;
      return { source: latest.source, fetchedAt: latest.fetchedAt, latest, at: latest.start <= now && latest.end > now ? latest : undefined };
    }
    const meta = this.metas.get(series);
    if (!meta) return undefined;
    const latest = meta.last;
    if (!latest || latest.end > now) return latest && latest.start <= now ? { source: meta.lastSource, fetchedAt: meta.lastFetchedAt, latest, at: latest } : 'seek';
    return { source: meta.lastSource, fetchedAt: meta.lastFetchedAt, latest };
  }

  async latest(series: string): Promise<StoredSlot | undefined> {
    assertSeriesId(series);
    if (this.readings.has(series)) return this.readings.latest(series);
    for await (const [key, raw] of this.scan(series, () => this.db.iterator({ gte: slotKey(series, 0), lt: `s!${series}!~`, reverse: true, limit: 1 }))) {
      const v = raw as StoredValue;
      return { start: Number(key.slice(key.lastIndexOf('!') + 1)), end: v.e, value: v.v, source: v.s, fetchedAt: v.f };
    }
    return undefined;
  }

  async count(series: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<number> {
    let n = 0;
    for await (const _ of this.scan(series, () => this.db.keys({ gte: slotKey(series, from), lt: slotKey(series, to) }))) n++;
    return n;
  }

  async gaps(series: string, from: number, to: number): Promise<Array<{ start: number; end: number }>> {
    return findGaps(await this.read(series, from, to), from, to);
  }

  async meta(series: string): Promise<SeriesMeta | undefined> {
    return this.metas.get(series) ?? ((await this.guarded(`the metadata of ${series}`, () => this.db.get(metaKey(series)))) as SeriesMeta | undefined);
  }

  async listSeries(): Promise<SeriesMeta[]> {
    const out: SeriesMeta[] = [];
    for await (const value of this.scan('the list of series', () => this.db.values({ gte: 'm!', lt: 'm!~' }))) out.push(value as SeriesMeta);
    return out;
  }

  async getValue<T>(name: string): Promise<T | undefined> {
    return (await this.guarded(`the record ${name}`, () => this.db.get(kvKey(name)))) as T | undefined;
  }

  async setValue(name: string, value: unknown): Promise<void> {
    await this.track(() => this.db.put(kvKey(name), value, { sync: this.sync }));
  }

  async deleteValue(name: string): Promise<void> {
    await this.track(() => this.db.del(kvKey(name), { sync: this.sync }));
  }

  /** Downsamples old sub-hourly slots to hourly means and deletes what is past `keepDays`. */
  async applyRetention(now: number, policy: RetentionPolicy): Promise<{ downsampled: number; deleted: number }> {
    let downsampled = 0;
    let deleted = 0;
    const rawCutoff = Math.floor((now - policy.rawDays * DAY_MS) / HOUR_MS) * HOUR_MS;
    for (const meta of await this.listSeries()) {
      if (policy.keepDays > 0) {
        const old = await this.read(meta.id, 0, now - policy.keepDays * DAY_MS);
        const expired = old.filter((s) => s.end <= now - policy.keepDays * DAY_MS);
        if (expired.length) {
          await this.track(() => this.db.batch(expired.map((s) => ({ type: 'del' as const, key: slotKey(meta.id, s.start) })), { sync: this.sync }));
          deleted += expired.length;
        }
      }
      const candidates = (await this.read(meta.id, 0, rawCutoff)).filter((s) => s.end - s.start < HOUR_MS && s.end <= rawCutoff);
      if (!candidates.length) continue;
      const bySource = new Map<string, StoredSlot[]>();
      for (const s of candidates) bySource.set(s.source, [...(bySource.get(s.source) ?? []), s]);
      const ops: Array<{ type: 'put'; key: string; value: unknown } | { type: 'del'; key: string }> = [];
      for (const s of candidates) ops.push({ type: 'del', key: slotKey(meta.id, s.start) });
      for (const [source, group] of bySource) {
        const fetchedAt = Math.max(...group.map((s) => s.fetchedAt));
        for (const h of resample(group, HOUR_MS)) {
          ops.push({ type: 'put', key: slotKey(meta.id, h.start), value: { e: h.end, v: h.value, s: source, f: fetchedAt } satisfies StoredValue });
        }
      }
      // Hourly slots now: reads must look back an hour for the one covering their start.
      const cached = this.metas.get(meta.id);
      const widened = cached && (cached.maxSlotMs ?? 0) < HOUR_MS ? { ...cached, maxSlotMs: HOUR_MS } : undefined;
      if (widened) ops.push({ type: 'put', key: metaKey(meta.id), value: widened });
      await this.track(() => this.db.batch(ops, { sync: this.sync }));
      if (widened) this.metas.set(widened);
      downsampled += candidates.length;
    }
    return { downsampled, deleted };
  }

  /** Asks LevelDB to compact the whole key space (after retention deleted slots); returns the approximate size before and after. */
  async compact(): Promise<{ bytesBefore: number; bytesAfter: number }> {
    const db = this.db as unknown as { compactRange(a: string, b: string): Promise<void>; approximateSize(a: string, b: string): Promise<number> };
    const bytesBefore = await db.approximateSize('\u0000', '~');
    await this.track(() => db.compactRange('\u0000', '~'));
    return { bytesBefore, bytesAfter: await db.approximateSize('\u0000', '~') };
  }

  /** Appends to the persistent outbox; acknowledged (fsynced) before it resolves. */
  async outboxAppend(entry: Omit<OutboxEntry, 'seq'>): Promise<OutboxEntry> {
    const last = await this.outboxLast();
    const seq = (last?.seq ?? (await this.getValue<number>('outbox.lastSeq')) ?? 0) + 1;
    const full = { ...entry, seq };
    const ops: Array<{ type: 'put'; key: string; value: unknown }> = [
      { type: 'put', key: outboxKey(seq), value: full },
      { type: 'put', key: kvKey('outbox.lastSeq'), value: seq },
    ];
    await this.track(() => this.db.batch(ops, { sync: this.sync }));
    return full;
  }

  async outboxPeek(limit: number): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for await (const value of this.scan('the outbox', () => this.db.values({ gte: 'o!', lt: 'o!~', limit }))) out.push(value as OutboxEntry);
    return out;
  }

  private async outboxLast(): Promise<OutboxEntry | undefined> {
    for await (const value of this.scan('the outbox', () => this.db.values({ gte: 'o!', lt: 'o!~', reverse: true, limit: 1 }))) return value as OutboxEntry;
    return undefined;
  }

  async outboxDelete(seqs: number[]): Promise<void> {
    if (!seqs.length) return;
    await this.track(() => this.db.batch(seqs.map((seq) => ({ type: 'del' as const, key: outboxKey(seq) })), { sync: this.sync }));
  }

  async outboxCount(): Promise<number> {
    let n = 0;
    for await (const _ of this.scan('the outbox', () => this.db.keys({ gte: 'o!', lt: 'o!~' }))) n++;
    return n;
  }

  /**
   * One read under the read guard. A read LevelDB refuses because a table is damaged ("Corruption: …", a checksum
   * mismatch) is a loss: it enters `integrity()` (state failed, kept in the marker until acknowledged) and the read
   * throws a StoreError (`code` store_failed: HTTP answers 503) naming what was read, LevelDB's cause and the remedy.
   * Callers at start degrade their part with that message; none ends the process.
   */
  private async guarded<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await this.guard.run(read);
    } catch (error) {
      throw this.readFailure(what, error);
    }
  }

  /** `guard.scan` with the same handling of a damaged table as `guarded`. */
  private async *scan<T>(what: string, open: () => AsyncIterable<T>): AsyncGenerator<T> {
    try {
      for await (const item of this.guard.scan(open)) yield item;
    } catch (error) {
      throw this.readFailure(what, error);
    }
  }

  private readFailure(what: string, error: unknown): unknown {
    const cause = levelDbCause(error);
    if (!/corrupt|checksum mismatch|bad block|bad entry|IO error: .*\.(ldb|sst)\b/i.test(cause)) return error;
    const loss = `reading ${what} failed: ${cause}`;
    // Once per LevelDB cause: the open's check (or an earlier read) may have reported it already; reads of other keys add nothing.
    if (!this.closed && !this.checked.losses.some((l) => l.includes(cause))) {
      const losses = [...this.checked.losses, `${new Date().toISOString()}: ${loss}`];
      this.checked = this.withMarkerNote({ ...this.checked, losses, state: 'failed', code: 'store_failed', message: `store damaged, data lost: ${losses.join('; ')}. To fix: ${REPAIR_REMEDY}` });
      this.counts?.resave();
    }
    return new StoreError(`store damaged: reading ${what} failed: ${cause}. To fix: ${REPAIR_REMEDY}`, error);
  }

  /** A finding rewritten after the open keeps saying that the marker was unreadable, until that is acknowledged. */
  private withMarkerNote(checked: StoreIntegrity): StoreIntegrity {
    return checked.markerDamaged ? withMarkerDamage(checked, checked.markerDamaged) : checked;
  }

  /** Every key and value, in key order (backups). */
  async *entries(): AsyncGenerator<[string, unknown]> {
    for await (const entry of this.scan('every record', () => this.db.iterator())) yield entry;
  }

  /** Writes raw entries in batches (restores); returns how many. */
  async importEntries(entries: AsyncIterable<[string, unknown]>): Promise<number> {
    let batch: Array<{ type: 'put'; key: string; value: unknown }> = [];
    let n = 0;
    for await (const [key, value] of entries) {
      batch.push({ type: 'put', key, value });
      if (key.startsWith('m!')) this.metas.set(value as SeriesMeta);
      if (batch.length >= 1000) {
        const ops = batch;
        await this.track(() => this.db.batch(ops, { sync: this.sync }));
        n += ops.length;
        batch = [];
      }
    }
    if (batch.length) {
      const ops = batch;
      await this.track(() => this.db.batch(ops, { sync: this.sync }));
      n += ops.length;
    }
    return n;
  }

  async isEmpty(): Promise<boolean> {
    for await (const _ of this.scan('the first key', () => this.db.keys({ limit: 1 }))) return false;
    return true;
  }

  /** Waits for in-flight writes, counts the records for the next open's check, then closes LevelDB. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.readings.close().catch(() => undefined);
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.gate.settled();
    await this.counts?.stop();
    clearTimeout(this.verifyTimer);
    await this.ledger.stop();
    // The ranges written since the last verification are summarised again (what the next open compares exactly);
    // the others keep their verified summaries: the cost is what was written, not the store.
    const clean = this.db.status === 'open' && !this.gate.failure && this.checked.records !== null && (await this.ledger.summarisePending(this.db));
    if (this.db.status === 'open') await this.db.close();
    // After LevelDB closed, so that the log sizes in the marker are final; the ledger first, stamped with the marker's time.
    if (clean) {
      const at = new Date().toISOString();
      if (this.ledger.save(at)) this.saveMarker(this.ledger.records, true, undefined, at);
    }
  }

  /** The marker keeps the count, the last repair and the unresolved losses for the next open. */
  private saveMarker(records: number, cleanShutdown: boolean, deletesSinceCount?: number, countedAt = new Date().toISOString()): void {
    const marker = readMarker(this.dir);
    const { losses, lastRepair, markerDamaged } = this.checked;
    writeMarker(this.dir, { createdAt: marker?.createdAt ?? new Date().toISOString(), records, countedAt, cleanShutdown, ...(deletesSinceCount !== undefined && !cleanShutdown ? { deletesSinceCount } : {}), ...(lastRepair ? { lastRepair } : {}), ...(losses.length ? { losses } : {}), ...(markerDamaged ? { markerDamaged } : {}), logs: logSizes(this.dir) });
  }

  /** Counts every record now for the check after an unclean stop (also done by itself every 5 min after writes). */
  checkpoint(): Promise<void> {
    return this.counts?.checkpoint() ?? Promise.resolve();
  }
  private counts?: CountCheckpoint;

  /** Every write goes through the gate: one at a time, and none after a failure until the store has been reopened. */
  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError(`store: closed (${this.dir}); nothing is written`));
    const p = this.gate.run(work);
    this.inFlight.add(p);
    const done = (): void => {
      this.inFlight.delete(p);
      if (!this.closed) this.counts?.afterWrite();
    };
    p.then(done, done);
    return p;
  }
}

function assertSeriesId(series: string): void {
  if (!SERIES_ID_RE.test(series)) throw new Error(`invalid series id ${JSON.stringify(series)} (lowercase letters, digits, _ . -)`);
}

/**
 * The check at open. With a record of verified ranges, LevelDB's log as the marker left it and nothing in LevelDB's
 * LOG: only the ranges written since the last full verification are read (compared exactly with their summaries
 * after a clean close; after an unclean stop the total must not fall under the running count less the deletes), the
 * rest is taken at its verified summaries, and the background verification reads it later. Otherwise, or when that
 * finds anything wrong: every record is read, as the check always did, and the summaries are rebuilt from it.
 */
async function checkAtOpen(db: Level<string, unknown>, dir: string, ledger: VerifiedRanges, marker: ReturnType<typeof readMarker>, logLosses: string[], logChange: string | undefined): Promise<StoreIntegrity> {
  const known = marker?.losses?.length ?? 0;
  // After a clean close the summaries are exact only if that close wrote them (the same stamp as the marker's).
  const exact = marker?.cleanShutdown === true && ledger.closedAt === marker.countedAt;
  const pendingRanges = ledger.pendingRanges;
  let changed: string[] = [];
  // A marker without log sizes was written by a version that kept no summaries (a rollback ran in between): its
  // writes were never marked pending, so the summaries are not trusted.
  const owned = marker?.logs !== undefined;
  if (ledger.loaded && owned && !logChange && !logLosses.length && (exact || !marker?.cleanShutdown)) {
    const fast = await ledger.checkPending(db, exact);
    changed = fast.changed;
    if (!fast.readError && !changed.length) {
      const checked = integrityFrom(dir, { records: fast.records }, marker, []);
      if (checked.losses.length === known) return { ...checked, verification: { atOpen: 'pending ranges', checkedRanges: fast.checkedRanges, checkedRecords: fast.checkedRecords, pendingRanges, lastFullAt: ledger.lastVerifiedAt } };
    }
  }
  const counted = await ledger.rebuild(db);
  // A changed log alone is no loss (it sent the open here): the full count against the marker says what went missing.
  const checked = integrityFrom(dir, counted, marker, [...logLosses, ...changed.map((c) => `changed since the last clean close: ${c}`)]);
  return { ...checked, verification: { atOpen: 'every record', checkedRanges: null, checkedRecords: counted.records, pendingRanges: ledger.pendingRanges, lastFullAt: ledger.lastVerifiedAt } };
}
