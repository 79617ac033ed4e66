// Issue #22: numbers only, never pass/fail (npx tsx test/bench/energy.ts). Pure functions on synthetic site data.
import { Value } from '@sinclair/typebox/value';
import { advisePower } from '../../gateway/contract/advise-power.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { SiteLoadSchema, type SiteLoadConfig } from '../../gateway/config/site-load-schema.js';
import { recalibrate, forecastBaseLoad, type BaseLoadSample } from '../../gateway/site-load/forecast.js';
import { planBill } from '../../gateway/site-load/plan-bill.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { QuarterHourEnergy } from '../../plugins/power-guard/guard.js';

const ms = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;
const QH = 900_000;
const contract = resolveContract({ tariff: '6.1TD', contractedKw: [450, 450, 450, 450, 450, 500], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002], energy: { indexed: { marginEurMwh: 6 } } });
const start = localDayRange('2025-01-01').start;
const end = localDayRange('2026-01-01').start;
const year: Array<{ start: number; kwh: number }> = [];
for (let t = start, i = 0; t < end; t += QH, i++) year.push({ start: t, kwh: (300 + 120 * Math.sin(i / 11) + (i % 997 === 0 ? 250 : 0)) / 4 });

let t0 = process.hrtime.bigint();
const advice = advisePower(contract, year);
console.log(`advise-power on a year (${year.length.toLocaleString('en')} quarter-hours): ${ms(t0).toFixed(0)} ms; advised ${advice.advisedKw.join('/')} kW, ${advice.current.totalEur.toFixed(2)} € → ${advice.advised.totalEur.toFixed(2)} €`);

const cfg = Value.Default(SiteLoadSchema, { learnDays: 28 }) as SiteLoadConfig;
const samples: BaseLoadSample[] = year.slice(0, 35 * 96).map((q, i) => ({ start: q.start, kw: q.kwh * 4, outdoorC: 10 + 8 * Math.sin(i / 30) }));
t0 = process.hrtime.bigint();
const model = recalibrate(cfg, samples, year[35 * 96]!.start);
const refitMs = ms(t0);
t0 = process.hrtime.bigint();
const fc = forecastBaseLoad(cfg, model, year[35 * 96]!.start, year[35 * 96]!.start + 48 * 3_600_000, () => 12);
console.log(`base load: daily refit on 28 days (+ the day-ahead error refit) ${refitMs.toFixed(0)} ms; 48 h forecast (${fc.length} quarter-hours) ${ms(t0).toFixed(1)} ms`);

t0 = process.hrtime.bigint();
const bill = planBill(contract, fc.map((s) => ({ start: s.start, plannedKw: 150, baseKw: s.value })), new Map(fc.map((s) => [s.start, 80])));
console.log(`plan priced as the bill (48 h, ${bill.months.length} month(s)): ${ms(t0).toFixed(1)} ms`);

const e = new QuarterHourEnergy();
const n = 100_000;
t0 = process.hrtime.bigint();
let kwh = 0;
for (let i = 0; i < n; i++) {
  const at = start + i * 5_000;
  kwh += (400 * 5) / 3600;
  e.reading(at, 400, kwh);
  e.projectedKw(at);
}
console.log(`guard projection: ${n.toLocaleString('en')} readings + projections in ${ms(t0).toFixed(0)} ms (${((ms(t0) * 1000) / n).toFixed(2)} µs each)`);
