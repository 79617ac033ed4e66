import type { StoredSlot } from './slots.js';
import type { SeriesPosition, SeriesStore } from './store.js';

/** A series a plugin writes, with its freshness expectations. */
export interface SeriesDescriptor {
  id: string;
  unit: string;
  description: string;
  source: string;
  /** The series is stale when no stored slot covers now, or its last fetch is older than this. */
  staleAfterMs: number;
  /** A stale series makes /healthz fail. */
  critical: boolean;
  /** The latest slot still counts as current this long after it ended (observations that arrive late). */
  currentWithinMs?: number;
  /** A forecast of what comes after the published values (e.g. prices beyond D+1): it never covers now, so it is stale only by the age of its last fetch. */
  ahead?: boolean;
}

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
      prev.ahead = (prev.ahead ?? false) && (d.ahead ?? false);
    }
  }
  return [...byId.values()];
}

/** Where a series stands now: its current slot, how far ahead it is known, and whether it is stale (and why). Constant time per series (see SeriesStore.status). */
export async function seriesStatus(store: SeriesStore, d: SeriesDescriptor & { sources: string[] }, now: number): Promise<SeriesStatus> {
  return statusFrom(d, await store.status(d.id, now), now);
}

/** `seriesStatus` of many series; those memory answers are done without a promise each (thousands of Modbus points). */
export async function seriesStatuses(store: SeriesStore, ds: ReadonlyArray<SeriesDescriptor & { sources: string[] }>, now: number): Promise<SeriesStatus[]> {
  const out = new Array<SeriesStatus>(ds.length);
  const waits: Array<Promise<void>> = [];
  ds.forEach((d, i) => {
    const known = store.statusNow(d.id, now);
    if (known === 'seek') waits.push(store.status(d.id, now).then((p) => void (out[i] = statusFrom(d, p, now))));
    else out[i] = statusFrom(d, known, now);
  });
  await Promise.all(waits);
  return out;
}

function statusFrom(d: SeriesDescriptor & { sources: string[] }, meta: SeriesPosition | undefined, now: number): SeriesStatus {
  const latest = meta?.latest;
  const lateEnough = latest && latest.end <= now && latest.end + (d.currentWithinMs ?? 0) > now ? latest : undefined;
  const current = meta?.at ?? lateEnough ?? null;
  const ageMs = meta ? now - meta.fetchedAt : null;
  let staleReason: string | null = null;
  if (!meta) staleReason = 'no data stored yet';
  else if (!current && !d.ahead) staleReason = `no value covers now (latest ends ${latest ? new Date(latest.end).toISOString() : 'never'})`;
  else if (ageMs !== null && ageMs > d.staleAfterMs) staleReason = `last fetched ${Math.round(ageMs / 60_000)} min ago (limit ${Math.round(d.staleAfterMs / 60_000)} min)`;
  return {
    id: d.id,
    unit: d.unit,
    description: d.description,
    sources: d.sources,
    critical: d.critical,
    source: meta?.source ?? null,
    fetchedAt: meta?.fetchedAt ?? null,
    ageMs,
    current,
    horizonEnd: latest && latest.end > now ? latest.end : null,
    stale: staleReason !== null,
    staleReason,
  };
}
