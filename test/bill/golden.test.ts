/**
 * Golden tests of the bill against hand-worked examples. The arithmetic is written out in each comment; the
 * expected figures were worked by hand (and checked with Python's decimal module at 40 digits), never produced by
 * the code under test. Rounding (gateway/bill/money.ts): every term in full precision, each rounded once to the
 * cent half away from zero, total = Σ rounded terms.
 */
import { describe, expect, it } from 'vitest';
import { billAmounts, computeBill, monthRange, type BillQuarterHour } from '../../gateway/bill/bill.js';
import { billPayload } from '../../gateway/bill/payloads.js';
import { excessPowerBreakdown, excessPowerEur } from '../../gateway/bill/excess.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { localDayRange } from '../../gateway/time/tz.js';

const QH = 900_000;
const at = (iso: string) => Date.parse(iso);

/** Every quarter-hour of [start, end) with kWh 0, except those given (UTC ISO → kWh). */
function load(start: number, end: number, spikes: Record<string, number>): BillQuarterHour[] {
  const out: BillQuarterHour[] = [];
  const byT = new Map(Object.entries(spikes).map(([iso, kwh]) => [at(iso), kwh]));
  for (let t = start; t < end; t += QH) out.push({ start: t, kwh: byT.get(t) ?? 0, quality: 'measured' });
  for (const t of byT.keys()) if (t < start || t >= end) throw new Error('spike outside the month');
  return out;
}
function prices(start: number, end: number, eurMwh: number, over: Record<string, number> = {}): Map<number, number> {
  const m = new Map<number, number>();
  for (let t = start; t < end; t += QH) m.set(t, eurMwh);
  for (const [iso, v] of Object.entries(over)) m.set(at(iso), v);
  return m;
}

// 6.1TD, Pc = 100 kW in P1..P5 and 200 kW in P6; power prices 30, 25, 15, 10, 5, 2 €/kW·year
// → Σ Pc × price = 3000 + 2500 + 1500 + 1000 + 500 + 400 = 8900 €/year.
const indexed61 = resolveContract({
  tariff: '6.1TD',
  contractedKw: [100, 100, 100, 100, 100, 200],
  powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
  tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
  energy: { indexed: { marginEurMwh: 5 } },
});

describe('golden bills (hand-worked)', () => {
  it('January 2026, 6.1TD indexed: spikes above the contracted power in P1, P2 and P6', () => {
    const { start, end } = monthRange('2026-01');
    const qh = load(start, end, {
      '2026-01-14T09:00:00Z': 30, // Wed 10:00 local, P1: Pd = 4 × 30 = 120 kW, 20 kW over Pc1 = 100
      '2026-01-14T09:15:00Z': 27.5, // Wed 10:15 local, P1: 110 kW, 10 kW over
      '2026-01-14T14:00:00Z': 35, // Wed 15:00 local, P2: 140 kW, 40 kW over Pc2 = 100
      '2026-01-17T11:00:00Z': 55, // Sat 12:00 local, P6: 220 kW, 20 kW over Pc6 = 200
      '2026-01-14T02:00:00Z': 40, // Wed 03:00 local, P6: 160 kW, under Pc6 = 200: no excess
    });
    const p = prices(start, end, 100, { '2026-01-14T09:00:00Z': 150 });
    const bill = computeBill(indexed61, start, end, qh, p, { excess: true });
    // energy = kWh × (OMIE + 5) / 1000 + kWh × tolls:
    //   30 × 155/1000 + 30 × 0.03 = 4.65 + 0.9 = 5.55          (P1, OMIE 150)
    //   27.5 × 105/1000 + 27.5 × 0.03 = 2.8875 + 0.825 = 3.7125 (P1)
    //   35 × 105/1000 + 35 × 0.02 = 3.675 + 0.7 = 4.375         (P2)
    //   55 × 105/1000 + 55 × 0.002 = 5.775 + 0.11 = 5.885      (P6)
    //   40 × 105/1000 + 40 × 0.002 = 4.2 + 0.08 = 4.28         (P6)
    //   Σ = 23.8025 → 23.80 €; 187.5 kWh
    expect(bill.energy[0]!.eur).toBeCloseTo(9.2625, 10);
    expect(bill.energy[1]!.eur).toBeCloseTo(4.375, 10);
    expect(bill.energy[5]!.eur).toBeCloseTo(10.165, 10);
    // power = 8900 × 31 / 365 = 755.890410… → 755.89 €
    // excess: P1 1 × 1.4064 × sqrt(20² + 10²) = 1.4064 × 22.36068 = 31.448060
    //         P2 1 × 1.4064 × sqrt(40²) = 56.2560
    //         P6 0.026371 × 1.4064 × sqrt(20²) = 0.741763
    //         Σ = 88.445824 → 88.45 €
    const x = bill.excess!;
    expect(x.periods[0]).toMatchObject({ quarterHoursAbove: 2, sumSquaresKw2: 500, maxKw: 120 });
    expect(x.periods[0]!.eur).toBeCloseTo(31.448060036, 8);
    expect(x.periods[1]!.eur).toBeCloseTo(56.256, 10);
    expect(x.periods[5]).toMatchObject({ quarterHoursAbove: 1, sumSquaresKw2: 400, maxKw: 220 });
    expect(x.periods[5]!.eur).toBeCloseTo(0.741763488, 8);
    // tax = 5.11269632 % × (23.8025 + 755.890411 + 88.445824) = 44.385297 → 44.39
    // VAT = 21 % × (23.8025 + 755.890411 + 88.445824 + 44.385297) = 191.630047 → 191.63
    // total = 23.80 + 755.89 + 88.45 + 44.39 + 191.63 = 1104.16
    expect(billAmounts(bill)).toEqual({ energy_kwh: 187.5, energy_eur: 23.8, power_eur: 755.89, excess_eur: 88.45, tax_eur: 44.39, vat_eur: 191.63, total_eur: 1104.16 });
    expect(bill.coverage).toEqual({ expected: 31 * 96, measured: 31 * 96, interpolated: 0, missing: 0, unpriced: 0 });
    // On quarter-hours, never hourly means: the hour 10-11 local averages (120 + 110 + 0 + 0) / 4 = 57.5 kW,
    // under Pc1, and would have hidden the P1 excess.
    const hourly = excessPowerEur(indexed61, [{ start: at('2026-01-14T09:00:00Z'), kwh: null, avgKw: 57.5 }]);
    expect(hourly).toBe(0);
    // One large spike costs more than several small ones of the same total: 1 × 30 kW vs 3 × 10 kW over, in P1
    const one = excessPowerEur(indexed61, [{ start: at('2026-01-14T09:00:00Z'), kwh: 32.5 }]);
    const three = excessPowerEur(indexed61, ['09:00', '09:15', '09:30'].map((m) => ({ start: at(`2026-01-14T${m}:00Z`), kwh: 27.5 })));
    expect(one).toBeCloseTo(30 * 1.4064, 10); // 42.192
    expect(three).toBeCloseTo(Math.sqrt(300) * 1.4064, 10); // 24.359
  });

  it('October 2026 (DST, a 25-hour day), 6.1TD indexed: 2980 quarter-hours, the repeated 02:00 hour billed twice', () => {
    const { start, end } = monthRange('2026-10');
    // 31 days, one of 25 h: 30 × 96 + 100 = 2980 quarter-hours
    expect((end - start) / QH).toBe(2980);
    const qh = load(start, end, {});
    for (const q of qh) q.kwh = 1; // 4 kW all month
    // Sunday 25 Oct: 02:00 CEST (00:00Z) and 02:00 CET (01:00Z) both at 240 kW, 40 kW over Pc6 = 200
    qh.find((q) => q.start === at('2026-10-25T00:00:00Z'))!.kwh = 60;
    qh.find((q) => q.start === at('2026-10-25T01:00:00Z'))!.kwh = 60;
    const bill = computeBill(indexed61, start, end, qh, prices(start, end, 50), { excess: true });
    // Periods (baja season: P4 09-14 and 18-22, P5 08-09, 14-18, 22-24, P6 00-08 on weekdays):
    //   21 working days (31 − 9 weekend days − 12 October) × 36 quarter-hours P4 = 756, × 28 P5 = 588,
    //   P6 = 2980 − 756 − 588 = 1636 (21 × 32 nights + 9 × 96 + 100 off-days)
    expect(bill.energy.map((e) => e.kwh)).toEqual([0, 0, 0, 756, 588, 1636 + 118]);
    // kWh = 2980 + 2 × 59 = 3098
    // energy = 3098 × (50 + 5)/1000 + 756 × 0.008 + 588 × 0.004 + 1754 × 0.002
    //        = 170.39 + 6.048 + 2.352 + 3.508 = 182.298 → 182.30
    // power  = 8900 × 31/365 = 755.890411 → 755.89 (31 days, whatever their hours)
    // excess = 0.026371 × 1.4064 × sqrt(40² + 40²) = 0.037088 × 56.568542 = 2.098024 → 2.10
    // tax    = 5.11269632 % × (182.298 + 755.890411 + 2.098024) = 48.073990 → 48.07
    // VAT    = 21 % × (940.286435 + 48.073990) = 207.555689 → 207.56
    // total  = 182.30 + 755.89 + 2.10 + 48.07 + 207.56 = 1195.92
    expect(billAmounts(bill)).toEqual({ energy_kwh: 3098, energy_eur: 182.3, power_eur: 755.89, excess_eur: 2.1, tax_eur: 48.07, vat_eur: 207.56, total_eur: 1195.92 });
    expect(bill.days).toBe(31);
    expect(bill.excess!.periods[5]!.quarterHoursAbove).toBe(2);
  });

  it('6 January is P6 all day: the same load costs less and its 120 kW is no excess (Pc6 = 200), unlike 7 January', () => {
    const day = (date: string, utc: string) => {
      const { start, end } = localDayRange(date);
      const qh = load(start, end, { [utc]: 30 }); // 120 kW at 10:00 local
      return computeBill(indexed61, start, end, qh, prices(start, end, 100), { excess: true });
    };
    const epiphany = day('2026-01-06', '2026-01-06T09:00:00Z');
    const next = day('2026-01-07', '2026-01-07T09:00:00Z');
    // 6 Jan: 30 × 105/1000 + 30 × 0.002 (P6) = 3.15 + 0.06 = 3.21; power one day 8900/365 = 24.383562 → 24.38
    //   tax 5.11269632 % × 27.593562 = 1.410775 → 1.41; VAT 21 % × 29.004337 = 6.090911 → 6.09; total 35.09
    expect(billAmounts(epiphany)).toEqual({ energy_kwh: 30, energy_eur: 3.21, power_eur: 24.38, excess_eur: 0, tax_eur: 1.41, vat_eur: 6.09, total_eur: 35.09 });
    // 7 Jan (Wednesday): 3.15 + 30 × 0.03 (P1) = 4.05; excess P1 1.4064 × 20 = 28.128
    //   tax 5.11269632 % × (4.05 + 24.383562 + 28.128) = 2.891799 → 2.89; VAT 21 % × 59.453361 = 12.485206 → 12.49
    //   total 4.05 + 24.38 + 28.13 + 2.89 + 12.49 = 71.94
    expect(billAmounts(next)).toEqual({ energy_kwh: 30, energy_eur: 4.05, power_eur: 24.38, excess_eur: 28.13, tax_eur: 2.89, vat_eur: 12.49, total_eur: 71.94 });
    expect(epiphany.energy[5]!.kwh).toBe(30);
    expect(epiphany.excess!.periods.every((p) => p.quarterHoursAbove === 0)).toBe(true);
  });

  it('February 2026, 3.0TD with fixed prices per period: no market price needed, Kp of 3.0TD', () => {
    const fixed30 = resolveContract({
      tariff: '3.0TD',
      contractedKw: [50, 100, 100, 100, 100, 100],
      powerPriceEurKwYear: [20, 15, 8, 6, 3, 1.5],
      tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
      energy: { fixed: [0.2, 0.18, 0.15, 0.13, 0.11, 0.09] },
    });
    const { start, end } = monthRange('2026-02');
    const qh = load(start, end, {
      '2026-02-02T07:30:00Z': 30, // Mon 08:30 local, P2: 120 kW, 20 over Pc2 = 100
      '2026-02-03T18:00:00Z': 15, // Tue 19:00 local, P1: 60 kW, 10 over Pc1 = 50
    });
    const bill = computeBill(fixed30, start, end, qh, new Map(), { excess: true });
    // energy = 30 × 0.18 + 15 × 0.20 = 5.40 + 3.00 = 8.40 (the fixed price holds tolls and charges)
    // power  = (50×20 + 100×15 + 100×8 + 100×6 + 100×3 + 100×1.5) × 28/365 = 4350 × 28/365 = 333.698630 → 333.70
    // excess = 1 × 1.4064 × 10 + 0.873773 × 1.4064 × 20 = 14.064 + 24.577487 = 38.641487 → 38.64
    // tax    = 5.11269632 % × (8.40 + 333.698630 + 38.641487) = 19.466086 → 19.47
    // VAT    = 21 % × (380.740117 + 19.466086) = 84.043303 → 84.04
    // total  = 8.40 + 333.70 + 38.64 + 19.47 + 84.04 = 484.25
    expect(billAmounts(bill)).toEqual({ energy_kwh: 45, energy_eur: 8.4, power_eur: 333.7, excess_eur: 38.64, tax_eur: 19.47, vat_eur: 84.04, total_eur: 484.25 });
    expect(bill.energy[0]).toMatchObject({ kwh: 15, tollsEur: 0 });
    expect(bill.coverage.unpriced).toBe(0);
    // A span with nothing expected (a month not started) or nothing measured is never labelled "measured".
    const label = (from: number, to: number) => billPayload(computeBill(fixed30, from, to, [], new Map(), { excess: true }), { meter: 'site', role: 'site', kind: 'month', at: end, contract: fixed30 }).measured;
    expect(label(start, start)).toBe('partial');
    expect(label(start, end)).toBe('partial');
    expect(billPayload(bill, { meter: 'site', role: 'site', kind: 'month', at: end, contract: fixed30 }).measured).toBe('measured');
  });

  it('missing quarter-hours are counted, not billed as zero-priced or guessed', () => {
    const { start, end } = localDayRange('2026-01-07');
    const qh = load(start, end, {}).map((q, i) => (i < 4 ? { ...q, kwh: null, quality: 'missing' as const } : { ...q, kwh: 1 }));
    const p = prices(start, end, 100);
    p.delete(start + 10 * QH);
    const bill = computeBill(indexed61, start, end, qh, p);
    expect(bill.coverage).toEqual({ expected: 96, measured: 92, interpolated: 0, missing: 4, unpriced: 1 });
    expect(bill.kwh).toBe(92);
    expect(excessPowerBreakdown(indexed61, qh).periods.every((x) => x.maxKw === null || x.maxKw === 4)).toBe(true);
  });
});
