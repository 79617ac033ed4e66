import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';

const main = fileURLToPath(new URL('../../gateway/main.ts', import.meta.url));
const cli = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
const H = 3_600_000;

describe('choco-edge backup / restore', () => {
  it('round-trips the store and the config, refuses a used store without --force, and refuses garbage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-backup-'));
    const data = join(dir, 'data');
    const store = await SeriesStore.open(join(data, 'store'));
    await store.write('omie_es', 'EUR/MWh', Array.from({ length: 48 }, (_, i) => ({ start: i * H, end: (i + 1) * H, value: i - 5 })), { source: 'omie', fetchedAt: 1 });
    await store.setValue('sparkplug.bdSeq', 7);
    await store.close();
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'site:\n  id: linares\n');
    const out = join(dir, 'b.jsonl.gz');
    const b = cli(['backup', '--config', config, '--out', out], { CHOCO_EDGE_DATA_DIR: data });
    expect(b.status, b.stderr).toBe(0);
    const lines = gunzipSync(readFileSync(out)).toString().trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'choco-edge-backup', config: 'site:\n  id: linares\n' });
    expect(lines).toHaveLength(1 + 48 + 1 + 1);
    const fresh = join(dir, 'fresh');
    const r = cli(['restore', '--from', out], { CHOCO_EDGE_DATA_DIR: fresh });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/restored 50 entries/);
    const restored = await SeriesStore.open(join(fresh, 'store'));
    expect(await restored.read('omie_es', 0, 48 * H)).toHaveLength(48);
    expect(await restored.getValue('sparkplug.bdSeq')).toBe(7);
    await restored.close();
    const again = cli(['restore', '--from', out], { CHOCO_EDGE_DATA_DIR: fresh });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already holds a store/);
    writeFileSync(join(dir, 'junk.gz'), gzipSync('{"hello":1}\n'));
    const junk = cli(['restore', '--from', join(dir, 'junk.gz')], { CHOCO_EDGE_DATA_DIR: join(dir, 'empty') });
    expect(junk.stderr).toMatch(/is not a choco-edge backup/);
  }, 60_000);

  it('a mistyped data folder: one sentence, exit 2, no store created, no backup written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-backup-typo-'));
    const typo = join(dir, 'typo-dir');
    const out = join(dir, 'b.jsonl.gz');
    const r = cli(['backup', '--out', out], { CHOCO_EDGE_DATA_DIR: typo });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^choco-edge: cannot open the store at .*typo-dir\/store: there is no store here\. To fix: check the data folder/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(typo)).toBe(false);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('--out in a folder that does not exist: one sentence, exit 2, checked before the store is opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-backup-out-'));
    const data = join(dir, 'data');
    const store = await SeriesStore.open(join(data, 'store'));
    await store.setValue('sparkplug.bdSeq', 1);
    await store.close();
    const before = readdirSync(join(data, 'store')).sort();
    const r = cli(['backup', '--out', join(dir, 'nonexistent-dir', 'x.jsonl.gz')], { CHOCO_EDGE_DATA_DIR: data });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^choco-edge: --out .*nonexistent-dir\/x\.jsonl\.gz: the folder .*nonexistent-dir does not exist\n$/);
    expect(r.stderr).not.toMatch(/ENOENT/);
    expect(readdirSync(join(data, 'store')).sort()).toEqual(before);
    const other = cli(['backup', '--out', join(dir, 'y.jsonl.gz')], { CHOCO_EDGE_DATA_DIR: join(dir, 'typo') });
    expect(other.status).toBe(2);
    expect(existsSync(join(dir, 'typo'))).toBe(false);
  }, 60_000);
});
