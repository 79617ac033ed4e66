import type { SeriesDescriptor } from './plugin.js';
import { slotAt, type StoredSlot } from './series.js';
import type { SeriesStore } from './store/series-store.js';
import { DAY_MS } from './tz.js';

export interface SeriesStatus {
  id: string;
  unit: string;
  description: string;
  sources: string[];
  critical: boolean;
  /** Source of the most recent write. */
  source: string | null;
  fetchedAt: number | null;
  ageMs: number | null;
  current: StoredSlot | null;
  horizonEnd: number | null;
  stale: boolean;
  staleReason: string | null;
}

/** Merges the descriptors of all plugins that write the same series. */
export function mergeDescriptors(descriptors: SeriesDescriptor[]): Array<SeriesDescriptor & { sources: string[] }> {
  const byId = new Map<string, SeriesDescriptor & { sources: string[] }>();
  for (const d of descriptors) {
    const prev = byId.get(d.id);
    if (!prev) byId.set(d.id, { ...d, sources: [d.source] });
    else {
      prev.sources.push(d.source);
      prev.critical ||= d.critical;
      prev.staleAfterMs = Math.max(prev.staleAfterMs, d.staleAfterMs);
      prev.currentWithinMs = Math.max(prev.currentWithinMs ?? 0, d.currentWithinMs ?? 0);
    }
  }
  return [...byId.values()];
}

/** Where a series stands now: its current slot, how far ahead it is known, and whether it is stale (and why). */
export async function seriesStatus(store: SeriesStore, d: SeriesDescriptor & { sources: string[] }, now: number): Promise<SeriesStatus> {
  const meta = await store.meta(d.id);
  const window = await store.read(d.id, now, now + 3 * DAY_MS);
  const latest = await store.latest(d.id);
  const lateEnough = latest && latest.end <= now && latest.end + (d.currentWithinMs ?? 0) > now ? latest : undefined;
  const current = slotAt(window, now) ?? lateEnough ?? null;
  const ageMs = meta ? now - meta.lastFetchedAt : null;
  let staleReason: string | null = null;
  if (!meta) staleReason = 'no data stored yet';
  else if (!current) staleReason = `no value covers now (latest ends ${latest ? new Date(latest.end).toISOString() : 'never'})`;
  else if (ageMs !== null && ageMs > d.staleAfterMs) staleReason = `last fetched ${Math.round(ageMs / 60_000)} min ago (limit ${Math.round(d.staleAfterMs / 60_000)} min)`;
  return {
    id: d.id,
    unit: d.unit,
    description: d.description,
    sources: d.sources,
    critical: d.critical,
    source: meta?.lastSource ?? null,
    fetchedAt: meta?.lastFetchedAt ?? null,
    ageMs,
    current,
    horizonEnd: latest && latest.end > now ? latest.end : null,
    stale: staleReason !== null,
    staleReason,
  };
}
