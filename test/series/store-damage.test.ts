import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StoreOpenError } from '../../gateway/series/integrity.js';
import { repairStore } from '../../gateway/series/repair.js';
import { SeriesStore } from '../../gateway/series/store.js';

/** Real LevelDB in temp dirs, damaged on purpose with the gateway stopped, the way an operator's disk can be. */
const H = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const main = fileURLToPath(new URL('../../gateway/main.ts', import.meta.url));

/** 239 hourly price slots (10 days less one hour) in 10 writes, plus their meta record: 240 records. */
async function seeded(flushToTables: boolean): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'choco-damage-'));
  const dir = join(data, 'store');
  const store = await SeriesStore.open(dir);
  for (let d = 0; d < 10; d++) {
    const n = d === 9 ? 23 : 24;
    await store.write('pvpc', 'EUR/MWh', Array.from({ length: n }, (_, i) => ({ start: T0 + (d * 24 + i) * H, end: T0 + (d * 24 + i + 1) * H, value: 100 + d + i / 100 })), { source: 'ree', fetchedAt: d });
  }
  await store.close();
  if (flushToTables) await (await SeriesStore.open(dir)).close(); // recovery turns the log into a table
  return dir;
}

const files = (dir: string, re: RegExp) => readdirSync(dir).filter((f) => re.test(f));

describe('store damage never reads as "empty and healthy"', () => {
  it('a clean store: counted, marked, healthy; a new store says so', async () => {
    const dir = await seeded(false);
    const store = await SeriesStore.open(dir);
    expect(store.integrity()).toMatchObject({ state: 'ok', records: 240, expectedRecords: 240, losses: [] });
    await store.close();
    const fresh = await SeriesStore.open(join(mkdtempSync(join(tmpdir(), 'choco-new-')), 'store'));
    expect(fresh.integrity()).toMatchObject({ state: 'ok', records: 0, message: '0 records at open (new store)' });
    await fresh.close();
  });

  it('CURRENT deleted: refuses to open (no empty store, no table deleted); repair gets every record back, after a copy', async () => {
    const dir = await seeded(true);
    const before = files(dir, /\.(ldb|log)$/);
    unlinkSync(join(dir, 'CURRENT'));
    const error = await SeriesStore.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreOpenError);
    expect((error as Error).message).toMatch(new RegExp(`cannot open the store at ${dir}: LevelDB's CURRENT file is missing but \\d+ data files remain .*To fix: stop the gateway and run \`choco-edge store repair\``));
    expect(files(dir, /\.(ldb|log)$/)).toEqual(before);
    const r = await repairStore(dir);
    expect(existsSync(join(r.backup, 'MANIFEST-000001')) || files(r.backup, /^MANIFEST/).length > 0).toBe(true);
    expect(r).toMatchObject({ recordsBefore: 240, recordsAfter: 240 });
    const store = await SeriesStore.open(dir);
    expect(store.integrity()).toMatchObject({ state: 'ok', records: 240, lastRepair: { recordsBefore: 240, recordsAfter: 240 } });
    expect(await store.count('pvpc')).toBe(239);
    await store.close();
  });

  it('the .log truncated to half: opens, and reports the slots lost (counted against the marker)', async () => {
    const dir = await seeded(false);
    const [log] = files(dir, /\.log$/);
    truncateSync(join(dir, log!), Math.floor(statSync(join(dir, log!)).size / 2));
    const store = await SeriesStore.open(dir);
    const h = store.integrity();
    expect(h.state).toBe('failed');
    expect(h.records).toBeLessThan(240);
    expect(h.losses.join('\n')).toMatch(new RegExp(`${240 - h.records!} of 240 records missing since the last clean shutdown`));
    expect(h.message).toMatch(/^store damaged, data lost: .*To fix: stop the gateway and run `choco-edge store repair`/);
    await store.close();
    // The loss is reported until an operator acknowledges it: still there at the next open and after a repair.
    const again = await SeriesStore.open(dir);
    expect(again.integrity()).toMatchObject({ state: 'failed', losses: h.losses });
    await again.close();
    const r = await repairStore(dir);
    expect(r).toMatchObject({ recordsBefore: h.records, recordsAfter: h.records, losses: h.losses });
    const repaired = await SeriesStore.open(dir);
    expect(repaired.integrity()).toMatchObject({ state: 'failed', losses: h.losses });
    expect(repaired.acknowledgeLosses()).toEqual(h.losses);
    expect(repaired.integrity()).toMatchObject({ state: 'ok', losses: [], records: h.records });
    await repaired.close();
    const acknowledged = await SeriesStore.open(dir);
    expect(acknowledged.integrity()).toMatchObject({ state: 'ok', losses: [] });
    await acknowledged.close();
  });

  it('a garbled .log: what LevelDB drops while recovering (its LOG: "dropping … bytes") is reported', async () => {
    const dir = await seeded(false);
    const [log] = files(dir, /\.log$/);
    const bytes = readFileSync(join(dir, log!));
    for (let i = 200; i < 260; i++) bytes[i] = 0x5a;
    writeFileSync(join(dir, log!), bytes);
    const store = await SeriesStore.open(dir);
    const h = store.integrity();
    expect(h.state).toBe('failed');
    expect(h.losses.join('\n')).toMatch(/LevelDB LOG: .*dropping \d+ bytes/);
    await store.close();
  });

  it('a garbled table: opens, and the full read at open reports the corruption', async () => {
    const dir = await seeded(true);
    const [table] = files(dir, /\.ldb$/);
    const file = join(dir, table!);
    const bytes = readFileSync(file);
    for (let i = 64; i < Math.min(bytes.length - 64, 2048); i++) bytes[i] = (bytes[i]! * 31 + 7) & 0xff;
    writeFileSync(file, bytes);
    const store = await SeriesStore.open(dir);
    const h = store.integrity();
    expect(h.state).toBe('failed');
    expect(h.losses.join('\n')).toMatch(/Corruption|records missing/);
    await store.close().catch(() => undefined);
  });

  it('a zeroed MANIFEST and a deleted table: a clear error with cause, path and remedy; repair says what it could not save', async () => {
    const zeroed = await seeded(true);
    const [manifest] = files(zeroed, /^MANIFEST-/);
    writeFileSync(join(zeroed, manifest!), Buffer.alloc(statSync(join(zeroed, manifest!)).size));
    const e1 = (await SeriesStore.open(zeroed).catch((e: unknown) => e)) as Error;
    expect(e1).toBeInstanceOf(StoreOpenError);
    expect(e1.message).toMatch(new RegExp(`cannot open the store at ${zeroed}: .*(Corruption|corrupt).*To fix: .*store repair`));
    expect((await repairStore(zeroed)).recordsAfter).toBe(240);

    const missing = await seeded(true);
    for (const t of files(missing, /\.ldb$/)) unlinkSync(join(missing, t));
    const e2 = (await SeriesStore.open(missing).catch((e: unknown) => e)) as Error;
    expect(e2.message).toMatch(new RegExp(`cannot open the store at ${missing}: .*missing files.*To fix: .*store repair`));
    const r = await repairStore(missing);
    expect(r).toMatchObject({ recordsBefore: 240, recordsAfter: 0 });
  });

  it('every data file deleted but the marker kept: refuses to start empty, names the remedy', async () => {
    const dir = await seeded(true);
    for (const f of readdirSync(dir)) if (!f.startsWith('CHOCO-EDGE')) rmSync(join(dir, f));
    await expect(SeriesStore.open(dir)).rejects.toThrow(/the store's data files are gone: it held 240 records .*restore a backup/);
  });

  it('`choco-edge store repair` from the command line: copies aside, repairs, reports; refuses a store in use', async () => {
    const dir = await seeded(true);
    unlinkSync(join(dir, 'CURRENT'));
    const env = { ...process.env, CHOCO_EDGE_DATA_DIR: join(dir, '..') };
    const start = spawnSync(process.execPath, ['--import', 'tsx', main, 'backup', '--out', join(dir, '..', 'b.jsonl.gz')], { env, encoding: 'utf8' });
    expect(start.status).toBe(2);
    expect(start.stderr).toMatch(/cannot open the store at .*CURRENT file is missing.*choco-edge store repair/);
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'store', 'repair'], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/store repaired: 240 records \(nothing lost\); the damaged store was copied to .*store\.before-repair-/);
    const held = await SeriesStore.open(dir);
    const busy = spawnSync(process.execPath, ['--import', 'tsx', main, 'store', 'repair'], { env, encoding: 'utf8' });
    expect(busy.status).toBe(2);
    expect(busy.stderr).toMatch(/in use .*stop the gateway first/);
    await held.close();
  });
});
