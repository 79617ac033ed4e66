import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
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

  it('deletes only what it writes: a user file in its marked directory is refused and kept, with the store', () => {
    const data = fresh();
    const dir = prepareDemoDir(data);
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'CURRENT'), 'MANIFEST-000001');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(() => prepareDemoDir(data)).toThrow(/also holds files the demo did not write \(notes\.txt\)/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(dir, 'store', 'CURRENT'), 'utf8')).toBe('MANIFEST-000001');
  });

  it('refuses a demo directory whose marker names a running process, and takes over one whose process is gone', async () => {
    const data = fresh();
    const dir = prepareDemoDir(data);
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'CURRENT'), 'MANIFEST-000001');
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const exited = new Promise((done) => other.once('exit', done));
    try {
      writeFileSync(join(dir, DEMO_MARKER), `Created by \`choco-edge demo\`.\npid: ${other.pid}\n`);
      expect(() => prepareDemoDir(data)).toThrow(new RegExp(`is in use by a running demo \\(pid ${other.pid}\\)`));
      expect(readFileSync(join(dir, 'store', 'CURRENT'), 'utf8')).toBe('MANIFEST-000001');
    } finally {
      other.kill('SIGKILL');
    }
    await exited;
    prepareDemoDir(data);
    expect(readdirSync(dir)).toEqual([DEMO_MARKER]);
    expect(readFileSync(join(dir, DEMO_MARKER), 'utf8')).toContain(`pid: ${process.pid}`);
  });

  it('`CHOCO_EDGE_DATA_DIR=<a regular file> demo` is one sentence and exit 2', () => {
    const file = join(fresh(), 'not-a-folder');
    writeFileSync(file, 'x');
    expect(() => prepareDemoDir(file)).toThrow(ConfigError);
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env: gatewayEnv({ CHOCO_EDGE_DATA_DIR: file }), encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^choco-edge: the data folder .*not-a-folder \(dataDir, CHOCO_EDGE_DATA_DIR\) is a file, not a folder: point it at a folder\n$/);
  });

  it('a demo whose port is taken stops before deleting the last demo\'s store', async () => {
    const env = gatewayEnv();
    const data = env.CHOCO_EDGE_DATA_DIR!;
    const dir = prepareDemoDir(data);
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'CURRENT'), 'MANIFEST-000001');
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env: { ...env, CHOCO_EDGE_HTTP_PORT: String(port) }, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^choco-edge: the demo cannot listen on 127\\.0\\.0\\.1:${port} \\(http\\.port, CHOCO_EDGE_HTTP_PORT\\): the port is in use`));
      expect(readFileSync(join(dir, 'store', 'CURRENT'), 'utf8')).toBe('MANIFEST-000001');
    } finally {
      taken.close();
    }
  }, 120_000);

  it('a second demo on the same data folder refuses, and the running demo keeps its store', async () => {
    const env = gatewayEnv({ CHOCO_EDGE_LOG_LEVEL: 'info' });
    const data = env.CHOCO_EDGE_DATA_DIR!;
    const first = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    first.stdout.on('data', (c: Buffer) => (out += c.toString()));
    first.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((done) => first.once('exit', done));
    try {
      await vi.waitFor(() => expect(out).toMatch(/demo: replaying recorded OMIE prices/), { timeout: 90_000, interval: 200 });
      const storeFiles = readdirSync(join(data, 'demo', 'store')).sort();
      expect(storeFiles).toContain('CURRENT');
      const second = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env, encoding: 'utf8', timeout: 120_000 });
      expect(second.status, second.stderr).toBe(2);
      expect(second.stderr).toMatch(new RegExp(`^choco-edge: the demo directory .*demo is in use by a running demo \\(pid ${first.pid}\\): stop it first`));
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(readdirSync(join(data, 'demo', 'store'))).toEqual(expect.arrayContaining(storeFiles.filter((f) => f === 'CURRENT' || f === 'LOCK' || f.startsWith('MANIFEST'))));
    } finally {
      first.kill('SIGTERM');
      await exited;
    }
  }, 180_000);
});
