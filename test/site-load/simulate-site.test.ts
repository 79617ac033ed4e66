import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../gateway/config/cli-input.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { baseLoadFor, loadBaseLoad } from '../../models/eval/simulate-site.js';
import { formatSimulation, simulate } from '../../models/eval/simulate.js';
import { testConfig } from '../helpers/context.js';
import { FIXTURES } from '../helpers/fixture-server.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

const run = promisify(execFile);
const prices = join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz');
const contract = (kw: number) => ({ tariff: '6.1TD', contractedKw: [kw, kw, kw, kw, kw, kw], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002], energy: { indexed: { marginEurMwh: 6 } } });
const from = '2025-10-20';
const to = '2025-10-23';

function baseLoadCsv(kw: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'choco-base-'));
  const rows = ['datetime_utc,kw'];
  for (let t = localDayRange(from).start; t < localDayRange(to).start; t += 3_600_000) rows.push(`${new Date(t).toISOString().replace('.000Z', 'Z')},${kw}`);
  writeFileSync(join(dir, 'base.csv'), `${rows.join('\n')}\n`);
  return join(dir, 'base.csv');
}

describe('simulate with the site: the plan, the fixed shift and hindsight billed as the bill bills them', () => {
  it('counts the site energy exactly and finds the excess quarter-hours when the base load leaves little room', async () => {
    const config = testConfig('http://127.0.0.1:9', { energy: { contract: contract(120) } });
    const path = baseLoadCsv(100);
    const base = baseLoadFor(config, path, { start: localDayRange(from).start, end: localDayRange(to).start });
    const result = await simulate(config, { prices, from, to, decisionHour: 14, site: { contract: resolveContract(config.energy.contract!), baseLoadKw: base.kw, baseLoadSource: base.source } });
    expect(result.days).toHaveLength(3);
    const site = result.site!;
    // The default processes: mixing 30 kW × 1 h, refining 42 × 4, conching 48 × 5, tempering 36 × 2, two batches a day;
    // plus 100 kW × 24 h of base load: 3 × (1020 + 2400) kWh for each schedule.
    for (const s of [site.plan, site.baseline, site.hindsight]) expect(s.amounts.energy_kwh).toBeCloseTo(3 * (1020 + 2400), 3);
    // Any run on top of 100 kW passes 120 kW: every quarter-hour with a run is above.
    expect(site.plan.excessQuarterHours).toBeGreaterThan(0);
    expect(site.plan.amounts.excess_eur).toBeGreaterThan(0);
    const text = formatSimulation(result, from, to);
    expect(text.split('\n').at(-1)).toMatch(/^total: plan_eur=\d+\.\d\d live_eur=\d+\.\d\d moves=[\d.]+ baseline_eur=\d+\.\d\d hindsight_eur=\d+\.\d\d excess_eur=\d+\.\d\d excess_quarter_hours=\d+$/);
    expect(text).toMatch(/share of the perfect-hindsight bill saving kept: /);
    // With room for every run (1000 kW contracted), no excess at all.
    const roomy = testConfig('http://127.0.0.1:9', { energy: { contract: contract(1000) } });
    const r2 = await simulate(roomy, { prices, from, to, decisionHour: 14, site: { contract: resolveContract(roomy.energy.contract!), baseLoadKw: base.kw, baseLoadSource: base.source } });
    expect(r2.site!.plan.excessQuarterHours).toBe(0);
    expect(r2.site!.plan.amounts.excess_eur).toBe(0);
    // The planner sees the contract (gateway/planner/contract-terms.ts): at 120 kW every run alone passes it on 100 kW
    // of base load, so it stops stacking runs, paying some energy for less excess; at 1000 kW it plans for energy only.
    expect(site.plan.amounts.energy_eur).toBeGreaterThanOrEqual(r2.site!.plan.amounts.energy_eur - 0.005);
    expect(site.plan.amounts.excess_eur).toBeLessThan(site.baseline.amounts.excess_eur);
    expect(site.plan.amounts.total_eur).toBeLessThan(site.baseline.amounts.total_eur);
  }, 120_000);

  it('refuses a bad base-load file in one sentence naming the row, and one that does not cover the range', () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-base-'));
    writeFileSync(join(dir, 'bad.csv'), 'datetime_utc,kw\n2025-10-20T00:00:00Z,10\n2025-10-20T00:15:00Z,-3\n');
    expect(() => loadBaseLoad(join(dir, 'bad.csv'))).toThrow(/row 3: kW must be a non-negative number/);
    writeFileSync(join(dir, 'naive.csv'), 'datetime_utc,kw\n2025-10-20 00:00,10\n');
    expect(() => loadBaseLoad(join(dir, 'naive.csv'))).toThrow(InputError);
    const config = testConfig('http://127.0.0.1:9');
    expect(() => baseLoadFor(config, baseLoadCsv(50), { start: localDayRange(from).start, end: localDayRange('2025-10-24').start })).toThrow(/no value for the quarter-hour 2025-10-22T22:00:00/);
  });

  it('the CLI refuses --base-load without a contract (exit 2, one sentence)', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', MAIN, 'simulate', '--from', from, '--to', to, '--prices', prices, '--decision-hour', '14', '--base-load', baseLoadCsv(10)], { env: gatewayEnv() }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err!.stderr.trim().split('\n')).toHaveLength(1);
    expect(err!.stderr).toMatch(/needs energy.contract/);
  }, 60_000);
});
