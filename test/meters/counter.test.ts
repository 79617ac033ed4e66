import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MeterCounter, type CounterOptions, type CounterVerdict } from '../../gateway/meters/counter.js';
import { readMeterQuarterHours, writeMeterQuarterHours, pruneMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { localDayRange } from '../../gateway/time/tz.js';

const OPTIONS: CounterOptions = { gapMs: 60_000, interpolateMaxMs: 3_600_000, frozenPolls: 30, frozenKwh: 1 };
const T0 = Date.UTC(2025, 0, 15, 8, 0); // 09:00 Madrid, a quarter-hour boundary

/** A meter drawing `kw(t)`: its counter integrates the power exactly; `poll` reads it every `stepMs`. */
class SimMeter {
  kwh = 1000;
  t: number;
  constructor(start: number, readonly counter = new MeterCounter(OPTIONS), kw = 0) {
    this.t = start;
    counter.push({ at: start, importKwh: this.kwh, kw });
  }
  /** Runs until `to`, polling every stepMs; `read` can override what the meter answers. */
  run(to: number, stepMs: number, kw: number, read?: (truth: { at: number; kwh: number; kw: number }) => { importKwh: number; kw: number } | null): CounterVerdict[] {
    const verdicts: CounterVerdict[] = [];
    while (this.t + stepMs <= to) {
      this.t += stepMs;
      this.kwh += (kw * stepMs) / 3_600_000;
      const answer = read ? read({ at: this.t, kwh: this.kwh, kw }) : { importKwh: this.kwh, kw };
      if (answer) verdicts.push(this.counter.push({ at: this.t, ...answer }));
    }
    return verdicts;
  }
}

describe('meter counter: quarter-hours from the import counter', () => {
  it('a steady 100 kW gives 25 kWh and 100 kW average in each quarter-hour, measured', () => {
    const m = new SimMeter(T0 - 10_000);
    m.run(T0 + 3_600_000 + 10_000, 10_000, 100);
    const qh = m.counter.close(T0 + 3_600_000 + 10_000);
    // The first quarter-hour (08:45 UTC) is only covered from T0 - 10 s on: missing, never guessed.
    expect(qh[0]).toMatchObject({ start: T0 - 15 * 60_000, quality: 'missing', kwh: null });
    expect(qh.slice(1).map((q) => [q.quality, q.kwh, q.avgKw])).toEqual(Array(4).fill(['measured', 25, 100]));
  });

  it('a frozen meter (counter stuck while the power reads 100 kW) is named, and its quarter-hours are not measured', () => {
    const m = new SimMeter(T0 - 10_000);
    m.run(T0 + 15 * 60_000, 10_000, 100);
    let stuck = 0;
    const verdicts = m.run(T0 + 45 * 60_000, 10_000, 100, (truth) => ({ importKwh: (stuck ||= truth.kwh - (100 * 10_000) / 3_600_000), kw: 100 }));
    const found = verdicts.filter((v) => v.raised);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ fault: 'frozen', quality: 'suspect' });
    expect(found[0]!.message).toMatch(/frozen: the import counter stays at .* while the power read \(100 kW\) would have imported/);
    // While frozen, no quarter-hour past the last trusted reading closes (the flat counter is never stored as 0 kWh).
    const during = m.counter.close(T0 + 45 * 60_000);
    expect(during.map((q) => [q.start, q.quality])).toEqual([[T0 - 15 * 60_000, 'missing'], [T0, 'measured']]);
    // It comes back (the counter jumps to the truth) 30 min later: bridged as interpolated, the energy kept.
    m.run(T0 + 60 * 60_000, 10_000, 100);
    const after = m.counter.close(T0 + 60 * 60_000);
    expect(after.map((q) => q.quality)).toEqual(['interpolated', 'interpolated', 'interpolated']);
    expect(after.reduce((s, q) => s + q.kwh!, 0)).toBeCloseTo(75, 3);
  });

  it('identical values for N polls (power not zero) are a frozen meter', () => {
    const m = new SimMeter(T0);
    m.run(T0 + 60_000, 10_000, 50);
    // A protocol gateway answering its cache: counter and power the same every poll; a very coarse expectation so only the count can trip.
    const c = new MeterCounter({ ...OPTIONS, frozenKwh: 1e9, frozenPolls: 5 });
    const verdicts = [0, 1, 2, 3, 4, 5, 6].map((i) => c.push({ at: T0 + i * 10_000, importKwh: 500, kw: 12.5 }));
    expect(verdicts.findIndex((v) => v.fault === 'frozen' && v.raised)).toBe(4);
    // Power exactly zero and a still counter is an idle plant, not a frozen meter.
    const idle = new MeterCounter({ ...OPTIONS, frozenPolls: 5 });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => idle.push({ at: T0 + i * 10_000, importKwh: 500, kw: 0 })).some((v) => v.fault)).toBe(false);
  });

  it('a counter reset, a rollback and a jump are each named, and the quarter-hour they fall in is missing', () => {
    for (const [fault, answer] of [
      ['reset', () => 0.2],
      ['rollback', (kwh: number) => kwh - 300],
      ['jump', (kwh: number) => kwh + 5000],
    ] as const) {
      const m = new SimMeter(T0 - 10_000);
      m.run(T0 + 20 * 60_000, 10_000, 100);
      let offset: number | undefined;
      const verdicts = m.run(T0 + 45 * 60_000, 10_000, 100, (truth) => {
        offset ??= answer(truth.kwh) - truth.kwh;
        return { importKwh: truth.kwh + offset, kw: 100 };
      });
      expect(verdicts.filter((v) => v.raised).map((v) => v.fault)).toEqual([fault]);
      const qh = m.counter.close(T0 + 45 * 60_000);
      expect(qh.map((q) => q.quality)).toEqual(['missing', 'measured', 'missing', 'measured']);
      expect(qh[3]!.kwh).toBeCloseTo(25, 6);
    }
  });

  it('a short gap is interpolated (its energy kept), a long one leaves its quarter-hours missing once past bridging', () => {
    const m = new SimMeter(T0 - 10_000);
    m.run(T0 + 15 * 60_000, 10_000, 80);
    const verdicts = m.run(T0 + 40 * 60_000, 10_000, 80, (truth) => (truth.at < T0 + 38 * 60_000 ? null : { importKwh: truth.kwh, kw: 80 }));
    expect(verdicts[0]).toMatchObject({ fault: 'gap', raised: true, quality: 'suspect' });
    expect(verdicts[0]!.message).toMatch(/no reading for 23 min/);
    m.run(T0 + 45 * 60_000, 10_000, 80);
    const qh = m.counter.close(T0 + 45 * 60_000);
    expect(qh.map((q) => q.quality)).toEqual(['missing', 'measured', 'interpolated', 'interpolated']);
    expect(qh[2]!.kwh! + qh[3]!.kwh!).toBeCloseTo(40, 6);

    // Silent for 2 h: at the first close after an hour, the quarter-hours of the gap are closed missing.
    expect(m.counter.gapOpen(T0 + 47 * 60_000)).toBe(true);
    expect(m.counter.close(T0 + 105 * 60_000)).toEqual([]);
    const lost = m.counter.close(T0 + 106 * 60_000);
    expect(lost.map((q) => [new Date(q.start).toISOString().slice(11, 16), q.quality])).toEqual([
      ['08:45', 'missing'],
      ['09:00', 'missing'],
      ['09:15', 'missing'],
      ['09:30', 'missing'],
    ]);
  });

  it('a coarse counter (0.1 kWh steps) at a small load is neither a jump nor frozen; a real jump still is', () => {
    // A 5 kW line on an EM24: the counter shows whole 0.1 kWh steps; the first step may come seconds after a reading.
    const c = new MeterCounter(OPTIONS);
    let truth = 1000.099; // just under the next step
    const verdicts: CounterVerdict[] = [];
    for (let i = 0; i <= 360; i++) {
      truth += (5 * 10_000) / 3_600_000;
      verdicts.push(c.push({ at: T0 + i * 10_000, importKwh: Math.floor(truth * 10) / 10, kw: 5, resolutionKwh: 0.1 }));
    }
    expect(verdicts.filter((v) => v.fault)).toEqual([]);
    const hour = c.close(T0 + 3_600_000);
    expect(hour.map((q) => q.quality)).toEqual(['measured', 'measured', 'measured', 'measured']);
    expect(hour.reduce((s, q) => s + q.kwh!, 0)).toBeCloseTo(5, 0);
    expect(c.push({ at: T0 + 3_610_000, importKwh: Math.floor(truth * 10) / 10 + 40, kw: 5, resolutionKwh: 0.1 })).toMatchObject({ fault: 'jump' });
  });

  it('reactive energy is spread like active energy, and null for a meter without the register', () => {
    const c = new MeterCounter(OPTIONS);
    for (let i = 0; i <= 90; i++) c.push({ at: T0 + i * 10_000, importKwh: 10 + i * 0.1, kw: 36, importKvarh: 5 + i * 0.05 });
    const [q] = c.close(T0 + 900_000);
    expect(q).toMatchObject({ quality: 'measured', kwh: 9, avgKw: 36, kvarh: 4.5 });
    const d = new MeterCounter(OPTIONS);
    for (let i = 0; i <= 90; i++) d.push({ at: T0 + i * 10_000, importKwh: 10 + i * 0.1, kw: 36 });
    expect(d.close(T0 + 900_000)[0]).toMatchObject({ kwh: 9, kvarh: null });
  });
});

describe('meter quarter-hours on the local grid, in LevelDB', () => {
  it('92 quarter-hours on the spring DST day and 100 on the autumn one, stored and read back per local day', async () => {
    const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-meters-')));
    try {
      for (const [date, n] of [['2025-03-30', 92], ['2025-10-26', 100], ['2025-06-01', 96]] as const) {
        const { start, end } = localDayRange(date);
        const m = new SimMeter(start - 60_000);
        m.run(end + 60_000, 60_000, 40);
        const rows: MeterQuarterHour[] = m.counter.close(end + 60_000).filter((q) => q.start >= start && q.end <= end).map((q) => ({ ...q, meter: 'site-main', role: 'site', period: null }));
        expect(rows).toHaveLength(n);
        expect(rows.every((r) => r.quality === 'measured' && Math.abs(r.kwh! - 10) < 1e-6)).toBe(true);
        await writeMeterQuarterHours(store, rows);
        const back = await readMeterQuarterHours(store, 'site-main', start, end);
        expect(back).toHaveLength(n);
        expect(back[0]).toEqual(rows[0]);
        expect(back.at(-1)!.end).toBe(end);
      }
      // Kept at least 400 days: a shorter retention is refused; 401 days later the spring day goes, the autumn one stays.
      await expect(pruneMeterQuarterHours(store, 'site-main', Date.UTC(2026, 5, 1), 399)).rejects.toThrow(/at least 400 days/);
      expect(await pruneMeterQuarterHours(store, 'site-main', localDayRange('2025-03-30').end + 401 * 86_400_000, 400)).toBe(1);
      expect(await readMeterQuarterHours(store, 'site-main', Date.UTC(2025, 2, 29), Date.UTC(2025, 2, 31))).toEqual([]);
      expect(await readMeterQuarterHours(store, 'site-main', Date.UTC(2025, 9, 25, 22), Date.UTC(2025, 9, 26, 23))).toHaveLength(100);
      await expect(writeMeterQuarterHours(store, [{ meter: 'site-main', role: 'site', start: T0 + 60_000, end: T0 + 960_000, kwh: 1, avgKw: 4, period: null, quality: 'measured' }])).rejects.toThrow(/not a 15-minute slot/);
      await expect(writeMeterQuarterHours(store, [{ meter: 'site-main', role: 'site', start: T0, end: T0 + 900_000, kwh: null, avgKw: null, period: null, quality: 'measured' }])).rejects.toThrow(/is measured with kWh null/);
    } finally {
      await store.close();
    }
  });
});
