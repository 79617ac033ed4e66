import { describe, expect, it } from 'vitest';
import type { DaySource } from '../../gateway/day-source.js';
import { localDayRange } from '../../gateway/tz.js';
import { replayPlugin } from '../../plugins/replay/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

describe('replay source contract (shipped OMIE sample)', () => {
  it('publishes D+1 only after the publication time, keeps DST days and negative prices, and stops at the end of the file', async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { replay: { enabled: true } } });
    const ctx = await pluginContext(config, '2025-03-29T11:00:00Z'); // 12:00 Madrid, before the 13:00 auction result
    const source = replayPlugin.create(ctx) as DaySource;
    await source.start();
    expect(source.wantedDays()).toEqual(['2025-03-29']);
    await source.poll();
    await ctx.clock.advanceTo(Date.parse('2025-03-29T12:05:00Z'));
    expect(source.wantedDays()).toEqual(['2025-03-29', '2025-03-30']);
    await source.poll();
    const spring = localDayRange('2025-03-30');
    expect(await ctx.store.count('omie_es', spring.start, spring.end)).toBe(23);
    await source.backfill(7);
    const week = await ctx.store.read('omie_es', localDayRange('2025-03-22').start, spring.end);
    expect(week).toHaveLength(8 * 24 + 23); // 03-22 … 03-29 backfilled and polled, plus the 23-hour 03-30
    expect(week.some((s) => s.value < 0)).toBe(true);
    expect(await source.ingestDay('2025-05-01')).toMatch(/not published yet \(no recorded values/);
    await ctx.close();
  });
});
