import type { Slot, StoredSlot, Unit } from './slots.js';

/** What the store keeps per series, updated in the same batch as every write, so status never scans history. */
export interface SeriesMeta {
  id: string;
  unit: Unit;
  lastSource: string;
  lastFetchedAt: number;
  updatedAt: number;
  /** The slot with the latest start ever written (ms UTC); absent in metas written before it was kept. */
  last?: StoredSlot;
  /** Slots written over the series' life (overwrites count again). */
  written?: number;
  /** Longest slot ever written (ms): how far back a slot covering a given time can start. */
  maxSlotMs?: number;
}

/** The metas of every series in memory: loaded once at open, replaced after each acknowledged write. */
export class SeriesMetaCache {
  private readonly metas = new Map<string, SeriesMeta>();

  load(metas: Iterable<SeriesMeta>): void {
    for (const m of metas) this.metas.set(m.id, m);
  }

  get(series: string): SeriesMeta | undefined {
    return this.metas.get(series);
  }

  all(): SeriesMeta[] {
    return [...this.metas.values()];
  }

  set(meta: SeriesMeta): void {
    this.metas.set(meta.id, meta);
  }

  /** The meta after writing `slots` (not yet stored: the caller puts it in its batch, then calls `set`). */
  next(series: string, unit: Unit, slots: readonly Slot[], source: string, fetchedAt: number, now: number): SeriesMeta {
    const prev = this.metas.get(series);
    let last = prev?.last;
    let maxSlotMs = prev?.maxSlotMs ?? 0;
    for (const s of slots) {
      if (!last || s.start >= last.start) last = { start: s.start, end: s.end, value: s.value, source, fetchedAt };
      maxSlotMs = Math.max(maxSlotMs, s.end - s.start);
    }
    return { id: series, unit, lastSource: source, lastFetchedAt: fetchedAt, updatedAt: now, ...(last ? { last } : {}), written: (prev?.written ?? 0) + slots.length, maxSlotMs };
  }
}
