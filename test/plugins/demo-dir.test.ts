import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/config/load.js';
import { DEMO_MARKER, prepareDemoDir } from '../../plugins/replay/demo.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'choco-demo-dir-'));

describe('the demo deletes nothing it did not create', () => {
  it('works in <dataDir>/demo, which it creates and marks, and leaves the rest of the data directory alone', () => {
    const data = fresh();
    writeFileSync(join(data, 'plant-history.txt'), 'keep me');
    mkdirSync(join(data, 'store'));
    writeFileSync(join(data, 'store', 'CURRENT'), 'MANIFEST-000001');
    const dir = prepareDemoDir(data);
    expect(dir).toBe(join(data, 'demo'));
    expect(existsSync(join(dir, DEMO_MARKER))).toBe(true);
    expect(readFileSync(join(data, 'plant-history.txt'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(data, 'store', 'CURRENT'), 'utf8')).toBe('MANIFEST-000001');
  });

  it('empties its own marked directory on the next run', () => {
    const data = fresh();
    const dir = prepareDemoDir(data);
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'LOG'), 'from the last demo');
    prepareDemoDir(data);
    expect(readdirSync(dir)).toEqual([DEMO_MARKER]);
  });

  it('refuses a demo directory it did not create, and a symlink, and deletes nothing', () => {
    const data = fresh();
    mkdirSync(join(data, 'demo'));
    writeFileSync(join(data, 'demo', 'notes.txt'), 'someone else');
    expect(() => prepareDemoDir(data)).toThrow(ConfigError);
    expect(() => prepareDemoDir(data)).toThrow(/did not create \(notes\.txt\)/);
    expect(readFileSync(join(data, 'demo', 'notes.txt'), 'utf8')).toBe('someone else');

    const other = fresh();
    const target = fresh();
    writeFileSync(join(target, 'precious'), 'x');
    symlinkSync(target, join(other, 'demo'));
    expect(() => prepareDemoDir(other)).toThrow(/not a directory the demo created/);
    expect(existsSync(join(target, 'precious'))).toBe(true);
  });

  it('`CHOCO_EDGE_DATA_DIR=X demo` refuses X/demo holding foreign files with one sentence and exit 2', () => {
    const env = gatewayEnv();
    const data = env.CHOCO_EDGE_DATA_DIR!;
    mkdirSync(join(data, 'demo'));
    writeFileSync(join(data, 'demo', 'marker-of-someone-else'), 'x');
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^choco-edge: the demo works in .*demo, which already holds files the demo did not create/);
    expect(existsSync(join(data, 'demo', 'marker-of-someone-else'))).toBe(true);
  });
});
