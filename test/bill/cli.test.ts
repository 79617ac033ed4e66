import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { billReport, checkNotPvpc, parseReadings } from '../../gateway/bill/cli.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { InputError } from '../../gateway/config/cli-input.js';
import { MAIN } from '../helpers/process.js';

const QH = 900_000;
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

function readingsText(from: string, to: string, kwh: (t: number) => number): string {
  let s = 'datetime_utc,kwh\n';
  for (let t = Date.parse(from); t < Date.parse(to); t += QH) s += `${iso(t)},${kwh(t)}\n`;
  return s;
}

const contract = resolveContract({
  tariff: '6.1TD',
  contractedKw: [100, 100, 100, 100, 100, 200],
  powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
  tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
  energy: { indexed: { marginEurMwh: 5 } },
});

describe('bill CLI input checks: one sentence naming the row', () => {
  const good = 'datetime_utc,kwh\n2026-01-01T00:00:00Z,1\n2026-01-01T00:15:00Z,1\n2026-01-01T00:30:00Z,1\n';
  const fails = (text: string) => {
    try {
      parseReadings(text, 'r.csv');
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };
  it('accepts a good file', () => expect(parseReadings(good, 'r.csv')).toHaveLength(3));
  it('a missing quarter', () => expect(fails(good.replace('2026-01-01T00:15:00Z,1\n', ''))).toBe('--readings r.csv row 3: 2026-01-01T00:30:00Z follows 2026-01-01T00:00:00Z (row 2), so 1 quarter-hour is missing from 2026-01-01T00:15:00Z'));
  it('a negative kWh', () => expect(fails(good.replace('00:15:00Z,1', '00:15:00Z,-0.5'))).toBe('--readings r.csv row 3: negative kWh -0.5 (the file must hold imported energy, which never decreases)'));
  it('unsorted rows', () => expect(fails('datetime_utc,kwh\n2026-01-01T00:15:00Z,1\n2026-01-01T00:00:00Z,1\n')).toMatch(/^--readings r\.csv row 3: 2026-01-01T00:00:00Z comes before row 2/));
  // The fresh tester swapped two rows: it was reported as "1 quarter-hour is missing", the swap a row further down.
  it('two rows swapped are unsorted, not missing', () =>
    expect(fails('datetime_utc,kwh\n2026-01-01T00:00:00Z,1\n2026-01-01T00:30:00Z,1\n2026-01-01T00:15:00Z,1\n2026-01-01T00:45:00Z,1\n')).toBe('--readings r.csv row 4: 2026-01-01T00:15:00Z comes before row 3 (2026-01-01T00:30:00Z); rows must be sorted by time'));
  it('a row out of place far down the file is unsorted, not missing', () =>
    expect(fails('datetime_utc,kwh\n2026-01-01T00:00:00Z,1\n2026-01-01T00:30:00Z,1\n2026-01-01T00:45:00Z,1\n2026-01-01T01:00:00Z,1\n2026-01-01T00:15:00Z,1\n')).toBe('--readings r.csv row 6: 2026-01-01T00:15:00Z comes before row 5 (2026-01-01T01:00:00Z); rows must be sorted by time'));
  it('a duplicated row', () => expect(fails(`${good}2026-01-01T00:30:00Z,2\n`)).toBe('--readings r.csv row 5: 2026-01-01T00:30:00Z duplicates row 4'));
  it('a bad header, timestamp or number', () => {
    expect(fails('time,kwh\n')).toMatch(/row 1: expected the header datetime_utc,kwh\[,kvarh\]/);
    expect(fails('datetime_utc,kwh\n2026-01-01 00:00,1\n')).toMatch(/row 2: expected an ISO timestamp with offset or Z, got "2026-01-01 00:00" \(datetime_utc, a UTC timestamp like/);
    expect(fails('datetime_utc,kwh\n2026-01-01T00:05:00Z,1\n')).toMatch(/row 2: .* is not the start of a quarter-hour/);
    expect(fails('datetime_utc,kwh\n2026-01-01T00:00:00Z,abc\n')).toMatch(/row 2: kWh "abc" is not a number/);
  });
  // tester5 fault 10: 0x10 was read as 16 kWh, 1e6 kWh in a quarter-hour (4 GW) billed 375 035.78 € of excess.
  it('a number not written in decimal', () => {
    for (const bad of ['0x10', '1e6', 'Infinity', '0b11', '+', '1,5'.replace(',', ';')]) expect(fails(good.replace('00:15:00Z,1', `00:15:00Z,${bad}`)), bad).toBe(`--readings r.csv row 3: kWh ${JSON.stringify(bad)} is not a number written in decimal (digits with an optional decimal point, e.g. 12.5)`);
    expect(parseReadings(good.replace('00:15:00Z,1', '00:15:00Z,12.5'), 'r.csv')[1]!.kwh).toBe(12.5);
  });
  it('a quarter-hour the contracted power could not draw (a file in Wh)', () => {
    // 200 kW the largest contracted power: up to 10 × 200 / 4 = 500 kWh a quarter-hour is taken, above it refused
    const day = (kwh: (t: number) => number) => parseReadings(readingsText('2025-12-31T23:00:00Z', '2026-01-01T23:00:00Z', kwh), 'r.csv');
    const prices = new Map(day(() => 1).map((r) => [r.start, 50]));
    expect(() => billReport(contract, day(() => 500), prices, '2026-01-01', '2026-01-02', 'r.csv')).not.toThrow();
    expect(() => billReport(contract, day((t) => (t === Date.parse('2026-01-01T10:00:00Z') ? 1e6 : 5)), prices, '2026-01-01', '2026-01-02', 'r.csv')).toThrow(
      new InputError('--readings r.csv row 46: 1000000 kWh in the quarter-hour 2026-01-01T10:00:00Z is an average of 4000000 kW, more than 10 × the largest contracted power (200 kW), so it cannot be this supply\'s energy in kWh (is the file in Wh?)'),
    );
  });
  it('a PVPC price file given as OMIE prices (its column or its name)', () => {
    expect(() => checkNotPvpc('/data/prices.csv', 'datetime_utc,datetime_local,date_local,esios_hour_key,pvpc_pcb_eur_kwh,pvpc_cym_eur_kwh')).toThrow(
      '--prices /data/prices.csv: is a PVPC price file (its column pvpc_pcb_eur_kwh), which already includes the tolls and charges the indexed bill adds to the price: pass OMIE day-ahead prices (price_es_eur_mwh) instead',
    );
    expect(() => checkNotPvpc('/x/pvpc_2.0td_hourly.csv.gz', 'datetime_utc,price_eur_mwh')).toThrow(/is a PVPC price file \(its name\)/);
    expect(() => checkNotPvpc('/x/omie_day_ahead_spain_hourly.csv.gz', 'datetime_utc,datetime_local,price_es_eur_mwh,price_pt_eur_mwh')).not.toThrow();
  });
  it('a range the files do not cover', () => {
    const rows = parseReadings(good, 'r.csv');
    expect(() => billReport(contract, rows, new Map(), '2026-01-01', '2026-01-02', 'r.csv')).toThrow(/covers 2026-01-01T00:00:00Z \(row 2\) to 2026-01-01T00:45:00Z \(row 4\), not the whole range/);
    const day = parseReadings(readingsText('2025-12-31T23:00:00Z', '2026-01-01T23:00:00Z', () => 1), 'r.csv');
    const prices = new Map(day.map((r) => [r.start, 50]));
    prices.delete(Date.parse('2026-01-01T10:00:00Z'));
    expect(() => billReport(contract, day, prices, '2026-01-01', '2026-01-02', 'r.csv')).toThrow('--prices have no price for the quarter-hour 2026-01-01T10:00:00Z (--readings row 46): the price files do not cover the range');
  });
});

describe('choco-edge bill (the real command on OMIE files)', () => {
  it('prints one line per month and a total that adds them up; exit 2 with one sentence on bad input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bill-cli-'));
    // December 2025 – January 2026 readings: 2 kWh every quarter-hour (8 kW)
    writeFileSync(join(dir, 'r.csv.gz'), gzipSync(readingsText('2025-11-30T23:00:00Z', '2026-01-31T23:00:00Z', () => 2)));
    // OMIE-format prices: quarter-hour rows for December, hourly rows for January (applied to their 4 quarters)
    let qh = 'datetime_utc,datetime_local,period,price_es_eur_mwh,price_pt_eur_mwh,source_repo\n';
    for (let t = Date.parse('2025-11-30T23:00:00Z'), i = 0; t < Date.parse('2025-12-31T23:00:00Z'); t += QH, i++) qh += `${iso(t)},,${(i % 96) + 1},100,100,test\n`;
    let hourly = 'datetime_utc,datetime_local,price_es_eur_mwh,price_pt_eur_mwh,n_intervals,source_resolution_min,source_repo\n';
    for (let t = Date.parse('2025-12-31T23:00:00Z'); t < Date.parse('2026-01-31T23:00:00Z'); t += 4 * QH) hourly += `${iso(t)},,80,80,1,60,test\n`;
    writeFileSync(join(dir, 'qh.csv'), qh);
    writeFileSync(join(dir, 'h.csv'), hourly);
    writeFileSync(
      join(dir, 'c.yaml'),
      'energy:\n  contract:\n    tariff: 6.1TD\n    contractedKw: [100, 100, 100, 100, 100, 200]\n    powerPriceEurKwYear: [30, 25, 15, 10, 5, 2]\n    tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0]\n    energy: { indexed: { marginEurMwh: 5 } }\n    electricityTaxPct: 5\n    vatPct: 21\n',
    );
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'bill', '--config', join(dir, 'c.yaml'), ...args], { encoding: 'utf8', env: { ...process.env, CHOCO_EDGE_LOG_PRETTY: 'false' } });
    const ok = run('--readings', join(dir, 'r.csv.gz'), '--prices', `${join(dir, 'qh.csv')},${join(dir, 'h.csv')}`, '--from', '2025-12-01', '--to', '2026-02-01');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // December: 31 × 96 × 2 = 5952 kWh; energy 5952 × 105/1000 = 624.96; power 8900 × 31/365 = 755.890411 → 755.89
    //   tax 5 % × 1380.850411 = 69.042521 → 69.04; VAT 21 % × 1449.892932 = 304.477516 → 304.48
    //   total 624.96 + 755.89 + 0 + 69.04 + 304.48 = 1754.37
    // January: 5952 kWh × 85/1000 = 505.92; power 755.89; tax 5 % × 1261.810411 = 63.090521 → 63.09;
    //   VAT 21 % × 1324.900932 = 278.229196 → 278.23; total 505.92 + 755.89 + 63.09 + 278.23 = 1603.13
    expect(ok.stdout.trim().split('\n')).toEqual([
      'month=2025-12 energy_kwh=5952.000 energy_eur=624.96 power_eur=755.89 excess_eur=0.00 tax_eur=69.04 vat_eur=304.48 total_eur=1754.37',
      'month=2026-01 energy_kwh=5952.000 energy_eur=505.92 power_eur=755.89 excess_eur=0.00 tax_eur=63.09 vat_eur=278.23 total_eur=1603.13',
      'total: energy_kwh=11904.000 energy_eur=1130.88 power_eur=1511.78 excess_eur=0.00 tax_eur=132.13 vat_eur=582.71 total_eur=3357.50',
    ]);
    const uncovered = run('--readings', join(dir, 'r.csv.gz'), '--prices', join(dir, 'qh.csv'), '--from', '2025-12-01', '--to', '2026-02-01');
    expect(uncovered.status).toBe(2);
    expect(uncovered.stderr.trim()).toBe('choco-edge: --prices have no price for the quarter-hour 2025-12-31T23:00:00Z (--readings row 2978): the price files do not cover the range');
    expect(uncovered.stdout).toBe('');
    // The shared PVPC file (tester5: accepted as OMIE, energy 128.05 € instead of 75.76 €): refused, exit 2
    const pvpc = run('--readings', join(dir, 'r.csv.gz'), '--prices', '/work/shared/data/pvpc_2.0td_hourly.csv.gz', '--from', '2025-12-01', '--to', '2026-02-01');
    expect(pvpc.status).toBe(2);
    expect(pvpc.stderr.trim()).toMatch(/^choco-edge: --prices \/work\/shared\/data\/pvpc_2\.0td_hourly\.csv\.gz: is a PVPC price file \(its column pvpc_pcb_eur_kwh\), which already includes the tolls/);
    expect(pvpc.stdout).toBe('');
  }, 60_000);
});
