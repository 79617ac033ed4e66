/**
 * A config error lists each problem once. TypeBox reports a missing required setting twice (as "expected required
 * property" and again as its type's error with no value), and `check-config` printed both lines for one mistake:
 * `/lines/0/registers: expected required property, got nothing` and `/lines/0/registers: expected object, got nothing`.
 * Real YAML files through loadConfig, and once through the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../gateway/config/load.js';
import { MAIN } from '../helpers/process.js';

const dir = mkdtempSync(join(tmpdir(), 'config-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const yaml = (text: string) => {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, text);
  return file;
};
const problems = (text: string): string[] => {
  try {
    loadConfig({ file: yaml(text), env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('accepted');
};
const paths = (list: string[]) => list.map((p) => p.slice(0, p.indexOf(': ')));

describe('a config error names each problem once', () => {
  it('a line without its registers and with two unknown keys: three lines, the missing one once, saying what to write', () => {
    const list = problems('lines:\n  - { line: mixing, protocol: modbus, bogus: 1 }\n');
    expect(list).toEqual(['/lines/0/protocol: unexpected property, got "modbus"', '/lines/0/bogus: unexpected property, got 1', '/lines/0/registers: expected object, got nothing (a required setting)']);
  });

  it('a user with two settings missing and two unknown: one line each; a missing choice lists its values', () => {
    const list = problems('mqtt:\n  embedded:\n    users:\n      - { username: a, password: 1, extra: 2 }\n');
    expect(list).toEqual([
      '/mqtt/embedded/users/0/password: unexpected property, got 1',
      '/mqtt/embedded/users/0/extra: unexpected property, got 2',
      '/mqtt/embedded/users/0/passwordHash: expected string, got nothing (a required setting)',
      '/mqtt/embedded/users/0/role: expected one of "admin", "viewer", "line", got nothing (a required setting)',
    ]);
    expect(new Set(paths(list)).size).toBe(list.length);
  });

  it('a wrong type, an unknown key and two errors in one list item: one line each', () => {
    const list = problems('http:\n  port: "abc"\n  portt: 8080\nplanner:\n  tariff: "4.0TD"\n  processes:\n    - { name: mixing, kw: "x", minutes: 5, batchesPerDay: 2, line: mixing }\n');
    expect(list).toEqual([
      '/http/portt: unexpected property, got 8080',
      '/http/port: expected integer, got "abc"',
      '/planner/tariff: expected one of "2.0TD", "3.0TD", got "4.0TD"',
      '/planner/processes/0/kw: expected number, got "x"',
      '/planner/processes/0/minutes: expected integer to be greater or equal to 15, got 5',
    ]);
  });

  it('check-config prints each once (exit 2)', () => {
    const file = yaml('lines:\n  - { line: mixing, bogus: 1 }\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'check-config', '--config', file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`choco-edge: invalid configuration in ${file}`, '  - /lines/0/bogus: unexpected property, got 1', '  - /lines/0/registers: expected object, got nothing (a required setting)']);
  }, 120_000);
});
