/**
 * One parser of offset timestamps (gateway/time/tz.ts parseInstant) for every file and message that carries one:
 * the bill's readings, simulate's base load, a line stop's "until". On main the bill CLI and the base-load reader each
 * had their own offset regex in front of `Date.parse`, which rolls an impossible date over (2026-02-30 → 2 March):
 * a readings file starting on 30 February was billed as starting on 2 March, without a word.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReadings } from '../../gateway/bill/cli.js';
import { InputError } from '../../gateway/config/cli-input.js';
import { InstantError, parseInstant } from '../../gateway/time/tz.js';
import { loadBaseLoad } from '../../models/eval/simulate-site.js';
import { MAIN } from '../helpers/process.js';

const dir = mkdtempSync(join(tmpdir(), 'instant-parsers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseInstant', () => {
  it('takes Z or an offset on a real calendar date; refuses a naive time and an impossible date, saying which', () => {
    expect(parseInstant('2026-01-15T08:15:00Z')).toBe(Date.UTC(2026, 0, 15, 8, 15));
    expect(parseInstant('2025-10-26T02:30:00+01:00')).toBe(Date.UTC(2025, 9, 26, 1, 30));
    expect(() => parseInstant('2026-01-15 08:15')).toThrow('expected an ISO timestamp with offset or Z, got "2026-01-15 08:15"');
    expect(() => parseInstant('2026-02-30T00:00:00Z')).toThrow('"2026-02-30T00:00:00Z": no such date: February 2026 has 28 days');
    expect(() => parseInstant('2026-01-01T24:00:00Z')).toThrow('"2026-01-01T24:00:00Z": no such time of day: 24:00:00');
    const kinds = ['2026-01-15 08:15', '2026-02-30T00:00:00Z'].map((t) => { try { parseInstant(t); } catch (e) { return e instanceof InstantError && e.impossibleDate; } return null; });
    expect(kinds).toEqual([false, true]);
  });
});

describe('the bill readings and the base load read their timestamps with it', () => {
  const refused = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('a readings row on 30 February is refused naming the row, not billed as 2 March', () => {
    const text = 'datetime_utc,kwh\n2026-02-30T00:00:00Z,1\n2026-02-30T00:15:00Z,1\n';
    expect(refused(() => parseReadings(text, 'r.csv'))).toBe('--readings r.csv row 2: "2026-02-30T00:00:00Z": no such date: February 2026 has 28 days (datetime_utc, a UTC timestamp like 2025-01-15T08:15:00Z)');
    expect(refused(() => parseReadings('datetime_utc,kwh\n2026-01-01 00:00,1\n', 'r.csv'))).toBe('--readings r.csv row 2: expected an ISO timestamp with offset or Z, got "2026-01-01 00:00" (datetime_utc, a UTC timestamp like 2025-01-15T08:15:00Z)');
  });

  it('a base-load row on 31 April is refused naming the row', () => {
    const file = join(dir, 'base.csv');
    writeFileSync(file, 'datetime_utc,kw\n2025-04-30T23:00:00Z,40\n2025-04-31T00:00:00Z,40\n');
    expect(refused(() => loadBaseLoad(file))).toBe(`--base-load ${file} row 3: "2025-04-31T00:00:00Z": no such date: April 2025 has 30 days (datetime_utc, a UTC timestamp like 2025-01-15T08:15:00Z)`);
  });

  it('the bill command: exit 2 and the one sentence on stderr, nothing on stdout', () => {
    const readings = join(dir, 'r.csv');
    writeFileSync(readings, 'datetime_utc,kwh\n2026-02-28T23:45:00Z,1\n2026-02-29T00:00:00Z,1\n');
    writeFileSync(join(dir, 'p.csv'), 'datetime_utc,datetime_local,price_es_eur_mwh,price_pt_eur_mwh,n_intervals,source_resolution_min,source_repo\n2026-02-28T23:00:00Z,,80,80,1,60,test\n');
    writeFileSync(
      join(dir, 'c.yaml'),
      'energy:\n  contract:\n    tariff: 6.1TD\n    contractedKw: [100, 100, 100, 100, 100, 200]\n    powerPriceEurKwYear: [30, 25, 15, 10, 5, 2]\n    tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0]\n    energy: { indexed: { marginEurMwh: 5 } }\n',
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'bill', '--config', join(dir, 'c.yaml'), '--readings', readings, '--prices', join(dir, 'p.csv'), '--from', '2026-02-01', '--to', '2026-03-01'], { encoding: 'utf8', env: { ...process.env, CHOCO_EDGE_LOG_PRETTY: 'false' }, timeout: 120_000 });
    expect(r.stderr.trim()).toBe(`choco-edge: --readings ${readings} row 3: "2026-02-29T00:00:00Z": no such date: February 2026 has 28 days (datetime_utc, a UTC timestamp like 2025-01-15T08:15:00Z)`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  }, 120_000);
});
