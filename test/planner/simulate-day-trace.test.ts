import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, localDayRange } from '../../gateway/time/tz.js';
import { dayTrace, dayTraceCsv, type DayTraceInput } from '../../models/eval/day-trace.js';
import { FIXTURES } from '../helpers/fixture-server.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

const run = promisify(execFile);

/** The local day's hourly slot starts (23 on the spring DST day). */
const hoursOf = (date: string) => {
  const { start, end } = localDayRange(date, 'Europe/Madrid');
  const out: number[] = [];
  for (let t = start; t < end; t += HOUR_MS) out.push(t);
  return out;
};

function day(date: string, over: Partial<DayTraceInput> = {}): DayTraceInput {
  const starts = hoursOf(date);
  // Forecast: flat 50 €/MWh; real: 50 at night, 10 at midday (a solar dip the forecast missed), 80 in the evening.
  const actual = starts.map((_, i) => (i < 9 ? 50 : i < 18 ? 10 : 80));
  return {
    starts,
    resolutionMs: HOUR_MS,
    kw: { mixing: 30, conching: 48 },
    forecast: starts.map(() => 50),
    actual,
    low: starts.map(() => 40),
    high: starts.map(() => 64),
    // The plan at night, hindsight at midday.
    plan: [
      { process: 'mixing', batch: 1, startSlot: 0, slots: 1 },
      { process: 'conching', batch: 1, startSlot: 1, slots: 5 },
    ],
    hindsight: [
      { process: 'mixing', batch: 1, startSlot: 9, slots: 1 },
      { process: 'conching', batch: 1, startSlot: 10, slots: 5 },
    ],
    timezone: 'Europe/Madrid',
    ...over,
  };
}

describe('the day trace: where a plan made on forecast prices lost against hindsight', () => {
  it('gives each plan its local starts, its energy by part of the day, the prices forecast and paid at its hours and the ranking error', () => {
    const t = dayTrace(day('2024-03-12'));
    expect(t.planStarts).toBe('mixing 00:00; conching 01:00');
    expect(t.hindsightStarts).toBe('mixing 09:00; conching 10:00');
    expect(t.planShare).toEqual([100, 0, 0]);
    expect(t.hindsightShare).toEqual([0, 100, 0]);
    // Both at the flat forecast; paid 50 at night and 10 at midday.
    expect(t.planForecastEurMwh).toBe(50);
    expect(t.planActualEurMwh).toBe(50);
    expect(t.hindsightForecastEurMwh).toBe(50);
    expect(t.hindsightActualEurMwh).toBe(10);
    // (50 − 10) − (50 − 50): the forecast made the midday 40 €/MWh dearer against the night than it was.
    expect(t.rankingErrorEurMwh).toBe(40);
    expect(t.bandHalfEurMwh).toBe(12);
  });

  it('weights the price by each run energy and splits a run across parts of the day', () => {
    // mixing 30 kW at 08:00 (night, real 50), conching 48 kW 17:00-22:00 (1 h midday at 10, 4 h evening at 80).
    const t = dayTrace(day('2024-03-12', { plan: [{ process: 'mixing', batch: 1, startSlot: 8, slots: 1 }, { process: 'conching', batch: 1, startSlot: 17, slots: 5 }] }));
    const kwh = 30 + 48 * 5;
    expect(t.planShare).toEqual([Math.round((100 * 30) / kwh), Math.round((100 * 48) / kwh), Math.round((100 * 192) / kwh)]);
    expect(t.planActualEurMwh).toBeCloseTo((30 * 50 + 48 * 10 + 192 * 80) / kwh, 2);
  });

  it('a forecast off by the same amount every hour has no ranking error: only the ranking costs', () => {
    const base = day('2024-03-12');
    const t = dayTrace({ ...base, forecast: base.actual.map((p) => p + 17) });
    expect(t.rankingErrorEurMwh).toBe(0);
    expect(t.planForecastEurMwh - t.planActualEurMwh).toBeCloseTo(17, 6);
  });

  it('reads local clock hours on the 23-hour DST day and says when there is no band', () => {
    const date = '2024-03-31';
    const starts = hoursOf(date);
    expect(starts).toHaveLength(23);
    const t = dayTrace(day(date, { low: undefined, high: undefined, plan: [{ process: 'mixing', batch: 1, startSlot: 2, slots: 1 }], hindsight: [{ process: 'mixing', batch: 1, startSlot: 8, slots: 1 }] }));
    // Slot 2 is 03:00 local (02:00 does not exist); slot 8 is 09:00, the midday.
    expect(t.planStarts).toBe('mixing 03:00');
    expect(t.hindsightStarts).toBe('mixing 09:00');
    expect(t.hindsightShare).toEqual([0, 100, 0]);
    expect(t.bandHalfEurMwh).toBeNull();
  });

  it('refuses a run outside the day or of a process it has no power for', () => {
    expect(() => dayTrace(day('2024-03-12', { plan: [{ process: 'mixing', batch: 1, startSlot: 23, slots: 2 }] }))).toThrow(/outside the day's 24/);
    expect(() => dayTrace(day('2024-03-12', { plan: [{ process: 'tempering', batch: 1, startSlot: 3, slots: 1 }] }))).toThrow(/unknown process "tempering"/);
  });

  it('writes one CSV row per day: € to the cent, the loss against hindsight, empty trace fields where there is none', () => {
    const trace = dayTrace(day('2024-03-12'));
    const csv = dayTraceCsv([
      { date: '2024-03-12', priceSource: 'forecast', baselineEur: 100, hindsightEur: 80.5, planEur: 87.256, liveEur: 80.5, trace },
      { date: '2024-03-13', priceSource: 'published', baselineEur: 90, hindsightEur: 70, planEur: 70, liveEur: 70, planBroke: true },
    ]);
    const lines = csv.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const header = lines[0]!.split(',');
    const row = lines[1]!.match(/("[^"]*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, ''));
    const field = (name: string) => row[header.indexOf(name)];
    expect(field('plan_eur')).toBe('87.26');
    expect(field('plan_loss_eur')).toBe('6.76');
    expect(field('ranking_error_eur_mwh')).toBe('40');
    expect(field('plan_night_midday_evening_pct')).toBe('100/0/0');
    expect(field('plan_starts')).toBe('mixing 00:00; conching 01:00');
    expect(lines[2]).toBe('2024-03-13,published,90.00,70.00,70.00,0.00,70.00,yes,,,,,,,,,,');
  });
});

describe('simulate --days FILE', () => {
  const prices = join(FIXTURES, 'models/omie_es_2024-01-01_2024-05-31_hourly.csv.gz');

  it('writes the trace of every simulated day, whose € add up to the totals printed', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'choco-days-')), 'days.csv');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', MAIN, 'simulate', '--from', '2024-03-11', '--to', '2024-03-14', '--prices', prices, '--days', out], { env: gatewayEnv() });
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const header = lines[0]!.split(',');
    const rows = lines.slice(1).map((l) => l.match(/("[^"]*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '')));
    const col = (name: string) => rows.map((r) => r[header.indexOf(name)]!);
    expect(col('date')).toEqual(['2024-03-11', '2024-03-12', '2024-03-13']);
    expect(col('price_source')).toEqual(['forecast', 'forecast', 'forecast']);
    const total = stdout.match(/total: plan_eur=(\d+\.\d\d) live_eur=\S+ moves=\d+ baseline_eur=(\d+\.\d\d) hindsight_eur=(\d+\.\d\d)/)!;
    const sum = (name: string) => col(name).reduce((a, v) => a + Number(v), 0);
    expect(sum('plan_eur')).toBeCloseTo(Number(total[1]), 1);
    expect(sum('baseline_eur')).toBeCloseTo(Number(total[2]), 1);
    expect(sum('hindsight_eur')).toBeCloseTo(Number(total[3]), 1);
    for (const r of rows) {
      const f = (name: string) => r[header.indexOf(name)]!;
      expect(Number(f('plan_loss_eur'))).toBeCloseTo(Number(f('plan_eur')) - Number(f('hindsight_eur')), 1);
      expect(Number(f('plan_loss_eur'))).toBeGreaterThanOrEqual(-0.005);
      // Every process of the default plant is placed by both plans, and the band of the calibration is there.
      for (const p of ['mixing', 'refining', 'conching', 'tempering']) {
        expect(f('plan_starts')).toContain(p);
        expect(f('hindsight_starts')).toContain(p);
      }
      expect(Number(f('band_half_eur_mwh'))).toBeGreaterThan(0);
    }
  }, 240_000);

  it('refuses a --days file in a folder that does not exist, in one sentence, before simulating', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', MAIN, 'simulate', '--from', '2024-03-11', '--to', '2024-03-12', '--prices', prices, '--days', '/nonexistent-folder/days.csv'], { env: gatewayEnv() }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err!.stderr.trim().split('\n')).toHaveLength(1);
    expect(err!.stderr).toMatch(/--days \/nonexistent-folder\/days.csv: the folder \/nonexistent-folder does not exist/);
  }, 60_000);
});
