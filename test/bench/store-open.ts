// The store's open with its integrity check (issue 24): at about 35 k records and at a year of records, same series,
// each written with the store's own writer in a temp dir. `npx tsx test/bench/store-open.ts` alone, or from run.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEDGER_FILE } from '../../gateway/series/verified-ranges.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { loadavg } from './anchors.js';

const QUARTER = 900_000;
const DAY = 96;
/** A plant's quarter-hour series: OMIE and PVPC prices, 4 meters, 6 floor readings' aggregates. */
const SERIES = ['omie_es', 'pvpc', 'meter.site', 'meter.conching', 'meter.tempering', 'meter.cooling', ...Array.from({ length: 6 }, (_, i) => `floor.zone${i + 1}.temp`)];

export interface StoreOpenFigures {
  days: number;
  records: number;
  /** Median open (with its check) after the last day was written, the store verified before it. */
  openMs: number;
  /** Records the open read: the ranges written since the last verification. */
  readAtOpen: number;
  /** The same store opened with a full read (no record of verified ranges): what every open cost before. */
  fullOpenMs: number;
  /** The background verification (every record, off the open's path). */
  verifyMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `days` days of SERIES ending on the last day of a month (the worst case: the whole month is pending): the history
 * written, verified (as the background job does), then the last day written (the day's ingest), closed; then opened
 * five times. The full-read open is measured on the same store after removing its record of verified ranges.
 */
export async function storeOpen(days: number, end = Date.parse('2026-01-01T00:00:00Z')): Promise<StoreOpenFigures> {
  const dir = join(mkdtempSync(join(tmpdir(), 'choco-bench-open-')), 'store');
  const t0 = end - days * DAY * QUARTER;
  const writeDay = async (store: SeriesStore, d: number) => {
    for (const s of SERIES) await store.write(s, 'kW', Array.from({ length: DAY }, (_, i) => ({ start: t0 + (d * DAY + i) * QUARTER, end: t0 + (d * DAY + i + 1) * QUARTER, value: Math.sin((d * DAY + i) / 50) * 100 })), { source: 'bench', fetchedAt: d });
  };
  const store = await SeriesStore.open(dir, { sync: false, verify: false });
  for (let d = 0; d < days - 1; d++) await writeDay(store, d);
  let s = performance.now();
  await store.verify();
  const verifyMs = performance.now() - s;
  await writeDay(store, days - 1);
  await store.close();
  const opens: number[] = [];
  let records = 0;
  let readAtOpen = 0;
  for (let i = 0; i < 5; i++) {
    s = performance.now();
    const again = await SeriesStore.open(dir, { verify: false });
    opens.push(performance.now() - s);
    records = again.integrity().records ?? -1;
    readAtOpen = again.integrity().verification?.checkedRecords ?? -1;
    await again.close();
  }
  rmSync(join(dir, LEDGER_FILE));
  s = performance.now();
  const full = await SeriesStore.open(dir, { verify: false });
  const fullOpenMs = performance.now() - s;
  await full.close();
  rmSync(join(dir, '..'), { recursive: true, force: true });
  return { days, records, openMs: median(opens), readAtOpen, fullOpenMs, verifyMs };
}

/** Both sizes, printed; returns the row for issue 24's table. */
export async function storeOpenBench(): Promise<[string, string, string]> {
  const rows: StoreOpenFigures[] = [];
  for (const days of [30, 365]) {
    const r = await storeOpen(days);
    rows.push(r);
    console.log(
      `store open with its integrity check, ${SERIES.length} quarter-hour series × ${days} days = ${r.records.toLocaleString('en')} records: ${r.openMs.toFixed(1)} ms (median of 5; read at open ${r.readAtOpen.toLocaleString('en')} records, the month written since the last verification); ` +
        `the same open reading every record ${r.fullOpenMs.toFixed(1)} ms; the background verification ${r.verifyMs.toFixed(1)} ms; load ${loadavg()}`,
    );
  }
  const [small, year] = rows as [StoreOpenFigures, StoreOpenFigures];
  return [
    'store open with its integrity check',
    `${small.openMs.toFixed(0)} ms at ${small.records.toLocaleString('en')} records, ${year.openMs.toFixed(0)} ms at a year (${year.records.toLocaleString('en')}); load ${loadavg()}`,
    `reading every record at open (before): ${small.fullOpenMs.toFixed(0)} ms / ${year.fullOpenMs.toFixed(0)} ms; background verification of the year ${year.verifyMs.toFixed(0)} ms`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log((await storeOpenBench()).join(' | '));
}
