import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeDay, fixedShiftStarts, storeClosedDay, closedDayKey, type DaySavingsInput } from '../../gateway/bill/savings.js';
import type { BillQuarterHour } from '../../gateway/bill/bill.js';
import { savingsPayload } from '../../gateway/bill/payloads.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { localDayRange } from '../../gateway/time/tz.js';

const QH = 900_000;
const at = (iso: string) => Date.parse(iso);
const contract = resolveContract({
  tariff: '6.1TD',
  contractedKw: [100, 100, 100, 100, 100, 200],
  powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
  tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
  energy: { indexed: { marginEurMwh: 5 } },
});
const { start: dayStart, end: dayEnd } = localDayRange('2026-01-07');

function input(over: Partial<DaySavingsInput> = {}): DaySavingsInput {
  // Site meter: 5 kWh every quarter-hour, 15 kWh while conching ran 02:00-03:00 local (01:00-02:00Z)
  const site: BillQuarterHour[] = [];
  for (let t = dayStart; t < dayEnd; t += QH) site.push({ start: t, kwh: t >= at('2026-01-07T01:00:00Z') && t < at('2026-01-07T02:00:00Z') ? 15 : 5, quality: 'measured' });
  // Prices: 50 €/MWh, except 120 €/MWh 06:00-07:00 local (05:00-06:00Z), where the fixed shift starts
  const prices = new Map<number, number>();
  for (let t = dayStart; t < dayEnd; t += QH) prices.set(t, t >= at('2026-01-07T05:00:00Z') && t < at('2026-01-07T06:00:00Z') ? 120 : 50);
  const runs = fixedShiftStarts([{ process: 'conching', line: 'conching', batch: 1, start: at('2026-01-07T01:00:00Z'), end: at('2026-01-07T02:00:00Z'), kw: 40 }], at('2026-01-07T05:00:00Z'));
  return { date: '2026-01-07', contract, pricesEurMwh: prices, runs, siteQuarterHours: site, lineQuarterHours: {}, closedAt: at('2026-01-08T01:00:00Z'), ...over };
}

let store: SeriesStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('measured savings per closed day', () => {
  it('apportioned from the site meter and the plan: the run at 02:00 vs the fixed shift at 06:00', () => {
    const day = closeDay(input());
    // The run's share of the site meter: min(40 kW / 4, 15 kWh × 40/40) = 10 kWh a quarter-hour, 40 kWh.
    // Both times are P6 (00-08 local): unit = (OMIE + 5)/1000 + 0.002
    //   actual   40 × (55/1000 + 0.002) = 40 × 0.057 = 2.28 €
    //   baseline 40 × (125/1000 + 0.002) = 40 × 0.127 = 5.08 € → saved 2.80 €
    expect(day).toMatchObject({ status: 'measured', method: 'apportioned from the site meter and the plan', kwh: 40, actual_eur: 2.28, baseline_eur: 5.08, saved_eur: 2.8 });
    expect(day.runs[0]).toMatchObject({ baseline_start: '2026-01-07T05:00:00Z', method: 'apportioned' });
  });

  it('IPMVP Option B with a line submeter: its own measured kWh', () => {
    const line: BillQuarterHour[] = [0, 1, 2, 3].map((i) => ({ start: at('2026-01-07T01:00:00Z') + i * QH, kwh: 9, quality: 'measured' }));
    const day = closeDay(input({ lineQuarterHours: { conching: line } }));
    // 36 kWh: actual 36 × 0.057 = 2.052 → 2.05; baseline 36 × 0.127 = 4.572 → 4.57; saved 2.52
    expect(day).toMatchObject({ status: 'measured', method: 'IPMVP Option B (line submeters)', kwh: 36, actual_eur: 2.05, baseline_eur: 4.57, saved_eur: 2.52 });
  });

  it('a run that goes on past midnight is measured into the next day', () => {
    const i = input();
    // conching from 23:30 local to 00:30 local (22:30Z-23:30Z), site meter 15 kWh a quarter-hour then
    const runs = fixedShiftStarts([{ process: 'conching', line: 'conching', batch: 2, start: at('2026-01-07T22:30:00Z'), end: at('2026-01-07T23:30:00Z'), kw: 40 }], at('2026-01-07T05:00:00Z'));
    const site: BillQuarterHour[] = [];
    for (let t = dayStart; t < dayEnd + 4 * QH; t += QH) site.push({ start: t, kwh: t >= at('2026-01-07T22:30:00Z') && t < at('2026-01-07T23:30:00Z') ? 15 : 5, quality: 'measured' });
    const prices = new Map(i.pricesEurMwh);
    for (let t = dayEnd; t < dayEnd + 4 * QH; t += QH) prices.set(t, 50);
    const day = closeDay({ ...i, runs, siteQuarterHours: site, pricesEurMwh: prices });
    // 40 kWh: 23:30-24:00 local Wednesday is P2 (alta shoulder), 00:00-00:30 Thursday P6:
    //   actual 20 × (55/1000 + 0.02) + 20 × (55/1000 + 0.002) = 1.50 + 1.14 = 2.64
    //   baseline 06:00-07:00 local (P6) at 120 €/MWh: 40 × 0.127 = 5.08 → saved 2.44
    expect(day).toMatchObject({ status: 'measured', kwh: 40, actual_eur: 2.64, baseline_eur: 5.08, saved_eur: 2.44 });
    expect(closeDay({ ...i, runs, siteQuarterHours: site.slice(0, -3), pricesEurMwh: prices })).toMatchObject({ status: 'not measured', reason: 'the site meter has no measurement for 2026-01-07T23:15:00Z (run conching #2)' });
  });

  it('a day with a meter gap is "not measured", not a zero saving', () => {
    const i = input();
    const site = i.siteQuarterHours.map((q) => (q.start === at('2026-01-07T12:00:00Z') ? { ...q, kwh: null, quality: 'missing' as const } : q));
    const day = closeDay({ ...i, siteQuarterHours: site });
    expect(day).toMatchObject({ status: 'not measured', saved_eur: null, reason: 'the site meter has no measurement for 2026-01-07T12:00:00Z' });
    const short = closeDay({ ...i, siteQuarterHours: i.siteQuarterHours.slice(0, -1) });
    expect(short.status).toBe('not measured');
    // summed by week and month: a group of not-measured days has no saving (null), not 0 €
    const alone = savingsPayload([day], 0);
    expect(alone.weeks[0]).toMatchObject({ week: '2026-W02', saved_eur: null, measured_days: 0, not_measured_days: 1 });
    const both = savingsPayload([day, { ...closeDay(input()), date: '2026-01-08' }], 0);
    expect(both.months[0]).toMatchObject({ month: '2026-01', saved_eur: 2.8, measured_days: 1, not_measured_days: 1 });
  });

  it('a closed day is stored once with its prices and contract: a price corrected later does not change it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'savings-'));
    store = await SeriesStore.open(dir);
    const first = closeDay(input());
    const [stored, isNew] = await storeClosedDay(store, first);
    expect(isNew).toBe(true);
    expect(stored.saved_eur).toBe(2.8);
    expect(stored.priced_with.prices_eur_mwh).toContainEqual(['2026-01-07T05:00:00Z', 120]);
    // OMIE corrects the 06:00 local price afterwards: recomputing would now give a different saving…
    const corrected = input();
    (corrected.pricesEurMwh as Map<number, number>).set(at('2026-01-07T05:00:00Z'), 300);
    const recomputed = closeDay(corrected);
    expect(recomputed.saved_eur).not.toBe(2.8);
    // baseline 10 × (305/1000 + 0.002) + 30 × 0.127 = 3.07 + 3.81 = 6.88; saved 6.88 − 2.28 = 4.60
    expect(recomputed.saved_eur).toBe(4.6);
    // …but the closed day is never recomputed: storing again keeps the first figure, also after a restart
    const [again, isNewAgain] = await storeClosedDay(store, recomputed);
    expect(isNewAgain).toBe(false);
    expect(again.saved_eur).toBe(2.8);
    await store.close();
    store = await SeriesStore.open(dir);
    expect((await store.getValue<typeof first>(closedDayKey('2026-01-07')))?.saved_eur).toBe(2.8);
    // a changed contract does not rewrite it either
    const [withNewContract] = await storeClosedDay(store, closeDay({ ...input(), contract: { ...contract, energy: { indexed: { marginEurMwh: 50 } } } }));
    expect(withNewContract.priced_with.contract.energy).toEqual({ indexed: { marginEurMwh: 5 } });
  });

  it('fixed-shift starts: each line one run after another, each run after the run that fed it', () => {
    const shift = at('2026-01-07T05:00:00Z');
    const runs = fixedShiftStarts(
      [
        { process: 'mixing', line: 'mixing', batch: 1, start: at('2026-01-07T00:00:00Z'), end: at('2026-01-07T01:00:00Z'), kw: 30 },
        { process: 'refining', line: 'refining', batch: 1, start: at('2026-01-07T01:00:00Z'), end: at('2026-01-07T05:00:00Z'), kw: 42 },
        { process: 'mixing', line: 'mixing', batch: 2, start: at('2026-01-07T01:00:00Z'), end: at('2026-01-07T02:00:00Z'), kw: 30 },
      ],
      shift,
      ['mixing', 'refining'],
    );
    // mixing #1 at the shift start; refining (fed by mixing #1) after it ends; mixing #2 when its line is free
    expect(runs.map((r) => (r.baselineStart - shift) / 3_600_000)).toEqual([0, 1, 1]);
    // a refining run fed by the day before (no mixing before it today) starts with the shift
    const carried = fixedShiftStarts([{ process: 'refining', line: 'refining', batch: 2, start: at('2026-01-07T00:00:00Z'), end: at('2026-01-07T04:00:00Z'), kw: 42 }, { process: 'mixing', line: 'mixing', batch: 3, start: at('2026-01-07T01:00:00Z'), end: at('2026-01-07T02:00:00Z'), kw: 30 }], shift, ['mixing', 'refining']);
    expect(carried.map((r) => (r.baselineStart - shift) / 3_600_000)).toEqual([0, 0]);
  });

  it('fixed-shift starts follow batch ids: a step waits for its own batch, not for the latest run before it', () => {
    const shift = at('2026-01-07T05:00:00Z');
    // Batch 7 is mixed at 00:00, batch 8 at 01:00; refining takes batch 7 at 02:00, after batch 8 was mixed.
    const runs = fixedShiftStarts(
      [
        { process: 'mixing', line: 'mixing', batch: 7, start: at('2026-01-07T00:00:00Z'), end: at('2026-01-07T01:00:00Z'), kw: 30 },
        { process: 'mixing', line: 'mixing', batch: 8, start: at('2026-01-07T01:00:00Z'), end: at('2026-01-07T02:00:00Z'), kw: 30 },
        { process: 'refining', line: 'refining', batch: 7, start: at('2026-01-07T02:00:00Z'), end: at('2026-01-07T06:00:00Z'), kw: 42 },
        // batch 6, mixed and refined the day before, is conched before batch 7 and must not wait for today's refining
        { process: 'conching', line: 'conching', batch: 6, start: at('2026-01-07T03:00:00Z'), end: at('2026-01-07T08:00:00Z'), kw: 48 },
      ],
      shift,
      ['mixing', 'refining', 'conching'],
    );
    const hours = Object.fromEntries(runs.map((r) => [`${r.process}#${r.batch}`, (r.baselineStart - shift) / 3_600_000]));
    // mixing #7 05:00-06:00, mixing #8 06:00-07:00; refining #7 after mixing #7 (06:00), not after mixing #8 (07:00)
    expect(hours).toEqual({ 'mixing#7': 0, 'mixing#8': 1, 'refining#7': 1, 'conching#6': 0 });
  });
});
