/**
 * A contract figure in the wrong unit is refused at load with one sentence naming the setting, what was given, the
 * unit expected and the figure it probably meant. Found by writing the contract as a plant engineer might: VAT 0.21
 * (for 21 %), tolls and charges in €/MWh (29 for 0.029 €/kWh), a fixed price in €/MWh, a power price per day,
 * a margin in €/kWh, contracted power in watts, a 2.0TD contract of 200 kW: on main every one was accepted by
 * `check-config` (exit 0) and `start`, and the bill came out 100 or 1000 times off. Real YAML files through
 * loadConfig, and once through the CLI (`check-config`, exit 2).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../gateway/config/load.js';
import { resolveContract } from '../../gateway/contract/contract.js';

const dir = mkdtempSync(join(tmpdir(), 'contract-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = {
  tariff: '3.0TD',
  contractedKw: '[200, 200, 200, 200, 200, 250]',
  powerPriceEurKwYear: '[19.4, 10.2, 4.3, 3.7, 2.4, 1.4]',
  tollsAndChargesEurKwh: '[0.029, 0.021, 0.011, 0.007, 0.004, 0.002]',
  energy: '{ indexed: { marginEurMwh: 6 } }',
};
let n = 0;
function yaml(over: Partial<Record<keyof typeof good | 'vatPct' | 'electricityTaxPct', string>>): string {
  const c = { ...good, ...over };
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, `energy:\n  contract:\n${Object.entries(c).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\n`);
  return file;
}
function problems(file: string): string[] {
  try {
    loadConfig({ file, env: {} });
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message.split('\n').map((l) => l.replace(/^\s*-\s*/, '')).filter((l) => l.startsWith('/'));
  }
}

describe('contract figures in the wrong unit', () => {
  it('the sound contract and the real variants load (IVA 21/10/5 %, IEE 0.5 %, zero margin, a 15 kW 2.0TD, 6.1TD at 5 MW)', () => {
    expect(problems(yaml({}))).toEqual([]);
    for (const vat of ['21', '10', '5', '0']) expect(problems(yaml({ vatPct: vat }))).toEqual([]);
    expect(problems(yaml({ electricityTaxPct: '0.5' }))).toEqual([]);
    expect(problems(yaml({ energy: '{ indexed: { marginEurMwh: 0 } }' }))).toEqual([]);
    expect(problems(yaml({ energy: '{ fixed: [0.14, 0.12, 0.10, 0.09, 0.08, 0.07] }' }))).toEqual([]);
    expect(problems(yaml({ tariff: '2.0TD', contractedKw: '[15, 15]', powerPriceEurKwYear: '[30.67, 1.42]', tollsAndChargesEurKwh: '[0.1, 0.05, 0.01]' }))).toEqual([]);
    expect(problems(yaml({ tariff: '6.1TD', contractedKw: '[5000, 5000, 5000, 5000, 5000, 5000]' }))).toEqual([]);
    expect(problems(yaml({ powerPriceEurKwYear: '[0, 0, 0, 0, 0, 0]' }))).toEqual([]);
  });

  const cases: Array<[string, Parameters<typeof yaml>[0], RegExp]> = [
    ['VAT as a fraction', { vatPct: '0.21' }, /^\/energy\/contract\/vatPct: a percentage is expected \(21 for 21 %\), got 0\.21, which looks like a fraction: write 21 for 21 %$/],
    ['electricity tax as a fraction', { electricityTaxPct: '0.0511269632' }, /^\/energy\/contract\/electricityTaxPct: a percentage is expected .*got 0\.0511269632, which looks like a fraction: write 5\.11269632 for 5\.11269632 %$/],
    ['tolls and charges in €/MWh', { tollsAndChargesEurKwh: '[29, 21, 11, 7, 4, 2]' }, /^\/energy\/contract\/tollsAndChargesEurKwh: €\/kWh is expected, got 29 for P1, which looks like €\/MWh: 29 €\/MWh is 0\.029 €\/kWh$/],
    ['a fixed price in €/MWh', { energy: '{ fixed: [140, 120, 100, 90, 80, 70] }' }, /^\/energy\/contract\/energy\/fixed: €\/kWh is expected, got 140 for P1, which looks like €\/MWh: 140 €\/MWh is 0\.14 €\/kWh$/],
    ['a power price per day', { powerPriceEurKwYear: '[0.053, 0.028, 0.012, 0.01, 0.0066, 0.0038]' }, /^\/energy\/contract\/powerPriceEurKwYear: €\/kW·year is expected, got at most 0\.053, which looks like a price per day or per month .*0\.053 €\/kW·day is 19\.345 €\/kW·year\)$/],
    ['a margin in €/kWh', { energy: '{ indexed: { marginEurMwh: 0.006 } }' }, /^\/energy\/contract\/energy\/indexed\/marginEurMwh: €\/MWh is expected, got 0\.006, which looks like €\/kWh: 0\.006 €\/kWh is 6 €\/MWh$/],
    ['contracted power in watts', { contractedKw: '[200000, 200000, 200000, 200000, 200000, 250000]' }, /^\/energy\/contract\/contractedKw: kW is expected, got 200000 for P1, which looks like watts: 200000 W is 200 kW$/],
    ['a 2.0TD contract above 15 kW', { tariff: '2.0TD', contractedKw: '[200, 200]', powerPriceEurKwYear: '[30.67, 1.42]', tollsAndChargesEurKwh: '[0.1, 0.05, 0.01]' }, /^\/energy\/contract\/contractedKw: 2\.0TD is for supplies up to 15 kW, got 200 kW: a supply above 15 kW is 3\.0TD/],
  ];
  for (const [what, over, sentence] of cases) {
    it(`${what}: one sentence`, () => {
      const p = problems(yaml(over));
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(sentence);
    });
  }

  it('the same check where a contract is built in code (resolveContract: the bill and simulate CLIs, the plugins)', () => {
    expect(() => resolveContract({ tariff: '3.0TD', contractedKw: [200, 200, 200, 200, 200, 250], powerPriceEurKwYear: [19.4, 10.2, 4.3, 3.7, 2.4, 1.4], tollsAndChargesEurKwh: [0.029, 0.021, 0.011, 0.007, 0.004, 0.002], energy: { indexed: { marginEurMwh: 6 } }, vatPct: 0.21 })).toThrow(/energy\.contract\/vatPct: a percentage is expected/);
  });

  it('check-config refuses it: exit 2, the sentence on stderr', () => {
    const repo = resolve(import.meta.dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'gateway/main.ts'), 'check-config', '--config', yaml({ vatPct: '0.21' })], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/energy/contract/vatPct: a percentage is expected (21 for 21 %), got 0.21, which looks like a fraction');
  });
});
