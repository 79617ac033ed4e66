import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';

const H = 3_600_000;
const D = 24 * H;
let store: SeriesStore | undefined;
const open = async (dir = mkdtempSync(join(tmpdir(), 'choco-store-'))): Promise<SeriesStore> => (store = await SeriesStore.open(dir));
afterEach(async () => store?.close());

const hours = (from: number, n: number, value = (i: number) => i) => Array.from({ length: n }, (_, i) => ({ start: from + i * H, end: from + (i + 1) * H, value: value(i) }));

describe('series store on LevelDB', () => {
  it('reads ranges in time order and re-ingesting the same hours updates without duplicates', async () => {
    const s = await open();
    const t0 = Date.parse('2025-10-01T00:00:00Z');
    await s.write('pvpc', 'EUR/MWh', hours(t0, 24).reverse(), { source: 'ree', fetchedAt: 1 });
    await s.write('pvpc', 'EUR/MWh', hours(t0, 24, (i) => i * 10), { source: 'esios', fetchedAt: 2 });
    const slots = await s.read('pvpc', t0, t0 + D);
    expect(slots).toHaveLength(24);
    expect(slots.map((x) => x.start)).toEqual([...slots.map((x) => x.start)].sort((a, b) => a - b));
    expect(slots[3]).toMatchObject({ value: 30, source: 'esios', fetchedAt: 2 });
    expect(await s.count('pvpc')).toBe(24);
    expect((await s.meta('pvpc'))?.lastSource).toBe('esios');
  });

  it('replaces a re-published day whole when its resolution changes', async () => {
    const s = await open();
    const t0 = Date.parse('2025-10-01T00:00:00Z');
    const quarters = Array.from({ length: 8 }, (_, i) => ({ start: t0 + i * 900_000, end: t0 + (i + 1) * 900_000, value: i }));
    await s.write('omie_es', 'EUR/MWh', quarters, { source: 'omie', fetchedAt: 1 });
    const r = await s.write('omie_es', 'EUR/MWh', hours(t0, 2), { source: 'omie', fetchedAt: 2, replaceRange: true });
    expect(r).toEqual({ written: 2, removed: 6 });
    expect((await s.read('omie_es', t0, t0 + 2 * H)).map((x) => x.end - x.start)).toEqual([H, H]);
  });

  it('reports gaps per series and finds the slot covering the range start', async () => {
    const s = await open();
    const t0 = Date.parse('2025-10-01T00:00:00Z');
    await s.write('x', 'EUR/MWh', [...hours(t0, 3), ...hours(t0 + 5 * H, 2)], { source: 't', fetchedAt: 1 });
    expect(await s.gaps('x', t0, t0 + 8 * H)).toEqual([{ start: t0 + 3 * H, end: t0 + 5 * H }, { start: t0 + 7 * H, end: t0 + 8 * H }]);
    expect((await s.read('x', t0 + 0.5 * H, t0 + H))[0]!.start).toBe(t0);
  });

  it('refuses invalid slots and ids without writing anything', async () => {
    const s = await open();
    await expect(s.write('x', 'EUR/MWh', [{ start: 0, end: H, value: 1 }, { start: H, end: 2 * H, value: Number.NaN }], { source: 't', fetchedAt: 1 })).rejects.toThrow(/invalid slot/);
    await expect(s.write('Bad Id', 'EUR/MWh', hours(0, 1), { source: 't', fetchedAt: 1 })).rejects.toThrow(/invalid series id/);
    expect(await s.count('x')).toBe(0);
  });

  it('downsamples old quarter-hours to hourly means and expires what is past keepDays', async () => {
    const s = await open();
    const now = Date.parse('2025-12-01T00:00:00Z');
    const old = now - 40 * D;
    const quarters = Array.from({ length: 8 }, (_, i) => ({ start: old + i * 900_000, end: old + (i + 1) * 900_000, value: i }));
    const recent = Array.from({ length: 4 }, (_, i) => ({ start: now - D + i * 900_000, end: now - D + (i + 1) * 900_000, value: 1 }));
    await s.write('omie_es', 'EUR/MWh', [...quarters, ...recent], { source: 'omie', fetchedAt: 1 });
    await s.write('ancient', 'EUR/MWh', hours(now - 400 * D, 2), { source: 'omie', fetchedAt: 1 });
    const r = await s.applyRetention(now, { rawDays: 35, keepDays: 365 });
    expect(r).toEqual({ downsampled: 8, deleted: 2 });
    const after = await s.read('omie_es', old, now);
    expect(after.slice(0, 2).map((x) => [x.end - x.start, x.value])).toEqual([[H, 1.5], [H, 5.5]]);
    expect(after.slice(2)).toHaveLength(4);
    expect(await s.count('ancient')).toBe(0);
    const c = await s.compact();
    expect(c.bytesAfter).toBeGreaterThanOrEqual(0);
    expect(await s.count('omie_es')).toBe(6);
  });

  it('persists small values (job state) across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-store-'));
    const s = await open(dir);
    await s.setValue('job.x.lastRun', 42);
    await s.close();
    const again = await open(dir);
    expect(await again.getValue('job.x.lastRun')).toBe(42);
  });
});
