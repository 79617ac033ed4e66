import { describe, expect, it } from 'vitest';
import { AdviceInputError, advisePower, formatAdvice, powerCost, type PowerContract, type QuarterHourKwh } from '../../gateway/contract/advise-power.js';
import { powerPeriodOf } from '../../gateway/contract/calendar.js';
import { KP_BY_TARIFF } from '../../gateway/contract/contract.js';
import { localParts } from '../../gateway/time/tz.js';
import { excessPowerEur } from '../../gateway/bill/excess.js';

const QH = 900_000;
const contract: PowerContract = {
  tariff: '6.1TD',
  contractedKw: [450, 450, 450, 450, 450, 500],
  // P5/P6 prices below the usual ones so that, with the few P5 months, every period's optimum is above the base.
  powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 0.5, 0.3],
  tepEurKw: 1.4064,
  kp: [...KP_BY_TARIFF['6.1TD']],
};
const BASE_KW = 200;
/**
 * The synthetic year 2025 (365 local days, 35 040 quarter-hours): a flat 200 kW base; in every month where power
 * period p exists, its first k_p quarter-hours rise to a height that grows with the month (base_p + 10 kW × month
 * index). With k equal spikes per month the excess of that month is Kp·tep·sqrt(k)·(H − x) for x < H, so each
 * period's cost is piecewise linear in x with its breakpoints at the heights: the exact optimum lies on a breakpoint.
 * P6's heights are chosen below P5's own optimum, so the chain P5 ≤ P6 binds and the two must be pooled.
 */
const SPIKES = [
  { k: 36, base: 400 },
  { k: 36, base: 420 },
  { k: 16, base: 450 },
  { k: 16, base: 480 },
  { k: 100, base: 600 },
  { k: 100, base: 520 },
];
function syntheticYear(): { qh: QuarterHourKwh[]; heights: Map<string, number>[] } {
  const start = Date.parse('2024-12-31T23:00:00Z'); // 2025-01-01 00:00 Madrid
  const end = Date.parse('2025-12-31T23:00:00Z');
  const qh: QuarterHourKwh[] = [];
  const used: Map<string, number>[] = SPIKES.map(() => new Map());
  const heights: Map<string, number>[] = SPIKES.map(() => new Map());
  for (let t = start; t < end; t += QH) {
    const p = powerPeriodOf('6.1TD', t) - 1;
    const { month } = localParts(t);
    const key = String(month);
    const n = used[p]!.get(key) ?? 0;
    let kw = BASE_KW;
    if (n < SPIKES[p]!.k) {
      kw = SPIKES[p]!.base + 10 * month;
      heights[p]!.set(key, kw);
      used[p]!.set(key, n + 1);
    }
    qh.push({ start: t, kwh: kw / 4 });
  }
  return { qh, heights };
}

const periodCache = new Map<number, number>();
const monthCache = new Map<number, number>();
/** The exact formula of energy.md, written out loop by loop (the reference the advisor is checked against). */
function referenceCost(qh: QuarterHourKwh[], kw: number[]): number {
  const days = 365;
  let power = 0;
  for (let p = 0; p < 6; p++) power += kw[p]! * contract.powerPriceEurKwYear[p]! * (days / 365);
  const sq = new Map<string, number>();
  for (const q of qh) {
    const p = periodCache.get(q.start) ?? powerPeriodOf('6.1TD', q.start) - 1;
    periodCache.set(q.start, p);
    const key = `${monthCache.get(q.start) ?? localParts(q.start).month}/${p}`;
    monthCache.set(q.start, Number(key.split('/')[0]));
    const pd = 4 * q.kwh;
    if (pd > kw[p]!) sq.set(key, (sq.get(key) ?? 0) + (pd - kw[p]!) ** 2);
  }
  let excess = 0;
  for (const [key, s] of sq) excess += contract.kp[Number(key.split('/')[1])]! * contract.tepEurKw * Math.sqrt(s);
  return power + excess;
}

/**
 * The known optimum, by a method independent of the advisor's: the analytic piecewise-linear cost of each period
 * (price·x + Σ_months Kp·tep·sqrt(k)·(H − x)⁺, valid for x ≥ base), tabulated on every breakpoint, then an exact
 * dynamic programme over the chain P1 ≤ … ≤ P6 on that candidate set.
 */
const analytic = (heights: Map<string, number>[], p: number, x: number) =>
  contract.powerPriceEurKwYear[p]! * x + [...heights[p]!.values()].reduce((s, h) => s + contract.kp[p]! * contract.tepEurKw * Math.sqrt(SPIKES[p]!.k) * Math.max(0, h - x), 0);
const candidatesOf = (heights: Map<string, number>[]) => [...new Set([BASE_KW, ...heights.flatMap((h) => [...h.values()])])].sort((a, b) => a - b);
function knownOptimum(heights: Map<string, number>[]): number[] {
  const candidates = candidatesOf(heights);
  const f = (p: number, x: number) => analytic(heights, p, x);
  let dp = candidates.map((x) => ({ cost: f(0, x), path: [x] }));
  for (let p = 1; p < 6; p++) {
    let best = dp[0]!;
    dp = candidates.map((x, i) => {
      if (dp[i]!.cost < best.cost) best = dp[i]!;
      return { cost: best.cost + f(p, x), path: [...best.path, x] };
    });
  }
  return dp.reduce((a, b) => (b.cost < a.cost ? b : a)).path;
}

describe('contracted-power advice', () => {
  const { qh, heights } = syntheticYear();

  it('finds the known optimum of a synthetic year (within 1 %), pooling P5 and P6 where the chain binds', () => {
    const expected = knownOptimum(heights);
    // The year was built so that the optimum is interior and the chain binds: P5 and P6 share one value.
    expect(expected[4]).toBe(expected[5]);
    expect(expected[0]).toBeGreaterThan(BASE_KW);
    const alone = (p: number) => candidatesOf(heights).reduce((a, x) => (analytic(heights, p, x) < analytic(heights, p, a) ? x : a));
    expect(alone(5)).toBeLessThan(alone(4));
    expect(expected.every((x, i) => i === 0 || x >= expected[i - 1]!)).toBe(true);
    const advice = advisePower(contract, qh);
    for (let p = 0; p < 6; p++) expect(Math.abs(advice.advisedKw[p]! - expected[p]!) / expected[p]!).toBeLessThanOrEqual(0.01);
    expect(advice.advisedKw.every((x, i) => i === 0 || x >= advice.advisedKw[i - 1]!)).toBe(true);
    const best = referenceCost(qh, expected);
    expect(Math.abs(advice.advised.totalEur - best) / best).toBeLessThanOrEqual(0.01);
    // The costs it reports are the formula's, for the current and the advised contract.
    expect(advice.advised.totalEur).toBeCloseTo(referenceCost(qh, advice.advisedKw), 6);
    expect(advice.current.totalEur).toBeCloseTo(referenceCost(qh, [...contract.contractedKw]), 6);
    expect(advice.days).toBe(365);
    expect(advice.months).toHaveLength(12);
    // No monotone neighbour of the advice is cheaper.
    for (let p = 0; p < 6; p++) {
      for (const d of [-1, 1]) {
        const kw = advice.advisedKw.map((x, i) => (i === p ? x + d : x));
        if (kw.some((x, i) => i > 0 && x < kw[i - 1]!)) continue;
        expect(referenceCost(qh, kw)).toBeGreaterThanOrEqual(advice.advised.totalEur - 1e-6);
      }
    }
    expect(advice.savingEur).toBeGreaterThan(0);
  });

  it('ends its text with the advice line, kW and € of power + excess', () => {
    const advice = advisePower(contract, qh);
    const last = formatAdvice(advice, contract).split('\n').at(-1)!;
    expect(last).toMatch(/^advice: P1=[\d.]+ P2=[\d.]+ P3=[\d.]+ P4=[\d.]+ P5=[\d.]+ P6=[\d.]+ current_eur=\d+\.\d\d advised_eur=\d+\.\d\d$/);
    expect(last).toContain(`current_eur=${advice.current.totalEur.toFixed(2)}`);
  });

  it('prices any set of powers with the same formula, and its excess is the bill excess (gateway/bill/excess.ts) month by month', () => {
    const kw = [430, 470, 520, 570, 650, 650];
    expect(powerCost(contract, qh, kw).totalEur).toBeCloseTo(referenceCost(qh, kw), 6);
    const billContract = { ...contract, contractedKw: kw, powerPriceEurKwYear: [...contract.powerPriceEurKwYear], kp: [...contract.kp], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { indexed: { marginEurMwh: 0 } }, electricityTaxPct: 0, vatPct: 0 };
    let billExcess = 0;
    for (let m = 1; m <= 12; m++) billExcess += excessPowerEur(billContract, qh.filter((q) => (monthCache.get(q.start) ?? localParts(q.start).month) === m));
    expect(powerCost(contract, qh, kw).excessEur).toBeCloseTo(billExcess, 6);
  });

  it('refuses bad input in one sentence', () => {
    const t0 = Date.parse('2025-03-03T00:00:00Z');
    expect(() => advisePower(contract, [])).toThrow(AdviceInputError);
    expect(() => advisePower(contract, [{ start: t0, kwh: 1 }, { start: t0, kwh: 1 }])).toThrow(/sorted without duplicates/);
    expect(() => advisePower(contract, [{ start: t0, kwh: -1 }])).toThrow(/non-negative/);
    expect(() => advisePower(contract, [{ start: t0 + 60_000, kwh: 1 }])).toThrow(/quarter-hour/);
    expect(() => advisePower({ ...contract, tariff: '2.0TD' }, [{ start: t0, kwh: 1 }])).toThrow(/3\.0TD and 6\.1TD/);
    const long = Array.from({ length: 367 * 96 }, (_, i) => ({ start: t0 + i * QH, kwh: 1 }));
    expect(() => advisePower(contract, long)).toThrow(/at most 12 months/);
  });
});

describe('a period without readings (tester5 fault 7: "P1 = 0 kW" on one month of a 6.1TD site)', () => {
  it('keeps its current contracted power, never 0 kW, within the order P1 ≤ … ≤ P6, and says why', () => {
    // March 2025 (6.1TD medium-high season: P2, P3, P6 only): 160 kW flat, 178 kW in the hour 10:00-11:00 local.
    const qh: QuarterHourKwh[] = [];
    for (let t = Date.parse('2025-02-28T23:00:00Z'); t < Date.parse('2025-03-31T22:00:00Z'); t += 900_000) qh.push({ start: t, kwh: (localParts(t).hour === 10 ? 178 : 160) / 4 });
    const c = { ...contract, contractedKw: [150, 178, 178, 178, 178, 178] };
    const a = advisePower(c, qh);
    expect(a.periodQuarterHours[0]).toBe(0);
    expect(a.periodQuarterHours[3]).toBe(0);
    expect(a.periodQuarterHours[4]).toBe(0);
    // P1 has no evidence: it keeps 150 kW (it was advised 0 kW, a power that cannot be contracted)
    expect(a.advisedKw[0]).toBe(150);
    expect(a.advisedKw.every((x) => x > 0)).toBe(true);
    expect(a.advisedKw.every((x, i) => i === 0 || x >= a.advisedKw[i - 1]!)).toBe(true);
    // P4 and P5 lie between P3 and P6, which have readings: they follow the order from P3 up to at most P6
    expect(a.advisedKw[3]).toBeGreaterThanOrEqual(a.advisedKw[2]!);
    expect(a.advisedKw[4]).toBeLessThanOrEqual(a.advisedKw[5]!);
    expect(a.warnings.join(' ')).toMatch(/P1, P4, P5 have no quarter-hours in the readings: they keep their current contracted power .* 0 kW cannot be contracted/);
    // P1's power term is priced at the kept 150 kW: advised cost = the formula at the advised powers
    expect(a.advised.totalEur).toBeCloseTo(powerCost(c, qh, a.advisedKw).totalEur, 9);
    // a current P1 above what the next periods are advised is lowered only as far as the order requires
    const high = advisePower({ ...contract, contractedKw: [300, 300, 300, 300, 300, 300] }, qh);
    expect(high.advisedKw[0]).toBe(high.advisedKw[1]);
  });
});
