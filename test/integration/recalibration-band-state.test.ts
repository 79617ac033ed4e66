import { readFileSync, writeFileSync } from 'node:fs';
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

describe('the adaptive band state on the live gateway (real LevelDB, fake clock)', () => {
  it('is kept in calibration.json and carried on by the next daily run after a restart', async () => {
    const config = testConfig('http://127.0.0.1:9', { models: { recalibration: { windows: [14, 28], conformalDays: 14, guardDays: 4, bandStep: 0.1, bandScaleDays: 7 } } });
    const first = '2025-10-02';
    const ctx = await pluginContext(config, new Date(localTimeToUtc(first, 9)).toISOString());
    const prices = loadPriceSlots([PRICES]);
    const writeDay = (date: string) => ctx.store.write('omie_es', 'EUR/MWh', onDay(prices, date), { source: 'test', fetchedAt: ctx.clock.now() });
    for (let d = '2025-08-20'; d <= first; d = addDays(d, 1)) await writeDay(d);
    let plugin = createPredictions(ctx);
    await plugin.start();
    let day = first;
    // Daily runs until one promotes a calibration (the first may lose to the shipped network on the guard's days).
    for (let i = 0; i < 8 && !plugin.registry.get('price-forecaster').version.startsWith('2.0.0-c'); i++, day = addDays(day, 1)) {
      await ctx.clock.advanceTo(localTimeToUtc(day, 14));
      await writeDay(addDays(day, 1));
      await ctx.clock.advanceTo(localTimeToUtc(day, 14, 30));
      await plugin.jobs!.recalibration!();
    }
    const active = plugin.registry.get('price-forecaster');
    expect(active.version).toMatch(/^2\.0\.0-c/);
    const file = join(active.dir, 'calibration.json');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as LearCalibration;
    expect(stored.bandState!.through).toBe(stored.lastDay);
    expect(stored.bandScales!.d1).toBeGreaterThan(0);
    // The card and /models/status show the band's levels and scales.
    expect((plugin.recalibration().metrics as { band: { levels: BandState['levels'] } }).band.levels).toEqual(stored.bandState!.levels);

    // Restart: a new plugin (no in-memory backtest) on the same data directory, with a state far from the nominal one
    // on disk, as a calibration that went through a turbulent month would hold.
    await plugin.stop();
    const turbulent: BandState = { through: stored.lastDay, levels: { d1: [0.01, 0.99], d2: [0.02, 0.98], d1Drivers: [0.1, 0.9] } };
    writeFileSync(file, JSON.stringify({ ...stored, bandState: turbulent }));
    plugin = createPredictions(ctx);
    await plugin.start();
    await ctx.clock.advanceTo(localTimeToUtc(day, 14));
    await writeDay(addDays(day, 1));
    await ctx.clock.advanceTo(localTimeToUtc(day, 14, 30));
    const r = await plugin.jobs!.recalibration!();
    expect(r.summary).toMatch(/^(promoted|calibration up to)/);
    const levels = (plugin.recalibration().metrics as { band: { levels: BandState['levels'] } }).band.levels;
    // One published day moves each level by at most γ × 0.9: the run carried on from the stored state, not from 10/90 %.
    expect(Math.abs(levels.d1[0] - 0.01)).toBeLessThanOrEqual(0.09 + 1e-9);
    expect(Math.abs(levels.d1[1] - 0.99)).toBeLessThanOrEqual(0.09 + 1e-9);
    expect(Math.abs(levels.d2[1] - 0.98)).toBeLessThanOrEqual(0.09 + 1e-9);
    await plugin.stop();
    await ctx.close();
  }, 300_000);
});
