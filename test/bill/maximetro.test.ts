/**
 * The maxímetro (CNMC Circular 3/2020 art. 9, ../shared/design/energy.md): a 3.0TD supply whose every contracted
 * power is ≤ 50 kW pays per period 2 × (Pmax,p − Pc,p) × tep × days / 30, Pmax,p the month's highest quarter-hour
 * demand (4 × kWh) in period p; above 50 kW, and 6.1TD, the quarter-hour formula Σ_p Kp × tep × sqrt(Σ (Pd − Pc)²).
 * Found by a tester (notes/breaker3.md "Maxímetro"): a 40 kW 3.0TD with one 46 kW quarter-hour in January 2026 was
 * billed 8.44 € (the quarter-hour formula) where the maxímetro gives 2 × 6 × 1.4064 × 31/30 = 17.44 €. On main each
 * test here fails: the excess is 8.44, `excessMetering` is refused as an unknown property, and neither the breakdown
 * nor the payload says which rule it followed. Real YAML files through loadConfig; the CLI's report function.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../gateway/config/load.js';
import { resolveContract, type ContractConfig } from '../../gateway/contract/contract.js';
import { AdviceInputError, advisePower } from '../../gateway/contract/advise-power.js';
import { computeBill, billAmounts, monthRange, projectMonth } from '../../gateway/bill/bill.js';
import { billReport, type ReadingRow } from '../../gateway/bill/cli.js';
import { billPayload } from '../../gateway/bill/payloads.js';
import { monthReportHtml } from '../../gateway/http/bill-routes.js';

const QH = 900_000;
const at = (iso: string) => Date.parse(iso);
const TEP = 1.4064;
const dir = mkdtempSync(join(tmpdir(), 'maximetro-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = (tariff: ContractConfig['tariff'], kw: number[], extra: Partial<ContractConfig> = {}): ContractConfig => ({
  tariff,
  contractedKw: kw,
  powerPriceEurKwYear: [19.4, 10.2, 4.3, 3.7, 2.4, 1.4],
  tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0],
  energy: { fixed: [0.14, 0.12, 0.1, 0.09, 0.08, 0.07] },
  tepEurKw: TEP,
  electricityTaxPct: 5.11269632,
  vatPct: 21,
  ...extra,
});

/** Every quarter-hour of [from, to) at `kwh`, with `spikes` (UTC ISO → kWh) in place. */
function readings(from: string, to: string, kwh: number, spikes: Record<string, number> = {}): ReadingRow[] {
  const out: ReadingRow[] = [];
  const s = new Map(Object.entries(spikes).map(([k, v]) => [at(k), v]));
  for (let t = at(from), row = 2; t < at(to); t += QH, row++) out.push({ start: t, kwh: s.get(t) ?? kwh, quality: 'measured', row });
  return out;
}

// January 2026 in Madrid: 2025-12-31T23:00Z .. 2026-01-31T23:00Z; 8 kWh (32 kW) every quarter-hour, one of 11.5 kWh
// (46 kW) on Wednesday 7 January 10:00 local (P1, alta season).
const JAN = readings('2025-12-31T23:00:00Z', '2026-01-31T23:00:00Z', 8, { '2026-01-07T09:00:00Z': 11.5 });

describe('the maxímetro (3.0TD, every Pc ≤ 50 kW)', () => {
  it("the tester's case: 40 kW 3.0TD, one 46 kW quarter-hour → 2 × 6 kW × 1.4064 €/kW × 31/30 = 17.44 €, explained", () => {
    const contract = resolveContract(base('3.0TD', [40, 40, 40, 40, 40, 40]));
    expect(contract.excessMetering).toBe('maximetro');
    const report = billReport(contract, JAN, new Map(), '2026-01-01', '2026-02-01', 'r-maxi.csv');
    const lines = report.split('\n');
    expect(lines[0]).toMatch(/^month=2026-01 .* excess_eur=17\.44 /);
    expect((2 * 6 * TEP * 31) / 30).toBeCloseTo(17.43936, 9);
    expect(lines[1]).toBe('  excess P1 maximetro: Pmax=46 kW at 2026-01-07T10:00:00+01:00 over Pc=40 kW: 2 × 6 kW × tep 1.4064 €/kW × 31 days / 30 = 17.44 €');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^total: .* excess_eur=17\.44 /);
    // The tax and VAT are on the maxímetro's figure.
    const part = computeBill(contract, at('2025-12-31T23:00:00Z'), at('2026-01-31T23:00:00Z'), JAN, new Map(), { excess: true });
    expect(part.excess).toMatchObject({ metering: 'maximetro', days: 31 });
    expect(part.taxEur).toBeCloseTo(((part.energyEur + part.powerEur + 17.43936) * 5.11269632) / 100, 9);
  });

  it('the real `bill` command on the tester\'s files: excess_eur=17.44 and the line that explains it', () => {
    const yaml = join(dir, 'maxi.yaml');
    writeFileSync(yaml, 'energy:\n  contract:\n    tariff: 3.0TD\n    contractedKw: [40, 40, 40, 40, 40, 40]\n    powerPriceEurKwYear: [19.4, 10.2, 4.3, 3.7, 2.4, 1.4]\n    tollsAndChargesEurKwh: [0.029, 0.021, 0.011, 0.007, 0.004, 0.002]\n    energy: { fixed: [0.14, 0.12, 0.10, 0.09, 0.08, 0.07] }\n');
    const csv = join(dir, 'r-maxi.csv');
    writeFileSync(csv, ['datetime_utc,kwh', ...JAN.map((r) => `${new Date(r.start).toISOString().replace('.000Z', 'Z')},${r.kwh}`)].join('\n') + '\n');
    const prices = join(dir, 'omie.csv'); // fixed prices: the file is read, not used
    let omie = 'datetime_utc,datetime_local,price_es_eur_mwh,price_pt_eur_mwh,n_intervals,source_resolution_min,source_repo\n';
    for (let t = at('2025-12-31T23:00:00Z'); t < at('2026-01-31T23:00:00Z'); t += 4 * QH) omie += `${new Date(t).toISOString().replace('.000Z', 'Z')},,80,80,1,60,test\n`;
    writeFileSync(prices, omie);
    const r = spawnSync(process.execPath, ['--import', 'tsx', resolve('gateway/main.ts'), 'bill', '--config', yaml, '--readings', csv, '--prices', prices, '--from', '2026-01-01', '--to', '2026-02-01'], { encoding: 'utf8', env: { ...process.env, CHOCO_EDGE_LOG_PRETTY: 'false' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^month=2026-01 energy_kwh=23811\.500 .* excess_eur=17\.44 /);
    expect(lines[1]).toBe('  excess P1 maximetro: Pmax=46 kW at 2026-01-07T10:00:00+01:00 over Pc=40 kW: 2 × 6 kW × tep 1.4064 €/kW × 31 days / 30 = 17.44 €');
  });

  it('a February is × 28/30, a partial range × its days / 30, and a Pmax at or below Pc costs nothing', () => {
    const contract = resolveContract(base('3.0TD', [40, 40, 40, 40, 40, 40]));
    const feb = readings('2026-01-31T23:00:00Z', '2026-02-28T23:00:00Z', 8, { '2026-02-04T09:00:00Z': 11.5 });
    expect(billReport(contract, feb, new Map(), '2026-02-01', '2026-03-01')).toMatch(/excess_eur=15\.75 /); // 2 × 6 × 1.4064 × 28/30 = 15.7517
    expect(billReport(contract, JAN, new Map(), '2026-01-05', '2026-01-15')).toMatch(/excess_eur=5\.63 /); // × 10/30 = 5.6256
    const flat = readings('2025-12-31T23:00:00Z', '2026-01-31T23:00:00Z', 10); // 40 kW exactly: not above
    expect(billReport(contract, flat, new Map(), '2026-01-01', '2026-02-01').split('\n')[0]).toMatch(/excess_eur=0\.00 /);
  });

  it('per period: Pmax,p of the month in each period against its own Pc,p, with when it happened', () => {
    const contract = resolveContract(base('3.0TD', [30, 35, 40, 45, 45, 50]));
    expect(contract.excessMetering).toBe('maximetro');
    // 5 kWh (20 kW) everywhere; P1: 34 and 37 kW (Pmax 37 > 30); P2 (08:00 local): 34 kW < 35 → 0; P6 (Saturday): 55 kW > 50
    const q = readings('2025-12-31T23:00:00Z', '2026-01-31T23:00:00Z', 5, {
      '2026-01-07T09:00:00Z': 8.5, // Wed 10:00 local, P1, 34 kW
      '2026-01-08T11:15:00Z': 9.25, // Thu 12:15 local, P1, 37 kW
      '2026-01-09T07:00:00Z': 8.5, // Fri 08:00 local, P2, 34 kW
      '2026-01-10T12:00:00Z': 13.75, // Sat 13:00 local, P6, 55 kW
    });
    const part = computeBill(contract, at('2025-12-31T23:00:00Z'), at('2026-01-31T23:00:00Z'), q, new Map(), { excess: true });
    const p = part.excess!.periods;
    expect(p[0]).toMatchObject({ maxKw: 37, maxAt: at('2026-01-08T11:15:00Z'), quarterHoursAbove: 2 });
    expect(p[0]!.eur).toBeCloseTo((2 * 7 * TEP * 31) / 30, 9);
    expect(p[1]).toMatchObject({ maxKw: 34, eur: 0 });
    expect(p[5]).toMatchObject({ maxKw: 55, maxAt: at('2026-01-10T12:00:00Z') });
    expect(p[5]!.eur).toBeCloseTo((2 * 5 * TEP * 31) / 30, 9);
    expect(part.excessEur).toBeCloseTo((2 * 12 * TEP * 31) / 30, 9); // 17.44 + … = 34.88
    // The payload explains each period and the rows add up to the term.
    const b = billPayload(part, { meter: 'site', role: 'site', kind: 'month', at: at('2026-02-02T00:00:00Z'), contract });
    expect(b.excess_metering).toBe('maximetro');
    expect(b.excess_days).toBe(31);
    expect(b.terms.excess_eur).toBe(34.88);
    expect(b.periods.map((x) => x.excess_eur)).toEqual([20.35, 0, 0, 0, 0, 14.53]);
    expect(b.periods[0]).toMatchObject({ max_kw: 37, max_at: '2026-01-08T11:15:00Z', max_at_local: '2026-01-08T12:15:00+01:00', contracted_kw: 30 });
    const html = monthReportHtml(b, 'en', 'Linares');
    expect(html).toContain('Excess power by maxímetro: per period 2 × (Pmax − Pc) × 1.4064 €/kW × 31 days / 30');
    expect(html).toContain('<td>2026-01-08 12:15</td><td>20.35</td>');
    expect(monthReportHtml(b, 'es', 'Linares')).toContain('Excesos de potencia por maxímetro');
  });

  it('DST days: March (a 92 quarter-hour day) and October (100) are × 31/30, the repeated hour at its own offset', () => {
    const contract = resolveContract(base('3.0TD', [40, 40, 40, 40, 40, 40]));
    const mar = monthRange('2026-03');
    // Sunday 29 March (23 h): 03:00 local (+02:00) = 01:00Z, P6; 52 kW → 2 × 12 × tep × 31/30
    const q = readings(new Date(mar.start).toISOString(), new Date(mar.end).toISOString(), 8, { '2026-03-29T01:00:00Z': 13 });
    expect(q.length).toBe(31 * 96 - 4);
    const part = computeBill(contract, mar.start, mar.end, q, new Map(), { excess: true });
    expect(part.coverage.expected).toBe(31 * 96 - 4);
    expect(part.excess).toMatchObject({ metering: 'maximetro', days: 31 });
    expect(billAmounts(part).excess_eur).toBe(34.88); // 2 × 12 × 1.4064 × 31/30 = 34.8787
    const oct = monthRange('2026-10');
    // Sunday 25 October (25 h): the second 02:00-03:00 local (+01:00) = 01:00Z; 50 kW → 2 × 10 × tep × 31/30
    const qo = readings(new Date(oct.start).toISOString(), new Date(oct.end).toISOString(), 8, { '2026-10-25T01:15:00Z': 12.5 });
    expect(qo.length).toBe(31 * 96 + 4);
    const po = computeBill(contract, oct.start, oct.end, qo, new Map(), { excess: true });
    expect(billAmounts(po).excess_eur).toBe(29.07); // 2 × 10 × 1.4064 × 31/30 = 29.0656
    expect(billReport(contract, qo, new Map(), '2026-10-01', '2026-11-01').split('\n')[1]).toBe('  excess P6 maximetro: Pmax=50 kW at 2026-10-25T02:15:00+01:00 over Pc=40 kW: 2 × 10 kW × tep 1.4064 €/kW × 31 days / 30 = 29.07 €');
  });

  it('a month to date is × its days so far / 30 and projects × the month’s days / 30', () => {
    const contract = resolveContract(base('3.0TD', [40, 40, 40, 40, 40, 40]));
    const jan = monthRange('2026-01');
    const part = computeBill(contract, jan.start, at('2026-01-09T23:00:00Z'), JAN, new Map(), { excess: true }); // 9 days
    expect(part.excessEur).toBeCloseTo((2 * 6 * TEP * 9) / 30, 9);
    expect(projectMonth(contract, part, jan.end).excessEur).toBeCloseTo((2 * 6 * TEP * 31) / 30, 9);
  });
});

describe('quarter-hour meters keep the quarter-hour formula', () => {
  it('a 3.0TD with a contracted power above 50 kW: Kp × tep × sqrt(Σ (Pd − Pc)²) = 1 × 1.4064 × 6 = 8.44 €', () => {
    const contract = resolveContract(base('3.0TD', [40, 40, 40, 40, 40, 60]));
    expect(contract.excessMetering).toBe('quarter-hour');
    const report = billReport(contract, JAN, new Map(), '2026-01-01', '2026-02-01').split('\n');
    expect(report[0]).toMatch(/excess_eur=8\.44 /);
    expect(report[1]).toBe('  excess P1 quarter-hour: 1 quarter-hour above Pc=40 kW (Pmax=46 kW at 2026-01-07T10:00:00+01:00): Kp 1 × tep 1.4064 €/kW × sqrt(36 kW²) = 8.44 €');
    const part = computeBill(contract, at('2025-12-31T23:00:00Z'), at('2026-01-31T23:00:00Z'), JAN, new Map(), { excess: true });
    expect(part.excess).toMatchObject({ metering: 'quarter-hour', days: null });
    expect(billPayload(part, { meter: 'site', role: 'site', kind: 'month', at: 0, contract }).excess_metering).toBe('quarter-hour');
  });

  it('a 6.1TD, even of 40 kW, is unchanged (quarter-hour), unless its contract says maximetro', () => {
    const contract = resolveContract(base('6.1TD', [40, 40, 40, 40, 40, 40]));
    expect(contract.excessMetering).toBe('quarter-hour');
    expect(billReport(contract, JAN, new Map(), '2026-01-01', '2026-02-01').split('\n')[0]).toMatch(/excess_eur=8\.44 /);
    const maxi = resolveContract(base('6.1TD', [40, 40, 40, 40, 40, 40], { excessMetering: 'maximetro' }));
    expect(billReport(maxi, JAN, new Map(), '2026-01-01', '2026-02-01').split('\n')[0]).toMatch(/excess_eur=17\.44 /);
  });
});

describe('excessMetering in the config', () => {
  let n = 0;
  const file = (c: Record<string, unknown>) => {
    const f = join(dir, `c${n++}.yaml`);
    writeFileSync(f, `energy:\n  contract:\n${Object.entries(c).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}\n`);
    return f;
  };
  const problems = (c: Record<string, unknown>): string[] => {
    try {
      loadConfig({ file: file(c), env: {} });
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).message.split('\n').map((l) => l.replace(/^\s*-\s*/, '')).filter((l) => l.startsWith('/'));
    }
  };

  it('is derived when absent and accepted where the regulation allows it', () => {
    const cfg = (c: ContractConfig) => loadConfig({ file: file(c as unknown as Record<string, unknown>), env: {} }).energy.contract!;
    expect(resolveContract(cfg(base('3.0TD', [40, 40, 40, 40, 40, 40]))).excessMetering).toBe('maximetro');
    expect(resolveContract(cfg(base('3.0TD', [40, 40, 40, 40, 40, 50]))).excessMetering).toBe('maximetro');
    expect(resolveContract(cfg(base('3.0TD', [40, 40, 40, 40, 40, 51]))).excessMetering).toBe('quarter-hour');
    expect(resolveContract(cfg(base('3.0TD', [40, 40, 40, 40, 40, 40], { excessMetering: 'maximetro' }))).excessMetering).toBe('maximetro');
    expect(resolveContract(cfg(base('3.0TD', [60, 60, 60, 60, 60, 60], { excessMetering: 'quarter-hour' }))).excessMetering).toBe('quarter-hour');
    expect(resolveContract(cfg(base('6.1TD', [40, 40, 40, 40, 40, 40], { excessMetering: 'maximetro' }))).excessMetering).toBe('maximetro');
  });

  it('is refused, one sentence each, where it contradicts the regulation', () => {
    expect(problems(base('3.0TD', [40, 40, 40, 40, 40, 60], { excessMetering: 'maximetro' }))).toEqual([
      '/energy/contract/excessMetering: maximetro is for supplies of at most 50 kW, but P6 = 60 kW, and above 50 kW the excess is billed quarter-hour by quarter-hour (CNMC Circular 3/2020 art. 9): write quarter-hour or remove excessMetering',
    ]);
    expect(problems(base('3.0TD', [40, 40, 40, 40, 40, 40], { excessMetering: 'quarter-hour' }))).toEqual([
      '/energy/contract/excessMetering: a 3.0TD supply whose every contracted power is at most 50 kW (here at most 40 kW) has a maxímetro and its excess is billed as 2 × (Pmax − Pc) × tep (CNMC Circular 3/2020 art. 9), not quarter-hour by quarter-hour: write maximetro or remove excessMetering',
    ]);
    const two = { ...base('2.0TD', [10, 10], { excessMetering: 'maximetro' }), powerPriceEurKwYear: [30, 1.5], tollsAndChargesEurKwh: [0.03, 0.02, 0.003], energy: { fixed: [0.2, 0.15, 0.1] } };
    expect(problems(two)).toEqual(['/energy/contract/excessMetering: a 2.0TD supply (≤ 15 kW) has no excess-power term here (an ICP or its meter cuts it off), so remove excessMetering']);
    expect(problems(base('3.0TD', [40, 40, 40, 40, 40, 40], { excessMetering: 'maxímetro' as 'maximetro' })).length).toBeGreaterThan(0);
  });
});

describe('the contracted-power advice', () => {
  it('refuses a maxímetro supply (its excess is not the quarter-hour formula the advice minimises)', () => {
    const contract = resolveContract(base('3.0TD', [40, 40, 40, 40, 40, 40]));
    expect(() => advisePower(contract, JAN)).toThrow(AdviceInputError);
    expect(() => advisePower(contract, JAN)).toThrow(/not this 3\.0TD supply on a maxímetro/);
    expect(() => advisePower(resolveContract(base('3.0TD', [40, 40, 40, 40, 40, 60])), JAN)).not.toThrow();
  });
});
