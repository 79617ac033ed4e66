import { createHash } from 'node:crypto';
import type { Slot, StoredSlot, Unit } from './slots.js';
import { HOUR_MS } from '../time/tz.js';

/** How a device's cycle is laid out: one series per point, the block each point was read in, the poll period. */
export interface DeviceLayout {
  device: string;
  source: string;
  pollMs: number;
  series: string[];
  units: Unit[];
  /** Index of the read block of each point (its read time is the cycle's time plus that block's offset). */
  blockOf: number[];
}

/** One poll cycle of one device: when its first block was read, each block's delay after that, each point's value (null: not read). */
export interface DeviceCycle {
  at: number;
  offsets: number[];
  values: Array<number | null>;
}

export interface ReadingsOptions {
  /** Pending cycles are written in one batch (fsynced when the store syncs) this often (real time, ms). */
  commitMs: number;
  /** Raw readings are kept this long, then folded into aggregate slots. */
  rawHours: number;
  /** Aggregate slot length (ms): mean into `<series>`, min and max into `<series>.min` / `<series>.max`. */
  aggregateMs: number;
  /** Pending cycles kept in memory while commits fail; the oldest are dropped (and counted) beyond this. */
  maxPending: number;
}

export const DEFAULT_READINGS: ReadingsOptions = { commitMs: 5_000, rawHours: 48, aggregateMs: 15 * 60_000, maxPending: 100_000 };

type Op = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

/** What the log needs from the store it lives in. */
export interface ReadingsBackend {
  batch(ops: Op[]): Promise<void>;
  iterate(range: { gte?: string; lt?: string; reverse?: boolean; limit?: number }): AsyncIterable<[string, unknown]>;
  /** Ops that write slots into a regular series (and its meta), with a callback to run once they are stored. */
  slotOps(series: string, unit: Unit, slots: Slot[], source: string, fetchedAt: number): { ops: Op[]; stored: () => void };
}

interface StoredCycle {
  l: string;
  o?: number[];
  v: Array<number | null>;
}

export interface ReadingsStats {
  pendingCycles: number;
  committedCycles: number;
  commits: number;
  /** Read time of the newest committed cycle: everything read before it is on disk. */
  committedUntil: number | null;
  lastCommitAt: number | null;
  lastCommitMs: number | null;
  droppedCycles: number;
  commitErrors: number;
  /** Why the last commit failed (a store failure, e.g. disk full); null once a commit succeeds again. */
  lastCommitError: string | null;
  aggregatedCycles: number;
}

const cycleKey = (device: string, at: number): string => `r!${device}!${String(Math.max(0, Math.round(at))).padStart(15, '0')}`;
const layoutKey = (device: string, id: string): string => `y!${device}!${id}`;

/**
 * Raw Modbus readings, one record per device per poll cycle, written by group commit: cycles wait in memory and
 * every `commitMs` all of them go to LevelDB in one batch. A cycle is acknowledged once a commit holding it
 * resolved; a crash loses at most the cycles read since the last commit. Records older than `rawHours` are
 * folded into min/mean/max slots of `aggregateMs` in the regular series (the shape price retention keeps).
 */
export class ReadingsLog {
  private readonly layouts = new Map<string, DeviceLayout & { id: string }>();
  private readonly knownLayouts = new Map<string, DeviceLayout>();
  private readonly index = new Map<string, { device: string; i: number }>();
  private readonly last = new Map<string, StoredSlot>();
  private pending: Array<{ key: string; value: StoredCycle; at: number }> = [];
  private pendingLayouts: Array<{ type: 'put'; key: string; value: DeviceLayout }> = [];
  private timer?: NodeJS.Timeout;
  private committing?: Promise<void>;
  private lastAggregateAt = 0;
  readonly stats: ReadingsStats = { pendingCycles: 0, committedCycles: 0, commits: 0, committedUntil: null, lastCommitAt: null, lastCommitMs: null, droppedCycles: 0, commitErrors: 0, lastCommitError: null, aggregatedCycles: 0 };

  constructor(
    private readonly backend: ReadingsBackend,
    readonly options: ReadingsOptions,
    private readonly now: () => number = Date.now,
  ) {}

  has(series: string): boolean {
    return this.index.has(series);
  }

  /** Declares a device's layout (stored with the next commit) and loads its latest cycle so status is right after a restart. */
  async register(layout: DeviceLayout): Promise<void> {
    const id = createHash('sha1').update(JSON.stringify([layout.series, layout.blockOf, layout.pollMs, layout.source])).digest('hex').slice(0, 12);
    const full = { ...layout, id };
    this.layouts.set(layout.device, full);
    this.knownLayouts.set(id, layout);
    layout.series.forEach((s, i) => this.index.set(s, { device: layout.device, i }));
    const layoutOp = { type: 'put' as const, key: layoutKey(layout.device, id), value: layout };
    try {
      await this.backend.batch([layoutOp]);
      for await (const [key, raw] of this.backend.iterate({ gte: cycleKey(layout.device, 0), lt: `r!${layout.device}!~`, reverse: true, limit: 1 })) {
        for (const slot of await this.slotsOf(key, raw as StoredCycle)) if (!this.last.has(slot.series)) this.last.set(slot.series, slot.slot);
      }
    } catch (error) {
      // The store refuses (disk full, closed): the device still polls; its layout goes with the next commit.
      this.pendingLayouts.push(layoutOp);
      this.stats.lastCommitError = error instanceof Error ? error.message : String(error);
    }
    this.startTimer();
  }

  /** Queues one cycle for the next commit; its values are visible to `latest` and `read` at once. */
  append(device: string, cycle: DeviceCycle): void {
    const layout = this.layouts.get(device);
    if (!layout) throw new Error(`readings: device ${device} has no registered layout`);
    if (cycle.values.length !== layout.series.length) throw new Error(`readings: ${device} sent ${cycle.values.length} values for ${layout.series.length} points`);
    const value: StoredCycle = { l: layout.id, v: cycle.values, ...(cycle.offsets.some((o) => o !== 0) ? { o: cycle.offsets } : {}) };
    this.pending.push({ key: cycleKey(device, cycle.at), value, at: cycle.at });
    if (this.pending.length > this.options.maxPending) {
      this.pending.shift();
      this.stats.droppedCycles++;
    }
    this.stats.pendingCycles = this.pending.length;
    cycle.values.forEach((v, i) => {
      if (v === null) return;
      const start = cycle.at + (cycle.offsets[layout.blockOf[i]!] ?? 0);
      this.last.set(layout.series[i]!, { start, end: start + layout.pollMs, value: v, source: layout.source, fetchedAt: start });
    });
  }

  latest(series: string): StoredSlot | undefined {
    return this.last.get(series);
  }

  /** Writes every pending cycle in one batch; resolves when it is stored (the acknowledgement). */
  commit(): Promise<void> {
    const run = async (): Promise<void> => {
      await this.committing?.catch(() => undefined);
      const batch = this.pending;
      const layouts = this.pendingLayouts;
      if (!batch.length && !layouts.length) return;
      this.pending = [];
      this.pendingLayouts = [];
      const t0 = performance.now();
      try {
        await this.backend.batch([...layouts, ...batch.map((c) => ({ type: 'put' as const, key: c.key, value: c.value }))]);
      } catch (error) {
        this.pending = [...batch, ...this.pending];
        this.pendingLayouts = [...layouts, ...this.pendingLayouts];
        this.stats.commitErrors++;
        this.stats.lastCommitError = error instanceof Error ? error.message : String(error);
        throw error;
      } finally {
        this.stats.pendingCycles = this.pending.length;
      }
      this.stats.commits++;
      this.stats.lastCommitError = null;
      this.stats.committedCycles += batch.length;
      if (batch.length) this.stats.committedUntil = Math.max(this.stats.committedUntil ?? -Infinity, ...batch.map((c) => c.at));
      this.stats.lastCommitAt = Date.now();
      this.stats.lastCommitMs = performance.now() - t0;
    };
    const p = run();
    this.committing = p;
    return p;
  }

  /** Raw readings of one series in [from, to), oldest first, committed and pending alike. */
  async read(series: string, from: number, to: number): Promise<StoredSlot[]> {
    const where = this.index.get(series);
    if (!where) return [];
    const layout = this.layouts.get(where.device)!;
    const out: StoredSlot[] = [];
    const collect = async (key: string, raw: StoredCycle): Promise<void> => {
      for (const s of await this.slotsOf(key, raw)) if (s.series === series && s.slot.end > from && s.slot.start < to) out.push(s.slot);
    };
    for await (const [key, raw] of this.backend.iterate({ gte: cycleKey(where.device, from - layout.pollMs - HOUR_MS / 60), lt: cycleKey(where.device, to) })) await collect(key, raw as StoredCycle);
    for (const c of this.pending) if (c.key.startsWith(`r!${where.device}!`) && c.at < to) await collect(c.key, c.value);
    return out.sort((a, b) => a.start - b.start);
  }

  /** Folds raw cycles older than `rawHours` into aggregate slots, one aggregate slot at a time per device; returns how many cycles. */
  async aggregate(now: number, maxBuckets = 8): Promise<number> {
    const bucket = this.options.aggregateMs;
    const cutoff = Math.floor((now - this.options.rawHours * HOUR_MS) / bucket) * bucket;
    let folded = 0;
    const devices = new Set<string>();
    for await (const [key] of this.backend.iterate({ gte: 'y!', lt: 'y!~' })) devices.add(key.split('!')[1]!);
    for (const device of devices) {
      for (let n = 0; n < maxBuckets; n++) {
        const records: Array<[string, StoredCycle]> = [];
        let bucketStart: number | undefined;
        for await (const [key, raw] of this.backend.iterate({ gte: cycleKey(device, 0), lt: cycleKey(device, cutoff) })) {
          const at = Number(key.slice(key.lastIndexOf('!') + 1));
          bucketStart ??= Math.floor(at / bucket) * bucket;
          if (at >= bucketStart + bucket) break;
          records.push([key, raw as StoredCycle]);
        }
        if (!records.length || bucketStart === undefined) break;
        const acc = new Map<string, { unit: Unit; source: string; min: number; max: number; sum: number; n: number }>();
        for (const [key, raw] of records) {
          for (const { series, unit, slot } of await this.slotsOf(key, raw)) {
            const a = acc.get(series) ?? { unit, source: slot.source, min: Infinity, max: -Infinity, sum: 0, n: 0 };
            a.min = Math.min(a.min, slot.value);
            a.max = Math.max(a.max, slot.value);
            a.sum += slot.value;
            a.n++;
            acc.set(series, a);
          }
        }
        const ops: Op[] = records.map(([key]) => ({ type: 'del', key }));
        const stored: Array<() => void> = [];
        for (const [series, a] of acc) {
          const slot = (value: number): Slot[] => [{ start: bucketStart!, end: bucketStart! + bucket, value: Math.round(value * 1e6) / 1e6 }];
          for (const [id, value] of [[series, a.sum / a.n], [`${series}.min`, a.min], [`${series}.max`, a.max]] as const) {
            const w = this.backend.slotOps(id, a.unit, slot(value), a.source, bucketStart + bucket);
            ops.push(...w.ops);
            stored.push(w.stored);
          }
        }
        await this.backend.batch(ops);
        for (const s of stored) s();
        folded += records.length;
      }
    }
    this.stats.aggregatedCycles += folded;
    return folded;
  }

  /** Commits what is pending and stops the commit timer. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.commit();
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.commit().catch(() => undefined);
      const now = this.now();
      if (now - this.lastAggregateAt >= this.options.aggregateMs) {
        this.lastAggregateAt = now;
        void (this.committing ?? Promise.resolve()).then(() => this.aggregate(now)).catch(() => undefined);
      }
    }, this.options.commitMs);
    this.timer.unref();
  }

  private async slotsOf(key: string, raw: StoredCycle): Promise<Array<{ series: string; unit: Unit; slot: StoredSlot }>> {
    const device = key.split('!')[1]!;
    const layout = this.knownLayouts.get(raw.l) ?? (await this.loadLayout(device, raw.l));
    if (!layout) return [];
    const at = Number(key.slice(key.lastIndexOf('!') + 1));
    const out: Array<{ series: string; unit: Unit; slot: StoredSlot }> = [];
    raw.v.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const start = at + (raw.o?.[layout.blockOf[i]!] ?? 0);
      out.push({ series: layout.series[i]!, unit: layout.units[i]!, slot: { start, end: start + layout.pollMs, value: v, source: layout.source, fetchedAt: start } });
    });
    return out;
  }

  private async loadLayout(device: string, id: string): Promise<DeviceLayout | undefined> {
    for await (const [, value] of this.backend.iterate({ gte: layoutKey(device, id), lt: `${layoutKey(device, id)}~`, limit: 1 })) {
      this.knownLayouts.set(id, value as DeviceLayout);
      return value as DeviceLayout;
    }
    return undefined;
  }
}
