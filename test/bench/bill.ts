// The bill: numbers only, never pass/fail (npx tsx test/bench/bill.ts). Pure functions on a year of quarter-hours.
import { billAmounts, computeBill, monthRange, monthsOf } from '../../gateway/bill/bill.js';
import { parseReadings } from '../../gateway/bill/cli.js';
import { excessPowerEur } from '../../gateway/bill/excess.js';
import { closeDay, fixedShiftStarts } from '../../gateway/bill/savings.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { localDayRange } from '../../gateway/time/tz.js';

const ms = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;
const QH = 900_000;
const contract = resolveContract({
  tariff: '6.1TD',
  contractedKw: [450, 450, 450, 450, 450, 500],
  powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4],
  tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002],
  energy: { indexed: { marginEurMwh: 6 } },
});
const start = localDayRange('2025-01-01').start;
const end = localDayRange('2026-01-01').start;
let text = 'datetime_utc,kwh\n';
const prices = new Map<number, number>();
for (let t = start, i = 0; t < end; t += QH, i++) {
  text += `${new Date(t).toISOString().replace('.000Z', 'Z')},${(110 + 20 * Math.sin(i / 7)).toFixed(3)}\n`;
  prices.set(t, 60 + 40 * Math.sin(i / 50));
}
let t0 = process.hrtime.bigint();
const rows = parseReadings(text, 'bench');
console.log(`bill CLI parse: ${rows.length.toLocaleString('en')} quarter-hour rows (a year) in ${ms(t0).toFixed(0)} ms`);
t0 = process.hrtime.bigint();
let total = 0;
for (const m of monthsOf(start, end)) {
  const r = monthRange(m);
  total += billAmounts(computeBill(contract, r.start, r.end, rows, prices, { excess: true })).total_eur;
}
console.log(`bill: 12 monthly bills (energy, power, excess, tax, VAT per period) over 35 040 quarter-hours in ${ms(t0).toFixed(0)} ms; total ${total.toFixed(2)} €`);
const jan = monthRange('2025-01');
const janRows = rows.filter((q) => q.start >= jan.start && q.start < jan.end);
t0 = process.hrtime.bigint();
for (let i = 0; i < 20; i++) excessPowerEur(contract, janRows);
console.log(`excess power: one month (2 976 quarter-hours) in ${(ms(t0) / 20).toFixed(2)} ms`);
const day = localDayRange('2025-01-15');
const runs = fixedShiftStarts(
  Array.from({ length: 8 }, (_, k) => ({ process: ['mixing', 'refining', 'conching', 'tempering'][k % 4]!, line: ['mixing', 'refining', 'conching', 'tempering'][k % 4]!, batch: 1 + Math.floor(k / 4), start: day.start + k * 8 * QH, end: day.start + (k * 8 + 8) * QH, kw: 40 })),
  day.start + 24 * QH,
);
t0 = process.hrtime.bigint();
for (let i = 0; i < 20; i++) closeDay({ date: '2025-01-15', contract, pricesEurMwh: prices, runs, siteQuarterHours: rows.filter((q) => q.start >= day.start && q.start < day.end + 96 * QH), lineQuarterHours: {}, closedAt: day.end });
console.log(`savings: closing a day with 8 runs (apportioned) in ${(ms(t0) / 20).toFixed(2)} ms`);
