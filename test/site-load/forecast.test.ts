import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { SiteLoadSchema, type SiteLoadConfig } from '../../gateway/config/site-load-schema.js';
import { dayTypeOf, forecastBaseLoad, profileKw, recalibrate, slotOfDay, unplannedSamples } from '../../gateway/site-load/forecast.js';
import { localDayRange } from '../../gateway/time/tz.js';

const QH = 900_000;
const cfg = (extra: Partial<SiteLoadConfig> = {}): SiteLoadConfig => Value.Default(SiteLoadSchema, { ...extra }) as SiteLoadConfig;

/** The "true" unplanned load of the synthetic site: a day-type shape by clock hour plus 1.5 kW/°C above 18 °C. */
function trueBase(ms: number, temp: number): number {
  const type = dayTypeOf(ms);
  const hour = Math.floor(slotOfDay(ms) / 4);
  const shape = type === 'workday' ? (hour >= 6 && hour < 22 ? 140 : 70) : type === 'saturday' ? 90 : 60;
  return shape + 1.5 * Math.max(0, temp - 18);
}
/** Outdoor °C: a daily swing whose amplitude changes day by day, so temperature is not a copy of the clock hour. */
const temperature = (ms: number) => 20 + (4 + 3 * Math.sin(ms / 86_400_000)) * Math.sin(((slotOfDay(ms) / 96) * 2 - 0.5) * Math.PI);

describe('site base load', () => {
  it('learns the unplanned load from the site meter minus the planned runs, by day type, quarter-hour and temperature; reports its day-ahead error', () => {
    // 35 days through the spring DST change (2025-03-30 has 92 quarter-hours).
    const from = localDayRange('2025-03-03').start;
    const to = localDayRange('2025-04-07').start;
    const runs: Array<{ start: number; end: number; kw: number }> = [];
    for (let d = from; d < to; d += 86_400_000) runs.push({ start: d + 10 * 3_600_000, end: d + 13 * 3_600_000 + 7.5 * 60_000, kw: 48 }); // a conche, ending mid-quarter-hour
    let seed = 7;
    const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 6;
    const meter = [];
    for (let t = from; t < to; t += QH) {
      const planned = runs.reduce((s, r) => s + (r.kw * Math.max(0, Math.min(t + QH, r.end) - Math.max(t, r.start))) / QH, 0);
      meter.push({ start: t, avgKw: trueBase(t, temperature(t)) + planned + noise(), quality: 'measured' });
    }
    meter.push({ start: to - QH, avgKw: null, quality: 'missing' });
    const dst = meter.filter((q) => q.start >= localDayRange('2025-03-30').start && q.start < localDayRange('2025-03-30').end);
    expect(dst).toHaveLength(92);
    const samples = unplannedSamples(meter, runs, temperature);
    expect(samples).toHaveLength(meter.length - 1);
    const c = cfg({ learnDays: 28, minDays: 7, profile: { workday: 100, coolingKwPerDegC: 0, referenceC: 18 } });
    const model = recalibrate(c, samples, to + 3_600_000);
    expect(model.days).toBe(28);
    expect(model.coolingKwPerDegC).toBeGreaterThan(1.2);
    expect(model.coolingKwPerDegC).toBeLessThan(1.8);
    expect(model.error?.day).toBe('2025-04-06');
    expect(model.error!.maeKw).toBeLessThan(5);
    // The next day (a Monday), forecast against the truth: the learned forecast beats the flat configured profile.
    const next = localDayRange('2025-04-07');
    const fc = forecastBaseLoad(c, model, next.start, next.end, temperature);
    expect(fc).toHaveLength(96);
    expect(fc.every((s) => s.source === 'learned')).toBe(true);
    const mae = (kw: (t: number) => number) => fc.reduce((s, q) => s + Math.abs(kw(q.start) - trueBase(q.start, temperature(q.start))), 0) / fc.length;
    const learnedMae = mae((t) => fc.find((q) => q.start === t)!.value);
    expect(learnedMae).toBeLessThan(3);
    expect(mae(() => 100)).toBeGreaterThan(10 * learnedMae);
  });

  it('is the configured profile before the meter has taught it, and 0 kW marked none without a profile', () => {
    const day = localDayRange('2025-10-26'); // Sunday, 25 hours
    const c = cfg({ profile: { workday: Array.from({ length: 24 }, (_, h) => 50 + h), saturday: 40, sunday: 30, coolingKwPerDegC: 2, referenceC: 20 } });
    const fc = forecastBaseLoad(c, null, day.start, day.end, () => 25);
    expect(fc).toHaveLength(100);
    expect(fc.every((s) => s.source === 'profile' && s.value === 30 + 2 * 5)).toBe(true);
    const monday = localDayRange('2025-10-27');
    expect(profileKw(c, monday.start + 9 * 3_600_000, null)).toBe(59);
    const none = forecastBaseLoad(cfg(), null, monday.start, monday.end, () => null);
    expect(none.every((s) => s.value === 0 && s.source === 'none')).toBe(true);
  });
});
