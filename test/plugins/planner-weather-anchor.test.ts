import { describe, expect, it } from 'vitest';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;

describe('the live planner anchors the temperature forecast on the last observed hour', () => {
  // A forecast of 32 °C all day (no limit: halt 35 °C, tempering stops above a 24 °C floor = 33 °C outdoor) while
  // the last three hours were observed 4 °C warmer than forecast: the next hour is 32 + 0.8 × 4 = 35.2 °C (Halt),
  // and the floor stays above 24 °C for six hours (32 + 0.8^6 × 4 = 33.05 °C).
  const run = async (decay: number) => {
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 24, weatherErrorDecay: decay } }), '2025-07-15T04:00:00Z');
    const now = Date.parse('2025-07-15T04:00:00Z');
    const hours = (from: number, n: number, value: (i: number) => number) => Array.from({ length: n }, (_, i) => ({ start: from + i * H, end: from + (i + 1) * H, value: value(i) }));
    await ctx.store.write('omie_es', 'EUR/MWh', hours(now, 24, (i) => 60 + (i % 5)), { source: 'test', fetchedAt: now });
    await ctx.store.write('fc.combined.temp', 'degC', hours(now - 6 * H, 30, () => 32), { source: 'test', fetchedAt: now - 6 * H });
    await ctx.store.write('obs.combined.temp', 'degC', hours(now - 3 * H, 3, () => 36), { source: 'test', fetchedAt: now });
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    await ctx.close();
    return { doc, now };
  };

  it('halts the next hour and keeps tempering out of the hours the observed error still makes too warm', async () => {
    const { doc, now } = await run(0.8);
    expect(doc.hours[0]!.recommendation).toBe('Halt');
    expect(doc.hours.slice(1).some((h) => h.recommendation === 'Halt')).toBe(false);
    const tempering = doc.runs.filter((r) => r.process === 'tempering');
    expect(tempering.length).toBeGreaterThan(0);
    expect(tempering.every((r) => Date.parse(r.start) >= now + 6 * H)).toBe(true);
  });

  it('with planner.weatherErrorDecay 0 plans on the forecast as it is (no Halt)', async () => {
    const { doc } = await run(0);
    expect(doc.hours.some((h) => h.recommendation === 'Halt')).toBe(false);
  });
});
