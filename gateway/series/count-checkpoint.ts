import type { Level } from 'level';

type Db = Level<string, unknown>;
type Op = { type: 'put' | 'del'; key: string };

/**
 * A record count the gateway can vouch for after an unclean stop (kill -9, power cut), when the clean-shutdown count
 * is missing: the store is counted at open and again every `everyMs` (monotonic ms) after writes, and every delete
 * the store issues is added up and written to the marker *before* its batch runs. The count costs what was written
 * since the last verification, not the whole store (see VerifiedRanges). At the next open after an unclean
 * stop, fewer records than `counted - deleted since` is a loss nobody asked for (a truncated or deleted .log or table):
 * a lower bound, so a loss is never a false alarm; records written after the last count are covered only by
 * LevelDB's own recovery checks (its LOG's "dropping … bytes").
 */
export class CountCheckpoint {
  private deletes = 0;
  private base = 0;
  private records: number;
  private lastAt: number;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    db: Db,
    records: number,
    /** Writes the marker: records at the last count, deletes issued since it, when it was counted (ISO). */
    private readonly save: (records: number, deletesSinceCount: number, countedAt: string) => void,
    /** Counts the records now (see VerifiedRanges.count: the verified ranges at their summaries, the others read). */
    private readonly count: () => Promise<{ records: number | null }>,
    private readonly everyMs = 5 * 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.records = records;
    this.lastAt = now();
    this.countedAt = new Date().toISOString();
    const batch = db.batch.bind(db) as (ops: Op[], options?: unknown) => Promise<void>;
    const del = db.del.bind(db) as (key: string, options?: unknown) => Promise<void>;
    // Every delete of the store goes through these two: counted and on disk before LevelDB sees it.
    (db as unknown as { batch: unknown }).batch = (ops: Op[], options?: unknown) => {
      if (Array.isArray(ops)) this.willDelete(ops.reduce((n, o) => n + (o.type === 'del' ? 1 : 0), 0));
      return batch(ops, options);
    };
    (db as unknown as { del: unknown }).del = (key: string, options?: unknown) => {
      this.willDelete(1);
      return del(key, options);
    };
  }
  private countedAt: string;

  /** After a write: counts again in the background once `everyMs` have passed since the last count. */
  afterWrite(): void {
    if (!this.stopped && !this.running && this.now() - this.lastAt >= this.everyMs) void this.checkpoint();
  }

  /** Counts every record now (from one LevelDB snapshot) and writes the count to the marker. */
  checkpoint(): Promise<void> {
    this.running ??= (async () => {
      const before = this.deletes;
      // Deletes issued from now on count as after the count: one the count already saw lowers the floor, never raises it.
      const counted = await this.count();
      this.lastAt = this.now();
      if (counted.records === null || this.stopped) return;
      this.records = counted.records;
      this.recounts++;
      this.base = before;
      this.countedAt = new Date().toISOString();
      this.save(this.records, this.deletes - this.base, this.countedAt);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The last count taken after the open and when (ISO, UTC); null until a checkpoint has counted. */
  get last(): { records: number; countedAt: string } | null {
    return this.recounts ? { records: this.records, countedAt: this.countedAt } : null;
  }
  private recounts = 0;

  /** Writes the marker again with the last count and the deletes since it (after something else in it changed, e.g. losses). */
  resave(): void {
    if (!this.stopped) this.save(this.records, this.deletes - this.base, this.countedAt);
  }

  /** No more counts (the store is closing); resolves when one in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private willDelete(n: number): void {
    if (n === 0 || this.stopped) return;
    this.deletes += n;
    this.save(this.records, this.deletes - this.base, this.countedAt);
  }
}
