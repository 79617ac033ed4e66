import { afterEach, describe, expect, it } from 'vitest';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { createSiteLoad, BASE_LOAD_SERIES } from '../../plugins/site-load/index.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const QH = 900_000;
let ctx: TestContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

describe('site-load plugin (real LevelDB)', () => {
  it('learns from the stored site-meter quarter-hours minus the recorded plan runs and writes the 48 h forecast', async () => {
    const config = testConfig('http://127.0.0.1:9', {
      energy: { meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: 1502 }], siteLoad: { minDays: 7, profile: { workday: 500 } } },
    });
    const from = localDayRange('2025-05-26').start; // Monday, three weeks before
    const now = localDayRange('2025-06-16').start + 15 * 3_600_000; // 15:00
    ctx = await pluginContext(config, new Date(now).toISOString());
    const plugin = createSiteLoad(ctx);
    await plugin.start();
    // Every day a 48 kW conche from 02:00 to 07:00 local; the plan documents arrive one per day, as the planner issues them.
    const rows: MeterQuarterHour[] = [];
    const lastDay = localDayRange('2025-06-15').start;
    for (let d = from; d < localDayRange('2025-06-16').start; d += 86_400_000) {
      const run = lineRun('conching', d + 2 * 3_600_000, d + 7 * 3_600_000, 48);
      // On the last day the quarter-hour guard held the conche's start one hour: it ran 03:00-08:00.
      const shift = d === lastDay ? 3_600_000 : 0;
      if (shift) ctx.bus.emit('power.guard', { shifts: [{ line: 'conching', runStart: d + 2 * 3_600_000, shiftMs: shift, reason: 'test' }], loadsOff: [], projectedKw: null, limitKw: null, period: null, at: d });
      ctx.bus.emit('plan.updated', { version: 1, planId: 'p', doc: { ...planDocument(d, [run]), horizon: { start: new Date(d).toISOString(), end: new Date(d + 86_400_000).toISOString(), resolution_min: 60 } } });
      for (let t = d; t < d + 86_400_000; t += QH) {
        const hour = (t - d) / 3_600_000;
        const base = hour >= 8 && hour < 20 ? 120 : 60;
        const kw = base + (hour >= 2 + shift / 3_600_000 && hour < 7 + shift / 3_600_000 ? 48 : 0);
        rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh: kw / 4, avgKw: kw, period: 6, quality: 'measured' });
      }
    }
    await writeMeterQuarterHours(ctx.store, rows);
    const result = await plugin.jobs!.recalibration!();
    expect(result.summary).toMatch(/learned from 21 days/);
    // The conche is taken off exactly where it ran, the guard's move included: a flat day-type shape.
    expect(plugin.model()!.error!.maeKw).toBeLessThan(0.01);
    const slots = await ctx.store.read(BASE_LOAD_SERIES, now, now + 48 * 3_600_000);
    expect(slots).toHaveLength(48 * 4 - 0);
    const at = (h: number) => slots.find((s) => s.start === localDayRange('2025-06-17').start + h * 3_600_000)!.value;
    expect(at(3)).toBeCloseTo(60, 6); // 03:00: the conche's 48 kW is not base load
    expect(at(10)).toBeCloseTo(120, 6);
    expect(plugin.health().state).toBe('ok');
    expect(plugin.health().message).toMatch(/day-ahead error on 2025-06-15/);
  });

  it('is the configured profile without meter data, and says so', async () => {
    const config = testConfig('http://127.0.0.1:9', { energy: { siteLoad: { profile: { workday: 150, saturday: 100, sunday: 80 } } } });
    ctx = await pluginContext(config, '2025-06-16T08:00:00Z');
    const plugin = createSiteLoad(ctx);
    await plugin.start();
    await plugin.jobs!.planning!();
    const slots = await ctx.store.read(BASE_LOAD_SERIES, Date.parse('2025-06-16T08:00:00Z'), Date.parse('2025-06-18T08:00:00Z'));
    expect(slots.every((s) => s.value === 150)).toBe(true);
    expect(plugin.health().message).toMatch(/configured profile/);
  });
});
