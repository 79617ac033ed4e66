/**
 * A printed bill adds up, row by row: the period rows of each column (energy, power, excess) sum to the term shown
 * under them, and a closed day's runs sum to the day (actual, baseline, saved), with each saving the difference of
 * the two amounts beside it. Found on the demo's status page and monthly report: P1..P6 power rows summed to
 * 243.06 € under a power term of 243.07 €, and a day's runs' baselines to 88.38 € beside a day baseline of 88.37 €
 * (each part was rounded on its own). Pure functions, real computation, no mock.
 */
import { describe, expect, it } from 'vitest';
import { billAmounts, computeBill, type BillQuarterHour } from '../../gateway/bill/bill.js';
import { cents, centsSplit } from '../../gateway/bill/money.js';
import { billPayload } from '../../gateway/bill/payloads.js';
import { closeDay, fixedShiftStarts, type ExecutedRun } from '../../gateway/bill/savings.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { addDays, localDayRange } from '../../gateway/time/tz.js';
import { seededRandom } from '../../gateway/inference/seeded-random.js';

const QH = 900_000;
const inCents = (x: number) => Math.round(x * 100);
const sumCents = (xs: ReadonlyArray<number | null>) => xs.reduce<number>((s, x) => s + inCents(x ?? 0), 0);

/** The demo's 3.0TD contract (plugins/replay/demo-contract.ts). */
const contract = resolveContract({
  tariff: '3.0TD',
  contractedKw: [200, 200, 200, 200, 200, 250],
  powerPriceEurKwYear: [19.4, 10.2, 4.3, 3.7, 2.4, 1.4],
  tollsAndChargesEurKwh: [0.029, 0.021, 0.011, 0.007, 0.004, 0.002],
  energy: { indexed: { marginEurMwh: 6 } },
});

/** The same pseudo-random figures on every run (the project's mulberry32). */
const seeded = seededRandom;

function dayInput(date: string, rnd: () => number) {
  const { start, end } = localDayRange(date);
  const qh: BillQuarterHour[] = [];
  const prices = new Map<number, number>();
  for (let t = start; t < end; t += QH) {
    // 20-70 kWh a quarter-hour (80-280 kW: above the 200 kW contract now and then), OMIE 5-150 €/MWh
    qh.push({ start: t, kwh: Math.round((20 + 50 * rnd()) * 1000) / 1000, quality: 'measured' });
    prices.set(t, Math.round((5 + 145 * rnd()) * 100) / 100);
  }
  return { start, end, qh, prices };
}

describe('centsSplit: parts to the cent that add up to the amount', () => {
  it('one day of the demo contract\'s power term: six periods rounded alone give 22.89 €, the term is 22.88 €', () => {
    const parts = [200 * 19.4, 200 * 10.2, 200 * 4.3, 200 * 3.7, 200 * 2.4, 250 * 1.4].map((x) => x / 365);
    expect(sumCents(parts.map(cents))).toBe(2289); // what each row rounded alone showed
    const split = centsSplit(parts);
    expect(sumCents(split)).toBe(2288);
    expect(split).toEqual([10.63, 5.59, 2.36, 2.03, 1.31, 0.96]); // the cent taken from P5, rounded up the most (1.3151 → 1.32)
    // no part moves by more than a cent from its own rounding
    split.forEach((c, i) => expect(Math.abs(inCents(c) - inCents(cents(parts[i]!)))).toBeLessThanOrEqual(1));
  });

  it('signed parts (a negative saving) and zeros: the sum holds and a zero part gets no cent', () => {
    expect(sumCents(centsSplit([0.005, 0.005, 0.005, 0]))).toBe(inCents(cents(0.015)));
    expect(centsSplit([0.005, 0.005, 0.005, 0])[3]).toBe(0);
    const signed = [-1.004, 2.006, -0.335, 0.333];
    expect(sumCents(centsSplit(signed))).toBe(inCents(cents(signed.reduce((s, x) => s + x, 0))));
  });
});

describe('the bill payload: every column of the period rows adds up to its term', () => {
  it('a day, and the month it is in, over a year of pseudo-random days (API, MQTT, page and report show these rows)', () => {
    const rnd = seeded(21);
    let mismatchesBefore = 0;
    for (let date = '2025-01-01'; date < '2026-01-01'; date = addDays(date, 9)) {
      const d = dayInput(date, rnd);
      for (const excess of [false, true]) {
        const part = computeBill(contract, d.start, d.end, d.qh, d.prices, { excess });
        const p = billPayload(part, { meter: 'site', role: 'site', kind: excess ? 'month' : 'day', at: d.end, contract });
        // a day's excess is billed monthly: null, never 0 (the fault: 0.00 read as "no excess that day")
        expect(p.terms).toEqual(excess ? billAmounts(part) : { ...billAmounts(part), excess_eur: null });
        expect(sumCents(p.periods.map((r) => r.energy_eur)), `${date} energy`).toBe(inCents(p.terms.energy_eur));
        expect(sumCents(p.periods.map((r) => r.power_eur)), `${date} power`).toBe(inCents(p.terms.power_eur));
        if (excess) expect(sumCents(p.periods.map((r) => r.excess_eur)), `${date} excess`).toBe(inCents(p.terms.excess_eur!));
        // each row stays within a cent of its own full-precision value
        p.periods.forEach((r, i) => {
          expect(Math.abs(inCents(r.energy_eur) - part.energy[i]!.eur * 100)).toBeLessThan(1.5);
          expect(Math.abs(inCents(r.power_eur!) - part.power[i]!.eur * 100)).toBeLessThan(1.5);
        });
        // how often rounding each row alone would not have added up (the fault): the test data exercises it
        if (sumCents(part.power.map((x) => cents(x.eur))) !== inCents(p.terms.power_eur)) mismatchesBefore++;
      }
    }
    expect(mismatchesBefore).toBeGreaterThan(0);
  });
});

describe('a closed day\'s savings add up: runs to the day, saved = baseline − actual', () => {
  it('eight runs a day over sixty pseudo-random days', () => {
    const rnd = seeded(7);
    let checked = 0;
    for (let date = '2026-01-05', n = 0; n < 60; n++, date = addDays(date, 1)) {
      const d = dayInput(date, rnd);
      const raw: Array<Omit<ExecutedRun, 'baselineStart'>> = [];
      const procs = ['mixing', 'refining', 'conching', 'tempering'];
      for (let k = 0; k < 8; k++) {
        const startQ = Math.floor(rnd() * 70);
        const lenQ = 4 + Math.floor(rnd() * 16);
        raw.push({ process: procs[k % 4]!, line: procs[k % 4]!, batch: 1 + Math.floor(k / 4), start: d.start + startQ * QH, end: Math.min(d.end, d.start + (startQ + lenQ) * QH), kw: 30 + Math.floor(rnd() * 20) });
      }
      const runs = fixedShiftStarts(raw, d.start + 6 * 4 * QH, procs).map((r) => ({ ...r, baselineStart: Math.min(r.baselineStart, d.end - (r.end - r.start)) }));
      const day = closeDay({ date, contract, pricesEurMwh: d.prices, runs, siteQuarterHours: d.qh, lineQuarterHours: {}, closedAt: d.end + 3_600_000 });
      expect(day.status, `${date} ${day.reason}`).toBe('measured');
      expect(sumCents(day.runs.map((r) => r.actual_eur)), `${date} actual`).toBe(inCents(day.actual_eur!));
      expect(sumCents(day.runs.map((r) => r.baseline_eur)), `${date} baseline`).toBe(inCents(day.baseline_eur!));
      expect(inCents(day.saved_eur!), `${date} saved`).toBe(inCents(day.baseline_eur!) - inCents(day.actual_eur!));
      for (const r of day.runs) expect(inCents(r.saved_eur)).toBe(inCents(r.baseline_eur) - inCents(r.actual_eur));
      expect(sumCents(day.runs.map((r) => r.saved_eur)), `${date} runs' savings`).toBe(inCents(day.saved_eur!));
      checked++;
    }
    expect(checked).toBe(60);
  });
});
