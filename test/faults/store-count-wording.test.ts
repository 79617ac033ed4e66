import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';

// /healthz's store line said "0 records (new store)" from the count taken at open, long after records were
// written: every count it shows now says when it was taken (at open, at the last count), and the later count comes first.
const H = 3_600_000;
const slots = (n: number, from = Date.parse('2025-06-02T00:00:00Z')) => Array.from({ length: n }, (_, i) => ({ start: from + i * H, end: from + (i + 1) * H, value: 50 + i }));

describe('the store says when it counted its records (real LevelDB in a temp dir)', () => {
  it('a new store written to: "at open" until counted again, then the later count with its time first', async () => {
    const store = await SeriesStore.open(join(mkdtempSync(join(tmpdir(), 'choco-count-')), 'store'));
    try {
      expect(store.integrity()).toMatchObject({ state: 'ok', records: 0, message: '0 records at open (new store)' });
      await store.write('omie_es', 'EUR/MWh', slots(24), { source: 'test', fetchedAt: Date.now() });
      // Written, not counted yet: the line still says only what it knows, and when.
      expect(store.integrity().message).toBe('0 records at open (new store)');
      expect(store.integrity().message).not.toMatch(/^0 records \(new store\)/);
      await store.checkpoint();
      const h = store.integrity();
      expect(h.state).toBe('ok');
      // 24 slots and the series' meta record.
      expect(h.lastCount).toMatchObject({ records: 25 });
      expect(h.message).toMatch(/^25 records at the last count \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\); 0 records at open \(new store\)$/);
      expect(Date.parse(h.lastCount!.at)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('a store reopened after a clean close counts at open, and says so', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'choco-count-')), 'store');
    const first = await SeriesStore.open(dir);
    await first.write('omie_es', 'EUR/MWh', slots(12), { source: 'test', fetchedAt: Date.now() });
    await first.close();
    const again = await SeriesStore.open(dir);
    try {
      expect(again.integrity()).toMatchObject({ state: 'ok', records: 13, message: '13 records at open' });
      expect(again.integrity().lastCount).toBeUndefined();
    } finally {
      await again.close();
    }
  });
});
