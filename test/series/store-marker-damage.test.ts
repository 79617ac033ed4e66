/**
 * A garbled store marker (`CHOCO-EDGE-STORE.json`, tester5 fault 13): it used to read as "no marker", so the open said
 * `N records at open (no earlier count to compare with)`, health ok, and wrote a new marker: the damage went
 * unreported and the count that loss detection compares with was reset. Now an unreadable marker is itself damage:
 * reported (degraded, with what to do) until acknowledged, kept across restarts, the unreadable file kept aside, and
 * with no data file left it is never taken for a new store. Real LevelDB in temp dirs.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARKER_FILE, StoreOpenError } from '../../gateway/series/integrity.js';
import { SeriesStore } from '../../gateway/series/store.js';

const H = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

async function seeded(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'choco-marker-')), 'store');
  const store = await SeriesStore.open(dir, { verify: false });
  await store.write('pvpc', 'EUR/MWh', Array.from({ length: 10 }, (_, i) => ({ start: T0 + i * H, end: T0 + (i + 1) * H, value: 100 + i })), { source: 'ree', fetchedAt: 1 });
  await store.close();
  return dir;
}

describe('an unreadable store marker', () => {
  it('is reported (degraded, with the remedy) until acknowledged, across restarts; never read as a store with no earlier count', async () => {
    const dir = await seeded();
    writeFileSync(join(dir, MARKER_FILE), '{garbage');
    const store = await SeriesStore.open(dir, { verify: false });
    const h = store.integrity();
    expect(h.state).toBe('degraded');
    expect(h.message).not.toMatch(/no earlier count/);
    expect(h.message).toMatch(new RegExp(`marker ${MARKER_FILE} was unreadable .*the count at the last clean shutdown is unknown, so records lost before that open cannot be ruled out \\(counted anew: 11 records\\).*POST /api/store/losses/acknowledge`));
    // The unreadable file is kept for the operator, and the finding is in the marker written now.
    const kept = readdirSync(dir).filter((f) => f.startsWith(`${MARKER_FILE}.unreadable-`));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, kept[0]!), 'utf8')).toBe('{garbage');
    expect(JSON.parse(readFileSync(join(dir, MARKER_FILE), 'utf8')).markerDamaged).toMatchObject({ why: expect.any(String), copy: join(dir, kept[0]!) });
    await store.close();

    const again = await SeriesStore.open(dir, { verify: false });
    expect(again.integrity()).toMatchObject({ state: 'degraded', markerDamaged: h.markerDamaged });
    expect(again.acknowledgeLosses()).toEqual([expect.stringMatching(/marker was unreadable/)]);
    expect(again.integrity().state).toBe('ok');
    await again.close();
    const acknowledged = await SeriesStore.open(dir, { verify: false });
    expect(acknowledged.integrity()).toMatchObject({ state: 'ok', records: 11 });
    expect(acknowledged.integrity().markerDamaged).toBeUndefined();
    await acknowledged.close();
  });

  it('a marker that is not ours or has no count is unreadable too; with every data file gone the store is not opened as new', async () => {
    const dir = await seeded();
    writeFileSync(join(dir, MARKER_FILE), JSON.stringify({ format: 'choco-edge-store', records: 'eleven' }));
    const store = await SeriesStore.open(dir, { verify: false });
    expect(store.integrity().message).toMatch(/its record count is not a number \("eleven"\)/);
    await store.close();

    const gone = await seeded();
    for (const f of readdirSync(gone)) if (f !== MARKER_FILE) rmSync(join(gone, f), { recursive: true });
    writeFileSync(join(gone, MARKER_FILE), '{garbage');
    const error = await SeriesStore.open(gone).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreOpenError);
    expect((error as Error).message).toMatch(/no data file is left and the store's marker is unreadable .*a store was here\. To fix: restore a backup/);
    expect(existsSync(join(gone, 'CURRENT'))).toBe(false);
  });
});
