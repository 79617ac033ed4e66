import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { billReport, formatAmounts, parseReadings } from '../../gateway/bill/cli.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { SiteLoadSchema, type SiteLoadConfig } from '../../gateway/config/site-load-schema.js';
import { forecastBaseLoad } from '../../gateway/site-load/forecast.js';
import { excessBoundSegments, excessIncreaseEur, excessLowerBoundEur, excessUpperBoundEur, planBill, plannedLoad } from '../../gateway/site-load/plan-bill.js';
import { localDayRange } from '../../gateway/time/tz.js';

const H = 3_600_000;
const contract = resolveContract({
  tariff: '6.1TD',
  contractedKw: [200, 200, 220, 220, 250, 250],
  powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4],
  tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002],
  energy: { indexed: { marginEurMwh: 6 } },
});

describe('a plan priced as the bill prices the same quarter-hours (golden)', () => {
  it('plan load + base load, month by month, equals the bill CLI on a readings file of the same quarter-hours, to the cent', () => {
    // 30 January to 2 February 2025 local: two months, weekdays and a weekend, P1/P2/P6.
    const start = localDayRange('2025-01-30').start;
    const end = localDayRange('2025-02-03').start;
    const runs = [
      { start: start + 9 * H, end: start + 14 * H, kw: 48 }, // conching in P1 on a Thursday
      { start: start + 10 * H, end: start + 11 * H + 30 * 60_000, kw: 42 }, // refining on top: 10:00-11:30 above 200 kW
      { start: localDayRange('2025-02-01').start + 2 * H, end: localDayRange('2025-02-01').start + 7 * H, kw: 48 }, // a Saturday night conche
    ];
    const cfg = Value.Default(SiteLoadSchema, { profile: { workday: [80, 80, 80, 80, 80, 80, 90, 100, 120, 130, 130, 130, 130, 130, 130, 130, 130, 130, 120, 110, 100, 90, 80, 80], saturday: 70, sunday: 60 } }) as SiteLoadConfig;
    const base = forecastBaseLoad(cfg, null, start, end, () => null);
    const planned = plannedLoad(runs, start, end);
    const quarterHours = planned.map((p, i) => ({ start: p.start, plannedKw: p.kw, baseKw: base[i]!.value }));
    const prices = new Map(quarterHours.map((q, i) => [q.start, 40 + 60 * Math.abs(Math.sin(i / 7))]));
    const plan = planBill(contract, quarterHours, prices);

    const csv = ['datetime_utc,kwh', ...quarterHours.map((q) => `${new Date(q.start).toISOString()},${(q.plannedKw + q.baseKw) / 4}`)].join('\n');
    const report = billReport(contract, parseReadings(csv, 'plan.csv'), prices, '2025-01-30', '2025-02-03').split('\n');
    // the month lines (each followed by its excess explained, one line per period with an excess: excessLines)
    expect(plan.months.map((m) => `month=${m.month} ${formatAmounts(m.amounts)}`)).toEqual(report.filter((l) => l.startsWith('month=')));
    expect(report[1]).toBe('  excess P1 quarter-hour: 6 quarter-hours above Pc=200 kW (Pmax=220 kW at 2025-01-30T10:00:00+01:00): Kp 1 × tep 1.4064 €/kW × sqrt(2400 kW²) = 68.90 €');
    // Worked by hand: 30 January 10:00-11:30 local is P1 (contracted 200 kW); base 130 + 48 + 42 = 220 kW in 6 quarter-hours.
    expect(plan.excessQuarterHours).toBe(6);
    expect(plan.quarterHours.filter((q) => q.aboveKw > 0).every((q) => q.period === 1 && Math.abs(q.aboveKw - 20) < 1e-9)).toBe(true);
    expect(plan.months[0]!.part.excessEur).toBeCloseTo(1 * 1.4064 * Math.sqrt(6 * 20 * 20), 9);
    expect(plan.months[1]!.part.excessEur).toBe(0);
  });
});

describe('piecewise-linear bound of the excess term', () => {
  const kp = 1;
  const tep = 1.4064;
  const breakpoints = [5, 10, 20, 40, 80];
  let seed = 11;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

  it('is convex (non-decreasing slopes, the last 1) and never below the exact increase; the lower bound never above', () => {
    for (const s0 of [0, 25, 400, 10_000]) {
      const slopes = excessBoundSegments(s0, breakpoints).map((s) => s.slopeEurPerKw);
      for (let i = 1; i < slopes.length; i++) expect(slopes[i]!).toBeGreaterThanOrEqual(slopes[i - 1]! - 1e-12);
      expect(slopes.at(-1)).toBe(1);
      for (let trial = 0; trial < 300; trial++) {
        const n = 1 + Math.floor(rand() * 8);
        const e = Array.from({ length: n }, () => (rand() < 0.3 ? 0 : rand() * 120));
        const exact = excessIncreaseEur(kp, tep, s0, e);
        expect(excessUpperBoundEur(kp, tep, s0, e, breakpoints)).toBeGreaterThanOrEqual(exact - 1e-9);
        expect(excessLowerBoundEur(kp, tep, s0, e)).toBeLessThanOrEqual(exact + 1e-9);
      }
    }
  });

  it('is exact for one quarter-hour above on a breakpoint, and is the l1 norm when the month had no excess yet', () => {
    for (const s0 of [0, 400]) for (const b of breakpoints) expect(excessUpperBoundEur(kp, tep, s0, [b], breakpoints)).toBeCloseTo(excessIncreaseEur(kp, tep, s0, [b]), 9);
    expect(excessUpperBoundEur(kp, tep, 0, [3, 7, 50], breakpoints)).toBeCloseTo(tep * 60, 9);
    // Four equal excesses of 10 kW, no earlier excess: exact 2 × 10 × tep, bound 4 × 10 × tep (the sqrt(n) gap).
    expect(excessIncreaseEur(kp, tep, 0, [10, 10, 10, 10])).toBeCloseTo(20 * tep, 9);
    expect(excessUpperBoundEur(kp, tep, 0, [10, 10, 10, 10], breakpoints)).toBeCloseTo(40 * tep, 9);
  });
});
