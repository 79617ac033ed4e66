import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPriceSlots } from '../../models/eval/datasets.js';
import { quarterHourPrices } from '../../gateway/bill/prices.js';
import { InputError } from '../../gateway/config/cli-input.js';

// The real OMIE quarter-hour file (shared/data), sliced by UTC time the way a user slices it: partial local days at
// either end must still be read as quarter-hours (they were read as hourly when a day had ≤ 25 rows, and the
// hourly→quarters expansion then "found" two prices for one quarter-hour).
const OMIE_15 = '/work/shared/data/omie_day_ahead_spain_15min.csv.gz';
const lines = gunzipSync(readFileSync(OMIE_15)).toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
const header = lines[0]!;
const dir = mkdtempSync(join(tmpdir(), 'price-slots-'));

function slice(name: string, fromUtc: string, toUtc: string): string {
  const rows = lines.slice(1).filter((l) => l >= fromUtc && l < toUtc);
  const path = join(dir, name);
  writeFileSync(path, `${header}\n${rows.join('\n')}\n`);
  return path;
}

describe('loadPriceSlots: a quarter-hour file sliced mid-day', () => {
  it.each([
    ['starts with the last 4 quarters of a local day', '2025-11-30T22:00', '2025-12-05T00:00'],
    ['ends with 6 quarters of a local day', '2025-11-30T23:00', '2025-12-04T23:30'],
    ['ends with a single quarter of a local day', '2025-11-30T23:00', '2025-12-04T23:15'],
    ['is the first 200 rows', '2025-09-30T22:00', '2025-10-03T00:00'],
  ])('%s: every row is one quarter-hour with its own price', (_what, from, to) => {
    const path = slice(`${from}.csv`.replace(/:/g, ''), from, to);
    const n = lines.slice(1).filter((l) => l >= from && l < to).length;
    const slots = loadPriceSlots([path]);
    expect(slots).toHaveLength(n);
    for (const s of slots) expect(s.end - s.start).toBe(15 * 60_000);
    const qh = quarterHourPrices(slots);
    expect(qh.size).toBe(n);
    expect(qh.get(Date.parse(`${from}:00Z`))).toBe(Number(lines.find((l) => l.startsWith(from))!.split(',')[3]));
  });

  it('an hourly file stays hourly, also on its partial days', () => {
    const path = join(dir, 'hourly.csv');
    writeFileSync(path, 'datetime_utc,price_es_eur_mwh\n2025-01-01T21:00:00Z,50\n2025-01-01T22:00:00Z,51\n2025-01-01T23:00:00Z,52\n2025-01-02T00:00:00Z,53\n');
    const slots = loadPriceSlots([path]);
    expect(slots.map((s) => (s.end - s.start) / 60_000)).toEqual([60, 60, 60, 60]);
    expect(quarterHourPrices(slots).size).toBe(16);
  });

  it('a real duplicate names its two rows and both prices', () => {
    const path = join(dir, 'dup.csv');
    writeFileSync(path, 'datetime_utc,price_es_eur_mwh\n2025-12-01T10:00:00Z,50\n2025-12-01T10:15:00Z,51\n2025-12-01T10:00:00Z,57\n');
    expect(() => loadPriceSlots([path])).toThrow(InputError);
    expect(() => loadPriceSlots([path])).toThrow(`${path}: two rows for 2025-12-01T10:00:00.000Z (data rows 1 and 3: 50 and 57 €/MWh); a price file holds one row per period`);
  });
});
