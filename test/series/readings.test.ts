import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seriesStatus, seriesStatuses } from '../../gateway/series/status.js';
import { SeriesStore } from '../../gateway/series/store.js';

const t0 = Date.parse('2025-10-01T00:00:00Z');
const MIN = 60_000;
const Q = 15 * MIN;
let store: SeriesStore | undefined;
afterEach(async () => store?.close());
const open = async (dir = mkdtempSync(join(tmpdir(), 'choco-readings-')), now = () => t0) => (store = await SeriesStore.open(dir, { readings: { commitMs: 60_000, rawHours: 48, aggregateMs: Q }, now }));

/** Counts the LevelDB entries every iterator of the store yields from now on (what a status call really reads). */
function countEntries(s: SeriesStore): { entries: number } {
  const db = (s as unknown as { db: { iterator: (...args: unknown[]) => AsyncIterable<unknown> } }).db;
  const original = db.iterator.bind(db);
  const counter = { entries: 0 };
  db.iterator = (...args: unknown[]) => {
    const it = original(...args);
    return {
      async *[Symbol.asyncIterator]() {
        for await (const e of it) {
          counter.entries++;
          yield e;
        }
      },
    };
  };
  return counter;
}

const layout = (device: string, series: string[], pollMs = 1000) => ({ device, source: `modbus/${device}`, pollMs, series, units: series.map(() => 'degC' as const), blockOf: series.map(() => 0) });

describe('readings log (raw Modbus cycles, group commit)', () => {
  it('shows appended cycles at once, stores them all in one commit, and reads them back after a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-readings-'));
    const s = await open(dir);
    await s.readings.register({ ...layout('d1', ['sensor.a', 'sensor.b']), blockOf: [0, 1] });
    for (let i = 0; i < 10; i++) s.readings.append('d1', { at: t0 + i * 1000, offsets: [0, 7], values: [i, i === 3 ? null : 100 + i] });
    expect(await s.latest('sensor.b')).toMatchObject({ start: t0 + 9000 + 7, end: t0 + 10_007, value: 109, source: 'modbus/d1' });
    expect(s.readings.stats).toMatchObject({ pendingCycles: 10, commits: 0 });
    await s.readings.commit();
    expect(s.readings.stats).toMatchObject({ pendingCycles: 0, commits: 1, committedCycles: 10, committedUntil: t0 + 9000 });
    await s.close();
    const again = await open(dir);
    await again.readings.register({ ...layout('d1', ['sensor.a', 'sensor.b']), blockOf: [0, 1] });
    const b = await again.read('sensor.b', t0, t0 + 10_000);
    expect(b.map((x) => x.value)).toEqual([100, 101, 102, 104, 105, 106, 107, 108, 109]);
    expect(b[0]).toMatchObject({ start: t0 + 7, end: t0 + 1007 });
    expect((await again.read('sensor.a', t0 + 2500, t0 + 4000)).map((x) => x.value)).toEqual([2, 3]);
    expect(await again.latest('sensor.a')).toMatchObject({ start: t0 + 9000, value: 9 });
  });

  it('folds readings older than the raw span into quarter-hour min/mean/max slots and deletes them', async () => {
    let now = t0;
    const s = await open(undefined, () => now);
    await s.readings.register(layout('d1', ['sensor.a']));
    // Two quarter-hours of 1 s readings (values 0..1799) and one more minute later on.
    for (let i = 0; i < 1800; i++) s.readings.append('d1', { at: t0 + i * 1000, offsets: [0], values: [i] });
    s.readings.append('d1', { at: t0 + 3 * Q, offsets: [0], values: [-5] });
    await s.readings.commit();
    now = t0 + 48 * 3_600_000 + 2 * Q + 1; // the first two quarter-hours are past the raw span, the third is not
    expect(await s.readings.aggregate(now)).toBe(1800);
    expect(await s.read('sensor.a', t0, t0 + 2 * Q)).toEqual([
      { start: t0, end: t0 + Q, value: 449.5, source: 'modbus/d1', fetchedAt: t0 + Q },
      { start: t0 + Q, end: t0 + 2 * Q, value: 1349.5, source: 'modbus/d1', fetchedAt: t0 + 2 * Q },
    ]);
    expect((await s.read('sensor.a.min', t0, t0 + 2 * Q)).map((x) => x.value)).toEqual([0, 900]);
    expect((await s.read('sensor.a.max', t0, t0 + 2 * Q)).map((x) => x.value)).toEqual([899, 1799]);
    // The raw reading still inside the span is kept as it is, and reads merge both.
    expect((await s.read('sensor.a', t0, t0 + 4 * Q)).map((x) => x.end - x.start)).toEqual([Q, Q, 1000]);
    expect(await s.readings.aggregate(now)).toBe(0);
  });
});

describe('series status in constant time', () => {
  it('a forecast beyond the published values (ahead) is stale by the age of its last run only, never for not covering now', async () => {
    const s = await open();
    // Forecast slots for the day after tomorrow, issued now: nothing covers now, by design.
    const issued = t0;
    await s.write('forecast.omie_es', 'EUR/MWh', Array.from({ length: 96 }, (_, i) => ({ start: t0 + 86_400_000 + i * Q, end: t0 + 86_400_000 + (i + 1) * Q, value: i })), { source: 'predictions', fetchedAt: issued });
    const d = { id: 'forecast.omie_es', unit: 'EUR/MWh', description: '', source: 'predictions', sources: ['predictions'], staleAfterMs: 2 * 86_400_000, critical: false };
    expect(await seriesStatus(s, d, issued + 1000)).toMatchObject({ stale: true, staleReason: expect.stringMatching(/no value covers now/) });
    expect(await seriesStatus(s, { ...d, ahead: true }, issued + 1000)).toMatchObject({ stale: false, current: null, horizonEnd: t0 + 2 * 86_400_000 });
    expect(await seriesStatus(s, { ...d, ahead: true }, issued + 3 * 86_400_000)).toMatchObject({ stale: true, staleReason: expect.stringMatching(/last fetched/) });
  });

  it('a day of 1 s history: status reads at most one entry, and gets the covering and latest slots right', async () => {
    const s = await open();
    for (let h = 0; h < 24; h++) {
      const slots = Array.from({ length: 3600 }, (_, i) => ({ start: t0 + (h * 3600 + i) * 1000, end: t0 + (h * 3600 + i + 1) * 1000, value: h * 3600 + i }));
      await s.write('sensor.line', 'degC', slots, { source: 'test', fetchedAt: t0 + (h + 1) * 3_600_000 });
    }
    // A price series with a horizon: the slot covering now is inside it.
    await s.write('omie_es', 'EUR/MWh', Array.from({ length: 192 }, (_, i) => ({ start: t0 + i * Q, end: t0 + (i + 1) * Q, value: i })), { source: 'omie', fetchedAt: t0 });
    const counter = countEntries(s);
    const now = t0 + 86_400_000 - 500;
    const line = await seriesStatus(s, { id: 'sensor.line', unit: 'degC', description: '', source: 'x', sources: ['x'], staleAfterMs: 10_000, critical: false }, now);
    expect(line).toMatchObject({ current: { start: t0 + 86_399_000, value: 86_399 }, stale: false, horizonEnd: t0 + 86_400_000 });
    expect(counter.entries).toBe(0);
    const price = await seriesStatus(s, { id: 'omie_es', unit: 'EUR/MWh', description: '', source: 'omie', sources: ['omie'], staleAfterMs: 86_400_000 * 2, critical: true }, t0 + 10 * Q + 5);
    expect(price).toMatchObject({ current: { start: t0 + 10 * Q, value: 10 }, horizonEnd: t0 + 192 * Q, stale: false });
    expect(counter.entries).toBe(1);
    // The metadata survives a reopen (it is written with every batch).
    const dir = (s as unknown as { db: { location: string } }).db.location;
    await s.close();
    const again = await open(dir);
    expect((await again.meta('sensor.line'))).toMatchObject({ last: { start: t0 + 86_399_000, value: 86_399 }, written: 86_400, maxSlotMs: 1000 });
  });

  it('keeps the latest slot right when writes of one series overlap in time (backfill while today arrives)', async () => {
    const s = await open();
    const day = (d: number) => Array.from({ length: 24 }, (_, i) => ({ start: t0 + d * 86_400_000 + i * 3_600_000, end: t0 + d * 86_400_000 + (i + 1) * 3_600_000, value: d }));
    for (let d = 10; d > 0; d--) await Promise.all([s.write('omie_es', 'EUR/MWh', day(d), { source: 'omie', fetchedAt: d }), s.write('omie_es', 'EUR/MWh', day(-d), { source: 'omie', fetchedAt: d, replaceRange: true })]);
    expect((await s.meta('omie_es'))!.last).toMatchObject({ start: t0 + 10 * 86_400_000 + 23 * 3_600_000, value: 10 });
    expect((await s.status('omie_es', t0 + 5 * 86_400_000 + 1))!.at).toMatchObject({ value: 5 });
  });

  it('5,000 Modbus series with an hour of readings: every status comes from memory, none reads the store', async () => {
    const s = await open();
    const devices = Array.from({ length: 50 }, (_, d) => layout(`dev${d}`, Array.from({ length: 100 }, (_, p) => `sensor.d${d}p${p}`)));
    for (const l of devices) await s.readings.register(l);
    for (let c = 0; c < 3600; c += 10) for (const l of devices) s.readings.append(l.device, { at: t0 + c * 1000, offsets: [0], values: l.series.map((_, p) => c + p) });
    await s.readings.commit();
    const counter = countEntries(s);
    const now = t0 + 3590 * 1000 + 500;
    const statuses = await seriesStatuses(s, devices.flatMap((l) => l.series.map((id) => ({ id, unit: 'degC', description: '', source: 'modbus-sensors', sources: ['modbus-sensors'], staleAfterMs: 10_000, critical: false, currentWithinMs: 3000 }))), now);
    expect(statuses).toHaveLength(5000);
    expect(statuses.filter((x) => x.stale)).toEqual([]);
    expect(statuses[5 * 100 + 7]).toMatchObject({ id: 'sensor.d5p7', current: { start: t0 + 3_590_000, value: 3597 }, ageMs: 500 });
    expect(counter.entries).toBe(0);
  });
});
