import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPriceSlots } from '../../models/eval/datasets.js';
import type { BandState, LearCalibration } from '../../gateway/inference/price-lear.js';
import type { Slot } from '../../gateway/series/slots.js';
import { addDays, localDayRange, localTimeToUtc } from '../../gateway/time/tz.js';
import { createPredictions } from '../../plugins/predictions/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';
import { FIXTURES } from '../helpers/fixture-server.js';

// Real OMIE prices (test/fixtures/PROVENANCE.md).
const PRICES = join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz');
const onDay = (slots: readonly Slot[], date: string) => {
  const { start, end } = localDayRange(date);
  return slots.filter((s) => s.start >= start && s.start < end);
};
type BandMetrics = { band: { levels: BandState['levels']; scales: { d1: number; d2: number }; offsets: LearCalibration['bands'] } };

describe('the adaptive band on the live gateway (real LevelDB, fake clock)', () => {
  it('is kept in calibration.json, and a restarted gateway makes the band the uninterrupted one made', async () => {
    const overrides = { models: { recalibration: { windows: [14, 28], conformalDays: 10, weightDays: 5, guardDays: 4, tolerance: 0.5, bandStep: 0.1, bandScaleDays: 5 } } };
    const prices = loadPriceSlots([PRICES]);
    const first = '2025-10-06';
    const days = 4;
    /** A gateway with prices up to `first`; `daily`: recalibrated every afternoon from `first` (its backtest kept in memory between runs), else only on the last day. */
    const run = async (daily: boolean) => {
      const config = testConfig('http://127.0.0.1:9', overrides);
      const ctx = await pluginContext(config, new Date(localTimeToUtc(first, 9)).toISOString());
      const writeDay = (date: string) => ctx.store.write('omie_es', 'EUR/MWh', onDay(prices, date), { source: 'test', fetchedAt: ctx.clock.now() });
      for (let d = '2025-08-20'; d <= first; d = addDays(d, 1)) await writeDay(d);
      const plugin = createPredictions(ctx);
      await plugin.start();
      const calibrations: number[] = [];
      for (let i = 0; i < days; i++) {
        const day = addDays(first, i);
        await ctx.clock.advanceTo(localTimeToUtc(day, 14));
        await writeDay(addDays(day, 1));
        await ctx.clock.advanceTo(localTimeToUtc(day, 14, 30));
        if (!daily && i < days - 1) continue;
        const r = await plugin.jobs!.recalibration!();
        expect(r.summary).toMatch(/^(promoted|calibration up to)/);
        calibrations.push((plugin.recalibration().metrics as { cost: { calibrations: number } }).cost.calibrations);
      }
      const metrics = plugin.recalibration().metrics as BandMetrics;
      const active = plugin.registry.get('price-forecaster');
      const stored = active.version.startsWith('2.0.0-c') ? (JSON.parse(readFileSync(join(active.dir, 'calibration.json'), 'utf8')) as LearCalibration) : undefined;
      await plugin.stop();
      await ctx.close();
      return { metrics, stored, calibrations };
    };
    const uninterrupted = await run(true);
    const restarted = await run(false);
    // The daily runs calibrated once each after the first; the restarted one replayed its whole warm-up.
    expect(uninterrupted.calibrations.slice(1)).toEqual([1, 1, 1]);
    expect(restarted.calibrations[0]).toBeGreaterThan(2 * 10);
    // Same band, same levels, same error scales.
    expect(restarted.metrics.band).toEqual(uninterrupted.metrics.band);
    expect(uninterrupted.metrics.band.offsets.d1![0]).toBeLessThan(uninterrupted.metrics.band.offsets.d1![1]);
    expect(uninterrupted.metrics.band.scales.d1).toBeGreaterThan(0);
    // What the box forecasts with is on disk: the calibration keeps its band, levels and scales.
    const stored = uninterrupted.stored!;
    expect(stored).toBeDefined();
    expect(stored.bandState!.through).toBe(stored.lastDay);
    expect(stored.bandScales!.d1).toBeGreaterThan(0);
    expect(stored.bands.d1![0]).toBeLessThanOrEqual(stored.bands.d1![1]);
  }, 300_000);
});
