import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDriverSlots, loadPriceSlots } from '../../models/eval/datasets.js';
import { learHistory } from '../../gateway/inference/price-lear.js';
import { marketPeriods } from '../../gateway/inference/price-profiles.js';
import { NotEnoughHistory, recalibrate } from '../../gateway/inference/price-recalibrate.js';
import type { Slot } from '../../gateway/series/slots.js';
import { addDays, localDayRange, localTimeToUtc } from '../../gateway/time/tz.js';
import { createPredictions } from '../../plugins/predictions/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';
import { FIXTURES } from '../helpers/fixture-server.js';

// Real OMIE prices (hourly to 2025-09-30, quarter-hourly from 2025-10-01) and REE's D-1 forecasts: see test/fixtures/PROVENANCE.md.
const PRICES = join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz');
const DRIVERS = join(FIXTURES, 'models/esios_d1_drivers_2025-08-20_2025-11-16.csv.gz');
const onDay = (slots: readonly Slot[], date: string) => {
  const { start, end } = localDayRange(date);
  return slots.filter((s) => s.start >= start && s.start < end);
};

describe('daily recalibration on the live gateway (real LevelDB, fake clock, 30 days)', () => {
  it('recalibrates every afternoon, forecasts D+1/D+2 at the market resolution, keeps versions, rolls back', async () => {
    const config = testConfig('http://127.0.0.1:9', { models: { keepVersions: 3, recalibration: { windows: [14, 28], conformalDays: 7, guardDays: 4 } } });
    expect(config.scheduler.jobs.recalibration.enabled).toBe(true);
    const first = '2025-10-09';
    const ctx = await pluginContext(config, new Date(localTimeToUtc(first, 9)).toISOString());
    const prices = loadPriceSlots([PRICES]);
    const drivers = loadDriverSlots(DRIVERS);
    const writeDay = async (date: string) => {
      await ctx.store.write('omie_es', 'EUR/MWh', onDay(prices, date), { source: 'test', fetchedAt: ctx.clock.now() });
    };
    const writeDrivers = async (date: string) => {
      for (const [id, slots] of [['drivers.demand_d1', drivers.demand], ['drivers.wind_d1', drivers.wind], ['drivers.solar_d1', drivers.solar]] as const) {
        await ctx.store.write(id, 'MW', onDay(slots, date), { source: 'test', fetchedAt: ctx.clock.now() });
      }
    };
    for (let d = '2025-08-20'; d <= first; d = addDays(d, 1)) {
      await writeDay(d);
      await writeDrivers(d);
    }
    const plugin = createPredictions(ctx);
    await plugin.start();
    expect(plugin.registry.get('price-forecaster').version).toBe('1.0.0');

    const summaries: string[] = [];
    let modelAbs = 0;
    let naiveAbs = 0;
    let inBand = 0;
    let n = 0;
    let dstSlots = 0;
    for (let i = 0; i < 30; i++) {
      const day = addDays(first, i);
      // 09:00: REE's D-1 forecasts for tomorrow; 10:00: the forecast the planner uses; 14:00 tomorrow's prices; 14:30 recalibration.
      await ctx.clock.advanceTo(localTimeToUtc(day, 9));
      await writeDrivers(addDays(day, 1));
      await ctx.clock.advanceTo(localTimeToUtc(day, 10));
      const f = await plugin.service.priceForecast(ctx.clock.now());
      if (i > 0) {
        const tomorrow = addDays(day, 1);
        const d1 = onDay(f.slots, tomorrow);
        const calibrated = f.version.startsWith('2.0.0-c');
        // The shipped network forecasts hours; a calibration forecasts at the market's resolution (quarter-hours here).
        const { start, end } = localDayRange(tomorrow);
        expect(d1).toHaveLength(calibrated && marketPeriods(tomorrow) === 96 ? (end - start) / 900_000 : (end - start) / 3_600_000);
        if (tomorrow === '2025-10-26' && calibrated) dstSlots = d1.length;
        if (calibrated) expect(f.driversUsed).toBe(d1.length);
        expect(onDay(f.slots, addDays(day, 2)).length).toBeGreaterThan(0);
        const actual = new Map(onDay(prices, tomorrow).map((s) => [s.start, s.value]));
        const yesterday = onDay(prices, day);
        (d1 as typeof f.slots).forEach((s, k) => {
          const a = actual.get(s.start)!;
          modelAbs += Math.abs(s.value - a);
          naiveAbs += Math.abs((yesterday[k] ?? yesterday.at(-1)!).value - a);
          if (a >= s.low && a <= s.high) inBand++;
          n++;
        });
      }
      await ctx.clock.advanceTo(localTimeToUtc(day, 14));
      await writeDay(addDays(day, 1));
      await ctx.clock.advanceTo(localTimeToUtc(day, 14, 30));
      const r = await plugin.jobs!.recalibration!();
      summaries.push(r.summary);
      if (process.env.DEBUG_RECAL) console.log(day, r.summary);
      expect(r.summary).toMatch(/^(promoted 2\.0\.0-c\d{12}|calibration up to \d{4}-\d{2}-\d{2} not promoted)/);
      expect(plugin.recalibration().status).toMatch(/promoted|kept active/);
      expect((plugin.health().details as { recalibration: { summary: string } }).recalibration.summary).toBe(r.summary);
      // A second run the same day has nothing new to learn.
      if (i === 0) expect((await plugin.jobs!.recalibration!()).summary).toMatch(/not needed|not promoted/);
    }
    const active = plugin.registry.get('price-forecaster');
    expect(active.version).toMatch(/^2\.0\.0-c/);
    expect(summaries.filter((s) => s.startsWith('promoted')).length).toBeGreaterThan(15);
    const card = active.card as { inputs: string[]; evaluation: { backtest: { d1Mae: number; naiveDayMae: number }; cost: { cpuMs: number; calibrations: number } } };
    // The first run replays its whole backtest; the daily ones reuse it and calibrate once, for the new day.
    expect(card.evaluation.cost.calibrations).toBe(1);
    expect(card.inputs).toContain('residual_load_change');
    expect(card.evaluation.backtest.d1Mae).toBeGreaterThan(0);
    expect(card.evaluation.cost.cpuMs).toBeGreaterThan(0);
    // The card shows how the members and same-period-yesterday were weighted (shares of 1, from the last days' errors).
    const weights = (card.evaluation as unknown as { weights: Record<string, Record<string, number>> }).weights;
    const d1Shares = weights['d1-drivers'] ?? weights.d1!;
    expect(Object.keys(d1Shares)).toContain('naive');
    // The shipped TF.js network (trained on ≤ 2024, out of sample here) is weighed as a member beside the ridge windows.
    expect((card.evaluation as unknown as { networkMember: string }).networkMember).toBe('price-forecaster@1.0.0');
    expect(Object.keys(d1Shares)).toContain('net');
    expect(Object.values(d1Shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    expect(dstSlots).toBe(100);
    // Over the 29 forecast days, the recalibrated forecaster beats same-period-yesterday and its band holds most prices.
    expect(modelAbs / n).toBeLessThan(naiveAbs / n);
    expect(inBand / n).toBeGreaterThan(0.6);
    // Versions kept under dataDir are pruned to keepVersions; a rollback makes the one before active.
    const onBox = readdirSync(join(config.dataDir, 'models', 'price-forecaster'));
    expect(onBox.length).toBeLessThanOrEqual(4);
    expect(onBox.every((v) => existsSync(join(config.dataDir, 'models', 'price-forecaster', v, 'calibration.json')))).toBe(true);
    const back = await plugin.registry.rollback('price-forecaster');
    expect(back.version < active.version).toBe(true);
    const again = await plugin.service.priceForecast(ctx.clock.now());
    expect(again.version).toBe(back.version);
    expect(JSON.parse(readFileSync(join(back.dir, 'card.json'), 'utf8')).kind).toBe('lear-ensemble');
    await plugin.stop();
    await ctx.close();
  }, 600_000);
});

describe('the recalibration guard', () => {
  const prices = loadPriceSlots([PRICES]);
  const h = learHistory(prices);
  const lastDay = '2025-11-10';
  const settings = { windows: [14, 28], lambda: 0.05, conformalDays: 7 };
  const shifted = (by: number) => (last: string) => onDay(prices, addDays(last, 1)).map((s) => ({ ...s, value: s.value + by }));

  it('keeps an active model that was better on the recent days, and replaces one that was worse', () => {
    const vsOracle = recalibrate(h, lastDay, settings, { kind: 'network', forecaster: shifted(0) }, { guardDays: 5, tolerance: 0.02 });
    expect(vsOracle.promote).toBe(false);
    expect(vsOracle.guard.active!.mae).toBe(0);
    const vsBad = recalibrate(h, lastDay, settings, { kind: 'network', forecaster: shifted(80) }, { guardDays: 5, tolerance: 0.02 });
    expect(vsBad.promote).toBe(true);
    expect(vsBad.guard.active!.mae).toBe(80);
    // Against a network the candidate is judged out of sample: its backtest, not its fit.
    expect(vsBad.guard.candidate).toEqual({ days: vsBad.backtest.days, slots: vsBad.backtest.slots, mae: vsBad.backtest.mae, naiveDayMae: vsBad.backtest.naiveDayMae });
    expect(vsBad.candidate.lastDay).toBe(lastDay);
  });

  it('skips, without failing, while the store holds less than a week of history', () => {
    const young = learHistory(prices.filter((s) => s.start >= Date.parse('2025-11-06T00:00:00Z')));
    expect(() => recalibrate(young, lastDay, settings, null, { guardDays: 5, tolerance: 0.02 })).toThrow(NotEnoughHistory);
  });
});
