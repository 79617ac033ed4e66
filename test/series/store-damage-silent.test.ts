import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMarker } from '../../gateway/series/integrity.js';
import { repairStore } from '../../gateway/series/repair.js';
import { SeriesStore } from '../../gateway/series/store.js';

/**
 * Issue #28.3: store damage that stayed silent. Real LevelDB in temp dirs, the golden record count (240: 239
 * hourly slots and their meta record) checked after each damage.
 */
const H = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const GOLDEN = 240;

async function seeded(flushToTables: boolean): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'choco-silent-')), 'store');
  const store = await SeriesStore.open(dir);
  for (let d = 0; d < 10; d++) {
    const n = d === 9 ? 23 : 24;
    await store.write('pvpc', 'EUR/MWh', Array.from({ length: n }, (_, i) => ({ start: T0 + (d * 24 + i) * H, end: T0 + (d * 24 + i + 1) * H, value: 100 + d + i / 100 })), { source: 'ree', fetchedAt: d });
  }
  await store.close();
  if (flushToTables) await (await SeriesStore.open(dir)).close();
  return dir;
}
const files = (dir: string, re: RegExp) => readdirSync(dir).filter((f) => re.test(f)).sort();
const snapshot = (dir: string) => Object.fromEntries(files(dir, /\.(log|ldb)$|^MANIFEST-|^CURRENT$/).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

describe('store damage is never silent', () => {
  it("the repair's copy is a byte copy of the damaged store, taken before anything opens it", async () => {
    const dir = await seeded(false); // the records are still in the .log
    const [log] = files(dir, /\.log$/);
    const bytes = readFileSync(join(dir, log!));
    bytes.fill(0x5a, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 64); // garble the middle of the .log
    writeFileSync(join(dir, log!), bytes);
    const damaged = snapshot(dir);
    const r = await repairStore(dir);
    // main opened the store first, so the copy held the recovered table and a new MANIFEST, not the damaged .log.
    expect(snapshot(r.backup)).toEqual(damaged);
  });

  it('a half-truncated table: the marker keeps its count, the repair reports the loss against it, and health keeps it until acknowledged', async () => {
    const dir = await seeded(true);
    const [table] = files(dir, /\.ldb$/);
    truncateSync(join(dir, table!), Math.floor(statSync(join(dir, table!)).size / 2));
    const store = await SeriesStore.open(dir);
    expect(store.integrity()).toMatchObject({ state: 'failed', records: null });
    expect(store.integrity().message).toMatch(/To fix: stop the gateway and run `choco-edge store repair`/);
    await store.close();
    // main reset the marker's count to 0 here, so the repair could not tell what was lost.
    expect(readMarker(dir)?.records).toBe(GOLDEN);
    const r = await repairStore(dir);
    expect(r.recordsBefore).toBe(GOLDEN);
    expect(r.recordsAfter).toBeLessThan(GOLDEN);
    expect(r.losses.at(-1)).toMatch(new RegExp(`${GOLDEN - r.recordsAfter} of ${GOLDEN} records lost`));
    // main: health "ok" after the repair. The loss stays, across restarts, until an operator acknowledges it.
    for (let open = 0; open < 2; open++) {
      const again = await SeriesStore.open(dir);
      expect(again.integrity()).toMatchObject({ state: 'failed', records: r.recordsAfter });
      expect(again.integrity().message).toMatch(/records lost/);
      await again.close();
    }
    const last = await SeriesStore.open(dir);
    expect(last.acknowledgeLosses().length).toBeGreaterThan(0);
    expect(last.integrity()).toMatchObject({ state: 'ok', records: r.recordsAfter, losses: [] });
    await last.close();
  });

  it('after an unclean stop, a .log emptied or deleted is a loss, counted against the count taken while running', async () => {
    for (const damage of ['log emptied', 'log deleted'] as const) {
      const dir = await seeded(true); // 240 records in a table
      const store = await SeriesStore.open(dir);
      // 120 more slots while running (in the .log), counted; then a re-ingest of day 14 as one slot deletes 23.
      for (let d = 10; d < 15; d++) await store.write('pvpc', 'EUR/MWh', Array.from({ length: 24 }, (_, i) => ({ start: T0 + (d * 24 + i) * H, end: T0 + (d * 24 + i + 1) * H, value: d })), { source: 'ree', fetchedAt: d });
      await store.checkpoint();
      await store.write('pvpc', 'EUR/MWh', [{ start: T0 + 14 * 24 * H, end: T0 + 15 * 24 * H, value: 1 }], { source: 'ree', fetchedAt: 20, replaceRange: true });
      // The crash: the files as they are on disk now, the gateway still running (no clean shutdown). Two images.
      const image = () => {
        const to = join(mkdtempSync(join(tmpdir(), 'choco-crash-')), 'store');
        execFileSync('cp', ['-a', dir, to]);
        return to;
      };
      const golden = image();
      const crash = image();
      await store.close();
      expect(readMarker(crash)).toMatchObject({ cleanShutdown: false, records: GOLDEN + 120, deletesSinceCount: 23 });
      const undamaged = await SeriesStore.open(golden);
      expect(undamaged.integrity(), 'the crash image itself is whole').toMatchObject({ state: 'ok', records: GOLDEN + 120 - 23 });
      await undamaged.close();
      for (const f of files(crash, /\.log$/)) {
        if (damage === 'log emptied') truncateSync(join(crash, f), 0);
        else rmSync(join(crash, f));
      }
      const damaged = await SeriesStore.open(crash);
      // main: state ok, "240 records (no earlier count to compare with)": 97 records gone without a word.
      expect(damaged.integrity(), damage).toMatchObject({ state: 'failed', records: GOLDEN });
      expect(damaged.integrity().message, damage).toMatch(/at least 97 records lost after an unclean stop: 360 were counted at .* and 23 deleted since, 240 are left/);
      await damaged.close();
    }
  });

  const canMount = process.getuid?.() === 0;
  it.skipIf(!canMount)('a read-only store is refused as read-only, with its remedy, never as "locked by another process" (read-only bind mount: needs root)', async () => {
    const dir = await seeded(true);
    execFileSync('mount', ['--bind', dir, dir]);
    try {
      execFileSync('mount', ['-o', 'remount,ro,bind', dir]);
      const error = (await SeriesStore.open(dir).catch((e: unknown) => e)) as Error;
      expect(error.message).not.toMatch(/locked by another process|in use/);
      expect(error.message).toMatch(/read-only .*To fix: remount/);
      const repair = (await repairStore(dir).catch((e: unknown) => e)) as Error;
      expect(repair.message).toMatch(/read-only/);
    } finally {
      execFileSync('umount', [dir]);
    }
    // Nothing was harmed: every record is there.
    const store = await SeriesStore.open(dir);
    expect(store.integrity()).toMatchObject({ state: 'ok', records: GOLDEN });
    await store.close();
    rmSync(`${dir}`, { recursive: true, force: true });
  });
});
