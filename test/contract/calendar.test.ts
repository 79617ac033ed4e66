import { describe, expect, it } from 'vitest';
import { periodOf, powerPeriodOf } from '../../gateway/contract/calendar.js';
import { resolveContract, ContractError } from '../../gateway/contract/contract.js';
import { loadConfig, ConfigError } from '../../gateway/config/load.js';
import { TARIFF_30TD, tariffPeriod } from '../../gateway/planner/tariff.js';

const at = (iso: string) => Date.parse(iso);

describe('periodOf: the CNMC Circular 3/2020 calendar (Península, Madrid clock)', () => {
  it('6.1TD/3.0TD weekdays by season and local hour', () => {
    // Wednesday 2026-01-07, winter (UTC+1): 10:30 local is peak of the "alta" season → P1; 08:30 → P2; 07:59 → P6
    expect(periodOf('6.1TD', at('2026-01-07T09:30:00Z'))).toBe(1);
    expect(periodOf('6.1TD', at('2026-01-07T07:30:00Z'))).toBe(2);
    expect(periodOf('6.1TD', at('2026-01-07T06:45:00Z'))).toBe(6);
    expect(periodOf('6.1TD', at('2026-01-07T22:45:00Z'))).toBe(2); // 23:45 local
    // March (media-alta): peak P2, shoulder P3. Friday 2026-03-27 (UTC+1) 09:00 local = 08:00Z
    expect(periodOf('3.0TD', at('2026-03-27T08:00:00Z'))).toBe(2);
    expect(periodOf('3.0TD', at('2026-03-27T07:00:00Z'))).toBe(3); // 08:00 local
    // Monday 2026-03-30 after the spring change (UTC+2): 09:00 local = 07:00Z is peak → P2 (local clock, not UTC)
    expect(periodOf('3.0TD', at('2026-03-30T07:00:00Z'))).toBe(2);
    expect(periodOf('3.0TD', at('2026-03-30T06:00:00Z'))).toBe(3); // 08:00 local
    // June (media): P3/P4; October (baja): P4/P5
    expect(periodOf('6.1TD', at('2026-06-10T10:00:00Z'))).toBe(3);
    expect(periodOf('6.1TD', at('2026-06-10T13:00:00Z'))).toBe(4); // 15:00 local
    expect(periodOf('6.1TD', at('2026-10-14T17:00:00Z'))).toBe(4); // 19:00 local
    expect(periodOf('6.1TD', at('2026-10-14T20:30:00Z'))).toBe(5); // 22:30 local
  });

  it('weekends, 6 January and fixed national holidays are P6 (P3 on 2.0TD); Good Friday is not', () => {
    expect(periodOf('6.1TD', at('2026-01-06T10:00:00Z'))).toBe(6); // Tuesday, Epiphany
    expect(periodOf('2.0TD', at('2026-01-06T10:00:00Z'))).toBe(3);
    expect(periodOf('6.1TD', at('2026-01-10T10:00:00Z'))).toBe(6); // Saturday
    expect(periodOf('6.1TD', at('2026-12-08T10:00:00Z'))).toBe(6); // Tuesday, Immaculate Conception
    expect(periodOf('6.1TD', at('2026-10-12T10:00:00Z'))).toBe(6); // Monday, National Day
    // Good Friday 2026-04-03 has no fixed date: a normal April weekday, 12:00 local → P4
    expect(periodOf('6.1TD', at('2026-04-03T10:00:00Z'))).toBe(4);
    expect(periodOf('2.0TD', at('2026-04-03T10:00:00Z'))).toBe(1);
    // The holiday is the local date: 5 Jan 23:30 local (22:30Z) is a Monday shoulder, 6 Jan 23:30 local is holiday
    expect(periodOf('6.1TD', at('2026-01-05T22:30:00Z'))).toBe(2);
    expect(periodOf('6.1TD', at('2026-01-06T22:30:00Z'))).toBe(6);
    expect(periodOf('6.1TD', at('2026-01-06T23:30:00Z'))).toBe(6); // 7 Jan 00:30 local: night
  });

  it("the planner's tariff uses the same calendar: Good Friday is a working day there too", () => {
    // main labelled Good Friday P6 (it used the national-holiday list, which includes it): the plan then treated
    // a P4 April weekday as the cheapest period
    expect(tariffPeriod(TARIFF_30TD, at('2026-04-03T10:00:00Z'))).toBe('P4');
    expect(tariffPeriod(TARIFF_30TD, at('2026-01-06T10:00:00Z'))).toBe('P6');
  });

  it('2.0TD: P1 10-14 and 18-22, P2 8-10, 14-18, 22-24, P3 nights; power P1 (P1+P2) and P2 (P3)', () => {
    expect(periodOf('2.0TD', at('2026-06-10T07:00:00Z'))).toBe(2); // 09:00 local
    expect(periodOf('2.0TD', at('2026-06-10T08:00:00Z'))).toBe(1); // 10:00 local
    expect(periodOf('2.0TD', at('2026-06-10T04:00:00Z'))).toBe(3); // 06:00 local
    expect(powerPeriodOf('2.0TD', at('2026-06-10T07:00:00Z'))).toBe(1);
    expect(powerPeriodOf('2.0TD', at('2026-06-10T04:00:00Z'))).toBe(2);
  });

  it('DST days keep local clock labels: the 25-hour day has 100 quarter-hours all P6 (Sunday)', () => {
    const start = at('2026-10-24T22:00:00Z');
    const end = at('2026-10-25T23:00:00Z');
    expect((end - start) / 900_000).toBe(100);
    for (let t = start; t < end; t += 900_000) expect(periodOf('6.1TD', t)).toBe(6);
  });
});

describe('the contract', () => {
  const base = {
    tariff: '6.1TD' as const,
    contractedKw: [450, 450, 450, 450, 450, 500],
    powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4],
    tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002],
    energy: { indexed: { marginEurMwh: 6 } },
  };

  it('fills tep, tax, VAT and Kp from the tariff', () => {
    const c = resolveContract(base);
    expect(c.kp).toEqual([1, 1, 0.542746, 0.41026, 0.026371, 0.026371]);
    expect(c.tepEurKw).toBe(1.4064);
    expect(c.electricityTaxPct).toBe(5.11269632);
    expect(c.vatPct).toBe(21);
    expect(resolveContract({ ...base, tariff: '3.0TD' }).kp[1]).toBe(0.873773);
  });

  it('refuses a decreasing set of contracted powers with a clear sentence, in code and in config', () => {
    expect(() => resolveContract({ ...base, contractedKw: [450, 450, 400, 450, 450, 500] })).toThrow(ContractError);
    expect(() => resolveContract({ ...base, contractedKw: [450, 450, 400, 450, 450, 500] })).toThrow(/P3 = 400 kW is below P2 = 450 kW/);
    expect(() => loadConfig({ env: {}, overrides: { energy: { contract: { ...base, contractedKw: [450, 450, 400, 450, 450, 500] } } } })).toThrow(ConfigError);
    try {
      loadConfig({ env: {}, overrides: { energy: { contract: { ...base, contractedKw: [500, 450, 450, 450, 450, 500] } } } });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        '/energy/contract/contractedKw: contracted power may not decrease from one period to the next (P1 ≤ P2 ≤ … ≤ P6), but P2 = 450 kW is below P1 = 500 kW',
      ]);
    }
  });

  it('refuses arrays sized for another tariff', () => {
    expect(() => resolveContract({ ...base, tollsAndChargesEurKwh: [0.1, 0.05, 0.01] })).toThrow(/6\.1TD has 6 energy periods, got 3 values/);
    expect(() => resolveContract({ ...base, tariff: '2.0TD', contractedKw: [5, 5], powerPriceEurKwYear: [30, 1], tollsAndChargesEurKwh: [0.1, 0.05, 0.01] })).not.toThrow();
  });

  it('loads from config with its defaults', () => {
    const config = loadConfig({ env: {}, overrides: { energy: { contract: base } } });
    expect(config.energy.contract?.vatPct).toBe(21);
    expect(loadConfig({ env: {} }).energy.contract).toBeUndefined();
  });
});
