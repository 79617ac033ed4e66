// Energy meters: numbers only, never pass/fail (npx tsx test/bench/meters.ts). Real LevelDB in a temp dir.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeterCounter } from '../../gateway/meters/counter.js';
import { pruneMeterQuarterHours, readMeterQuarterHours, writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { localDayRange, addDays } from '../../gateway/time/tz.js';

const ms = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;

// 1. Counter checks and quarter-hours: a day of 1-second polls at a load that moves.
{
  const counter = new MeterCounter({ gapMs: 60_000, interpolateMaxMs: 3_600_000, frozenPolls: 30, frozenKwh: 1 });
  const { start, end } = localDayRange('2025-03-12');
  let kwh = 50_000;
  let closed = 0;
  const t = process.hrtime.bigint();
  for (let at = start; at <= end; at += 1000) {
    const kw = 200 + 80 * Math.sin(at / 600_000);
    kwh += kw / 3_600_000 * 1000;
    counter.push({ at, importKwh: kwh, kw, importKvarh: kwh / 3 });
    closed += counter.close(at).length;
  }
  const took = ms(t);
  console.log(`counter: 86 401 polls (1 s, one day) in ${took.toFixed(0)} ms = ${Math.round(86_401 / (took / 1000)).toLocaleString('en')} polls/s; ${closed} quarter-hours closed`);
}

// 2. The store: a quarter-hour at a time (as the plugin writes them) for 400 days, then the reads the bill makes.
{
  const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-bench-meters-')));
  let date = '2024-11-01';
  const days = 400;
  const rows: MeterQuarterHour[] = [];
  for (let d = 0; d < days; d++, date = addDays(date, 1)) {
    const { start, end } = localDayRange(date);
    for (let s = start; s < end; s += 900_000) rows.push({ meter: 'site-main', role: 'site', start: s, end: s + 900_000, kwh: 50, avgKw: 200, kvarh: 12, period: 6, quality: 'measured' });
  }
  let t = process.hrtime.bigint();
  const oneDay = rows.filter((r) => r.start < localDayRange('2024-11-02').start);
  for (const r of oneDay) await writeMeterQuarterHours(store, [r]);
  const single = ms(t) / oneDay.length;
  t = process.hrtime.bigint();
  await writeMeterQuarterHours(store, rows);
  const bulk = ms(t);
  t = process.hrtime.bigint();
  const month = await readMeterQuarterHours(store, 'site-main', localDayRange('2025-10-01').start, localDayRange('2025-11-01').start);
  const readMonth = ms(t);
  t = process.hrtime.bigint();
  const all = await readMeterQuarterHours(store, 'site-main', localDayRange('2024-11-01').start, localDayRange(date).start);
  const readAll = ms(t);
  t = process.hrtime.bigint();
  const pruned = await pruneMeterQuarterHours(store, 'site-main', localDayRange(date).start + 30 * 86_400_000, 400);
  const prune = ms(t);
  console.log(`store: one quarter-hour written (fsynced, read-modify-write of its day) in ${single.toFixed(2)} ms; ${rows.length} rows (${days} days) in ${bulk.toFixed(0)} ms`);
  console.log(`store: a month read back (${month.length} rows) in ${readMonth.toFixed(1)} ms; ${days} days (${all.length} rows) in ${readAll.toFixed(0)} ms; retention deleted ${pruned} days in ${prune.toFixed(0)} ms`);
  await store.close();
}
