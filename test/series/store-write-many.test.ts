// The ingest path's store work (issue 24, ingest → store → MQTT tail): a day's series in ONE fsynced batch, no
// range read when nothing can be in the range, no read-back of a day the write itself covers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { DaySource } from '../../gateway/sources/day-source.js';
import { EventBus } from '../../gateway/core/event-bus.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { silent } from '../helpers/context.js';

const Q = 900_000;
const H = 3_600_000;
let store: SeriesStore | undefined;
afterEach(async () => store?.close());
const quarters = (from: number, n: number, value = (i: number) => i) => Array.from({ length: n }, (_, i) => ({ start: from + i * Q, end: from + (i + 1) * Q, value: value(i) }));

/** Counts the store's LevelDB batches and range reads (its private db, wrapped in place). */
function spy(s: SeriesStore): { batches: Array<string[]>; rangeReads: number; reads: number } {
  const db = (s as unknown as { db: Record<string, (...a: unknown[]) => unknown> }).db;
  const seen = { batches: [] as Array<string[]>, rangeReads: 0, reads: 0 };
  const batch = db.batch!.bind(db);
  db.batch = (ops: unknown, o: unknown) => {
    if (Array.isArray(ops)) seen.batches.push((ops as Array<{ key: string }>).map((op) => op.key));
    return batch(ops, o);
  };
  const keys = db.keys!.bind(db);
  db.keys = (...a: unknown[]) => {
    seen.rangeReads++;
    return keys(...a);
  };
  const iterator = db.iterator!.bind(db);
  db.iterator = (...a: unknown[]) => {
    seen.reads++;
    return iterator(...a);
  };
  return seen;
}

describe('SeriesStore.writeMany', () => {
  it('writes several series as one fsynced batch, all or none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-many-'));
    const s = (store = await SeriesStore.open(dir));
    const t0 = Date.parse('2025-10-01T22:00:00Z');
    const seen = spy(s);
    const r = await s.writeMany([{ series: 'omie_es', unit: 'EUR/MWh', slots: quarters(t0, 96) }, { series: 'omie_pt', unit: 'EUR/MWh', slots: quarters(t0, 96, (i) => i + 1) }], { source: 'omie', fetchedAt: 1, replaceRange: true });
    expect(r).toEqual([{ written: 96, removed: 0 }, { written: 96, removed: 0 }]);
    expect(seen.batches).toHaveLength(1);
    expect(seen.batches[0]!.filter((k) => k.startsWith('s!omie_es!'))).toHaveLength(96);
    expect(seen.batches[0]!.filter((k) => k.startsWith('s!omie_pt!'))).toHaveLength(96);
    // An invalid slot in one series: nothing of either is written.
    await expect(s.writeMany([{ series: 'a', unit: 'EUR/MWh', slots: quarters(t0, 2) }, { series: 'b', unit: 'EUR/MWh', slots: [{ start: t0, end: t0 + Q, value: Number.NaN }] }], { source: 't', fetchedAt: 1 })).rejects.toThrow(/invalid slot/);
    await expect(s.writeMany([{ series: 'a', unit: 'EUR/MWh', slots: quarters(t0, 2) }, { series: 'a', unit: 'EUR/MWh', slots: quarters(t0, 2) }], { source: 't', fetchedAt: 1 })).rejects.toThrow(/appears twice/);
    expect(await s.count('a')).toBe(0);
    // Acknowledged: there after a reopen, with the metadata of both.
    await s.close();
    const again = (store = await SeriesStore.open(dir));
    expect((await again.read('omie_pt', t0, t0 + 96 * Q)).map((x) => x.value)).toEqual(quarters(t0, 96, (i) => i + 1).map((x) => x.value));
    expect((await again.meta('omie_es'))?.last?.start).toBe(t0 + 95 * Q);
  });

  it('reads the replaced range only when something of the series can be in it, also after a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-many-'));
    let s = (store = await SeriesStore.open(dir));
    const d1 = Date.parse('2025-10-01T22:00:00Z');
    const d2 = d1 + 96 * Q;
    await s.write('omie_es', 'EUR/MWh', quarters(d1, 96), { source: 'omie', fetchedAt: 1, replaceRange: true });
    await s.close();
    s = store = await SeriesStore.open(dir);
    let seen = spy(s);
    // The next day: its latest slot starts before, nothing to delete, no read.
    expect(await s.write('omie_es', 'EUR/MWh', quarters(d2, 96), { source: 'omie', fetchedAt: 2, replaceRange: true })).toEqual({ written: 96, removed: 0 });
    expect(seen.rangeReads).toBe(0);
    // The first day again, hourly: it is read and the quarter-hours not re-written are deleted (metadata from disk).
    await s.close();
    s = store = await SeriesStore.open(dir);
    seen = spy(s);
    const hourly = Array.from({ length: 24 }, (_, i) => ({ start: d1 + i * H, end: d1 + (i + 1) * H, value: i }));
    expect(await s.write('omie_es', 'EUR/MWh', hourly, { source: 'omie', fetchedAt: 3, replaceRange: true })).toEqual({ written: 24, removed: 72 });
    expect(seen.rangeReads).toBe(1);
    expect(await s.count('omie_es', d1, d2)).toBe(24);
    expect(await s.count('omie_es', d2, d2 + 96 * Q)).toBe(96);
  });
});

describe('DaySource ingest', () => {
  const tz = 'Europe/Madrid';
  const make = (s: SeriesStore, clock: FakeClock, series: (date: string) => Array<{ id: string; unit: 'EUR/MWh'; slots: Array<{ start: number; end: number; value: number }> }>) =>
    new DaySource(
      { name: 'omie', timezone: tz, primarySeries: ['omie_es'], describe: [], publishAfter: '13:00', staleAfterMs: 86_400_000, backfillDays: 0, backfillIntervalMs: 0, fetchDay: async (date) => ({ kind: 'data', series: series(date) }) },
      { clock, log: silent, bus: new EventBus(), store: s },
    );

  it("stores a day's ES and PT prices in one batch and, when they cover the day, does not read it back", async () => {
    const s = (store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-day-'))));
    const clock = new FakeClock('2025-10-01T11:00:00Z');
    const { start } = localDayRange('2025-10-02', tz);
    const today = localDayRange('2025-10-01', tz).start;
    const source = make(s, clock, (date) => [
      { id: 'omie_es', unit: 'EUR/MWh', slots: quarters(date === '2025-10-01' ? today : start, 96) },
      { id: 'omie_pt', unit: 'EUR/MWh', slots: quarters(date === '2025-10-01' ? today : start, 96) },
    ]);
    expect(await source.ingestDay('2025-10-01')).toBe('omie_es 96, omie_pt 96');
    // The next day, as a real gateway ingests it at 13:00: one batch, nothing read (no range to clear, no read-back).
    const seen = spy(s);
    expect(await source.ingestDay('2025-10-02')).toBe('omie_es 96, omie_pt 96');
    expect(seen.batches.filter((b) => b.some((k) => k.startsWith('s!')))).toHaveLength(1);
    expect(seen.rangeReads + seen.reads).toBe(0);
    expect(await s.count('omie_pt', start, start + 96 * Q)).toBe(96);
    expect(source.health().details?.days).toEqual({ '2025-10-01': 'complete', '2025-10-02': 'complete' });
  });

  it('a day the write leaves with a gap is judged by the store (other writes may have filled it)', async () => {
    const s = (store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-day-'))));
    const clock = new FakeClock('2025-10-01T11:00:00Z');
    const { start } = localDayRange('2025-10-02', tz);
    // The first half of the day is already stored (an earlier answer); this answer brings only the second half.
    await s.write('omie_es', 'EUR/MWh', quarters(start, 48), { source: 'omie', fetchedAt: 1 });
    const source = make(s, clock, () => [{ id: 'omie_es', unit: 'EUR/MWh', slots: quarters(start + 48 * Q, 48) }]);
    expect(await source.ingestDay('2025-10-02')).toBe('omie_es 48');
    expect(source.health().details?.days).toEqual({ '2025-10-02': 'complete' });
    const half = make(s, clock, () => [{ id: 'omie_es', unit: 'EUR/MWh', slots: quarters(localDayRange('2025-10-03', tz).start, 48) }]);
    expect(await half.ingestDay('2025-10-03')).toMatch(/incomplete, will poll again/);
  });
});
