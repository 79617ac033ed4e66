import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMarker } from '../../gateway/series/integrity.js';
import { rangeBounds, rangeOf } from '../../gateway/series/verified-ranges.js';
import { SeriesStore } from '../../gateway/series/store.js';
import type { Verification } from '../../gateway/series/verified-ranges.js';

/**
 * Issue #24: the store's check at open costs what was written since the last full verification, not the history;
 * the full verification runs in the background and reports damage in older ranges as the open did. Real LevelDB in
 * temp dirs; damage done with the gateway stopped, to the files, as a disk or an operator would.
 */
const Q = 900_000;
const DAY = 96;
const JAN = Date.parse('2026-01-01T00:00:00Z');
const APR = Date.parse('2026-04-01T00:00:00Z');

const quarters = (from: number, n: number, value = (i: number) => i) => Array.from({ length: n }, (_, i) => ({ start: from + i * Q, end: from + (i + 1) * Q, value: value(i) }));
const newDir = () => join(mkdtempSync(join(tmpdir(), 'choco-verified-')), 'store');

/** 90 days (January to March) of two quarter-hour series, a day per write: 17,280 slots and 2 meta records. */
async function history(dir: string): Promise<SeriesStore> {
  const store = await SeriesStore.open(dir, { sync: false, verify: false });
  for (let d = 0; d < 90; d++) {
    for (const series of ['meter.main', 'omie_es']) await store.write(series, series === 'omie_es' ? 'EUR/MWh' : 'kW', quarters(JAN + d * DAY * Q, DAY, (i) => d + i / 100), { source: 'test', fetchedAt: d });
  }
  return store;
}

describe('the check at open reads what was written since the last verification', () => {
  it('ranges: a series per UTC month, other prefixes whole; bounds hold exactly their keys', () => {
    const key = (series: string, t: number) => `s!${series}!${String(t).padStart(15, '0')}`;
    expect(rangeOf(key('omie_es', Date.parse('2026-03-31T23:45:00Z')))).toBe('s!omie_es!2026-03');
    expect(rangeOf(key('omie_es', Date.parse('2026-04-01T00:00:00Z')))).toBe('s!omie_es!2026-04');
    expect(rangeOf('r!plc-1!000001767225600000')).toBe('r!plc-1!2026-01');
    expect(rangeOf('m!omie_es')).toBe('m!');
    expect(rangeOf('k!planner.current')).toBe('k!');
    const b = rangeBounds('s!omie_es!2026-03');
    expect(key('omie_es', Date.parse('2026-03-01T00:00:00Z')) >= b.gte && key('omie_es', Date.parse('2026-03-31T23:45:00Z')) < b.lt!).toBe(true);
    expect(key('omie_es', Date.parse('2026-04-01T00:00:00Z')) < b.lt!).toBe(false);
    expect(key('omie_es', Date.parse('2026-02-28T23:45:00Z')) >= b.gte).toBe(false);
    expect(key('omie_es.x', Date.parse('2026-03-02T00:00:00Z')) < b.lt!).toBe(false);
  });

  it('after a verification, a clean reopen reads only the ranges written since: the records of a month, not of the history', async () => {
    const dir = newDir();
    const store = await history(dir);
    const v = await store.verify();
    expect(v).toMatchObject({ losses: [], records: 2 * 90 * DAY + 2 });
    // A day of April for one series: its April range and the meta range are pending.
    await store.write('omie_es', 'EUR/MWh', quarters(APR, DAY), { source: 'test', fetchedAt: 100 });
    await store.close();
    const again = await SeriesStore.open(dir, { verify: false });
    const h = again.integrity();
    expect(h).toMatchObject({ state: 'ok', records: 2 * 90 * DAY + DAY + 2, expectedRecords: 2 * 90 * DAY + DAY + 2, losses: [] });
    expect(h.verification).toMatchObject({ atOpen: 'pending ranges', checkedRanges: 2, checkedRecords: DAY + 2, pendingRanges: 2 });
    // The background verification reads everything and finds it whole; then nothing is pending.
    expect(await again.verify()).toMatchObject({ losses: [], records: 2 * 90 * DAY + DAY + 2 });
    expect(again.integrity().verification).toMatchObject({ pendingRanges: 0 });
    await again.close();
    const third = await SeriesStore.open(dir, { verify: false });
    expect(third.integrity()).toMatchObject({ state: 'ok', records: 2 * 90 * DAY + DAY + 2, verification: { atOpen: 'pending ranges', checkedRanges: 0, checkedRecords: 0 } });
    await third.close();
  });

  it('a store without a record of verified ranges (an older version, a repair), or whose marker an older version wrote, is read whole once, then not again', async () => {
    const dir = newDir();
    await (await history(dir)).close();
    writeFileSync(join(dir, 'CHOCO-EDGE-VERIFIED.json'), '{ not json');
    const first = await SeriesStore.open(dir, { verify: false });
    expect(first.integrity()).toMatchObject({ state: 'ok', records: 2 * 90 * DAY + 2, verification: { atOpen: 'every record', checkedRecords: 2 * 90 * DAY + 2 } });
    await first.close();
    const second = await SeriesStore.open(dir, { verify: false });
    expect(second.integrity()).toMatchObject({ state: 'ok', records: 2 * 90 * DAY + 2, verification: { atOpen: 'pending ranges', checkedRecords: 0 } });
    await second.close();
    // A marker rewritten by a version that keeps no summaries (a rollback in between: its writes were never marked).
    const marker = JSON.parse(readFileSync(join(dir, 'CHOCO-EDGE-STORE.json'), 'utf8')) as Record<string, unknown>;
    delete marker.logs;
    writeFileSync(join(dir, 'CHOCO-EDGE-STORE.json'), JSON.stringify(marker));
    const third = await SeriesStore.open(dir, { verify: false });
    expect(third.integrity()).toMatchObject({ state: 'ok', records: 2 * 90 * DAY + 2, verification: { atOpen: 'every record' } });
    await third.close();
  });

  it('damage in an OLD range (verified before, not read at open) is found by the background verification and reported, and stays reported', async () => {
    const dir = newDir();
    await (await history(dir)).close();
    // The next open turns LevelDB's log into a table; the verification then covers it; April goes to the new log.
    const store = await SeriesStore.open(dir, { verify: false });
    expect((await store.verify()).losses).toEqual([]);
    await store.write('pv.site', 'kW', quarters(APR, DAY), { source: 'test', fetchedAt: 100 });
    await store.close();
    const tables = readdirSync(dir).filter((f) => f.endsWith('.ldb')).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size);
    const file = join(dir, tables[0]!); // the table holding January to March
    const bytes = readFileSync(file);
    for (let i = Math.floor(bytes.length / 3); i < Math.floor(bytes.length / 3) + 2048; i++) bytes[i] = (bytes[i]! * 31 + 7) & 0xff;
    writeFileSync(file, bytes);

    // The open reads only April and the meta range: it cannot see the damage, and says what it read.
    const damaged = await SeriesStore.open(dir, { verify: { afterMs: 1 } });
    expect(damaged.integrity().verification).toMatchObject({ atOpen: 'pending ranges', checkedRecords: DAY + 3 });
    // The background verification (by itself, 1 ms after open) reads everything: the damage is reported.
    const found = await new Promise<Verification>((resolve) => damaged.onVerified(resolve));
    expect(found.losses.join('\n')).toMatch(/reading every record in the background check failed: .*Corruption/);
    const h = damaged.integrity();
    expect(h.state).toBe('failed');
    expect(h.message).toMatch(/^store damaged, data lost: .*background check failed.*To fix: stop the gateway and run `choco-edge store repair`/);
    await damaged.close();
    // Kept across restarts until acknowledged, as a loss found at open is.
    expect(readMarker(dir)?.losses?.join('\n')).toMatch(/background check failed/);
    const next = await SeriesStore.open(dir, { verify: false });
    expect(next.integrity()).toMatchObject({ state: 'failed', losses: h.losses });
    await next.close();
  });

  it('records missing from an old range (read fine, fewer than verified) are a loss the background verification names', async () => {
    const dir = newDir();
    const store = await history(dir);
    await store.verify();
    // Deleted behind the store's back: LevelDB's own batch (the prototype's), not the store's wrapped one, so no range
    // is marked written and no delete counted: records vanishing as a damaged table would lose them.
    type Raw = { iterator(o: object): { all(): Promise<Array<[string, unknown]>> }; batch(ops: unknown[]): Promise<void> };
    const db = (store as unknown as { db: Raw }).db;
    const feb = await db.iterator({ ...rangeBounds('s!meter.main!2026-02'), limit: 10 }).all();
    await (Object.getPrototypeOf(db) as Raw).batch.call(db, feb.map(([key]) => ({ type: 'del', key })));
    const v = await store.verify();
    expect(v.losses).toEqual([expect.stringMatching(/^s!meter\.main!2026-02: 10 of 2688 records missing \(verified .*\), 2678 left$/)]);
    expect(store.integrity()).toMatchObject({ state: 'failed' });
    expect(store.integrity().message).toMatch(/s!meter\.main!2026-02: 10 of 2688 records missing/);
    await store.close();
  });

  it('after a kill -9 image, the ranges written since the verification are known (written down before the write) and read at open', async () => {
    const dir = newDir();
    const store = await history(dir);
    await store.verify();
    await store.write('meter.main', 'kW', quarters(APR, DAY), { source: 'test', fetchedAt: 100 });
    await store.checkpoint();
    const image = join(mkdtempSync(join(tmpdir(), 'choco-crash-')), 'store');
    execFileSync('cp', ['-a', dir, image]);
    await store.close();
    expect(readMarker(image)).toMatchObject({ cleanShutdown: false });
    const crashed = await SeriesStore.open(image, { verify: false });
    expect(crashed.integrity()).toMatchObject({ state: 'ok', records: 2 * 90 * DAY + DAY + 2, verification: { atOpen: 'pending ranges', checkedRanges: 2, checkedRecords: DAY + 2 } });
    await crashed.close();
  });

  it('no false alarm: deletes in verified and pending ranges, verifications and counts in between, then kill -9 images', async () => {
    const dir = newDir();
    const store = await history(dir);
    const images: string[] = [];
    const image = () => {
      const to = join(mkdtempSync(join(tmpdir(), 'choco-crash-')), 'store');
      execFileSync('cp', ['-a', dir, to]);
      images.push(to);
    };
    await store.verify();
    // A January day re-published as hourly slots: 96 quarter-hours replaced by 24 hours (72 records fewer) in a verified range.
    const hourly = (day: number) => Array.from({ length: 24 }, (_, i) => ({ start: JAN + day * DAY * Q + i * 4 * Q, end: JAN + day * DAY * Q + (i + 1) * 4 * Q, value: i }));
    await store.write('meter.main', 'kW', hourly(3), { source: 'test', fetchedAt: 200, replaceRange: true });
    await store.checkpoint();
    image();
    await store.write('meter.main', 'kW', hourly(4), { source: 'test', fetchedAt: 201, replaceRange: true });
    image(); // deletes since the last count
    await store.verify();
    await store.write('omie_es', 'EUR/MWh', hourly(40), { source: 'test', fetchedAt: 202, replaceRange: true });
    await store.write('omie_es', 'EUR/MWh', quarters(APR, DAY), { source: 'test', fetchedAt: 203 });
    image(); // after a verification, with no count since
    await store.checkpoint();
    await store.applyRetention(APR + DAY * Q, { rawDays: 70, keepDays: 0 });
    image(); // retention deleted and downsampled in several ranges
    await store.close();
    for (const [i, crashed] of images.entries()) {
      const fast = await SeriesStore.open(crashed, { verify: false });
      const h = fast.integrity();
      expect(h, `image ${i}`).toMatchObject({ state: 'ok', losses: [], verification: { atOpen: 'pending ranges' } });
      expect((await fast.verify()).losses, `image ${i}`).toEqual([]);
      await fast.close();
      // The same image read whole agrees on the count.
      rmSync(join(crashed, 'CHOCO-EDGE-VERIFIED.json'));
      const full = await SeriesStore.open(crashed, { verify: false });
      expect(full.integrity(), `image ${i}`).toMatchObject({ state: 'ok', records: h.records, verification: { atOpen: 'every record' } });
      await full.close();
    }
    const clean = await SeriesStore.open(dir, { verify: false });
    expect(clean.integrity()).toMatchObject({ state: 'ok', losses: [], verification: { atOpen: 'pending ranges' } });
    expect((await clean.verify()).losses).toEqual([]);
    await clean.close();
  });

  it('writes racing a verification (into ranges it is reading) are no loss, then or at the next verification and open', async () => {
    const dir = newDir();
    const store = await history(dir);
    await store.verify();
    const writes = Array.from({ length: 30 }, (_, k) => store.write(k % 2 ? 'omie_es' : 'meter.main', 'kW', quarters(JAN + (k * 3) * DAY * Q, k % 3 === 0 ? 48 : DAY, () => k), { source: 'test', fetchedAt: 300 + k, replaceRange: true }));
    const racing = store.verify();
    const [v] = await Promise.all([racing, ...writes]);
    expect(v.losses).toEqual([]);
    expect((await store.verify()).losses).toEqual([]);
    expect(store.integrity()).toMatchObject({ state: 'ok' });
    await store.close();
    const again = await SeriesStore.open(dir, { verify: false });
    expect(again.integrity()).toMatchObject({ state: 'ok', losses: [] });
    expect((await again.verify()).losses).toEqual([]);
    await again.close();
  });

  it('a verification that starts while a batch is in LevelDB\'s hands (handed over, not yet applied) keeps its range pending', async () => {
    const dir = newDir();
    const store = await history(dir);
    await store.verify();
    // Starts the verification the moment the next batch has been handed to LevelDB, before it resolves.
    type Batch = (ops: unknown[], options?: unknown) => Promise<void>;
    const db = (store as unknown as { db: { batch: Batch } }).db;
    const handOver = db.batch;
    let racing: Promise<unknown> | undefined;
    db.batch = (ops, options) => {
      const p = handOver(ops, options);
      racing ??= store.verify();
      return p;
    };
    for (let k = 0; k < 5; k++) {
      racing = undefined;
      await store.write('meter.main', 'kW', quarters(JAN + (10 + k) * DAY * Q, 48, () => k), { source: 'test', fetchedAt: 400 + k, replaceRange: true });
      expect(await racing).toMatchObject({ losses: [] });
      expect((await store.verify()).losses, `write ${k}`).toEqual([]);
    }
    db.batch = handOver;
    await store.close();
  });
});
