import { describe, expect, it } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { Alerts } from '../../gateway/core/alerts.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { formatUtcIso } from '../../gateway/time/tz.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const at = (iso: string) => Date.parse(iso);

describe('planner: HOLDING_LIMIT while the waiting batch\'s step is placed, then not, then placed again', () => {
  it('raises one alert for the batch, keeps it open through the plans that cannot place the step, and resolves it once the batch no longer waits', async () => {
    // A fresh tester's fault: batch 1 waited for tempering, kept out by heat in some plans (maxPlantTempC) and placed
    // in others; each plan that placed it listed the breach, each that could not listed none (a wait still open at
    // the horizon's end is no breach), so the alert was resolved and raised again at every turn: 42 alerts.
    const now = '2025-11-03T23:00:00Z';
    const ctx = await pluginContext(
      testConfig('http://127.0.0.1:9', {
        planner: {
          horizonHours: 48,
          // Tempering only on a plant floor at most 22 °C: floor = 21 + 0.25 × (outdoor − 21), so above 25 °C outside it may not run.
          processes: [
            { name: 'mixing', kw: 30, minutes: 60, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'mixing' },
            { name: 'refining', kw: 42, minutes: 240, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'refining' },
            { name: 'conching', kw: 48, minutes: 300, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'conching' },
            { name: 'tempering', kw: 36, minutes: 120, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, maxPlantTempC: 22, line: 'tempering' },
          ],
        },
      }),
      now,
    );
    const slots = [...loadHourlyPrices(PRICES)].map(([start, value]) => ({ start, end: start + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: at(now) });
    // Batch 7 left conching at 17:00 UTC and waits for tempering (limit 4 h): any tempering of it is a breach.
    await ctx.store.setValue('planner.started', [
      { process: 'mixing', batch: 7, start: at('2025-11-03T07:00:00Z'), end: at('2025-11-03T08:00:00Z') },
      { process: 'refining', batch: 7, start: at('2025-11-03T08:00:00Z'), end: at('2025-11-03T12:00:00Z') },
      { process: 'conching', batch: 7, start: at('2025-11-03T12:00:00Z'), end: at('2025-11-03T17:00:00Z') },
    ]);
    await ctx.store.setValue('planner.nextBatch', 8);
    // The outdoor forecast: 30 °C (floor 23.25 °C, no tempering) everywhere, or a cool spell of 12 °C from 05:00 to
    // 09:00 UTC on the 4th (floor 18.75 °C) where tempering fits. Rewritten before each re-plan.
    const hours = Array.from({ length: 60 }, (_, i) => at('2025-11-03T18:00:00Z') + i * H);
    const cool = { from: at('2025-11-04T05:00:00Z'), to: at('2025-11-04T09:00:00Z') };
    const forecast = async (coolSpell: boolean) => {
      const temps = hours.map((start) => ({ start, end: start + H, value: coolSpell && start >= cool.from && start < cool.to ? 12 : 30 }));
      await ctx.store.write('fc.combined.temp', 'degC', temps, { source: 'test', fetchedAt: ctx.clock.now() });
    };
    const kept = new Alerts(() => ({ publish: async () => {} }), ctx.clock, ctx.log);
    kept.wire(ctx.bus, 'alerts-test');
    const raised: string[] = [];
    const resolved: string[] = [];
    ctx.bus.on('alert', 'test', (a) => a.code === 'HOLDING_LIMIT' && raised.push(a.message));
    ctx.bus.on('alert.resolved', 'test', (r) => r.code === 'HOLDING_LIMIT' && resolved.push(r.subject));
    const planner = createPlanner(ctx);
    await planner.start();
    const t7 = () => planner.current()!.runs.find((r) => r.process === 'tempering' && r.batch === 7);
    const listed = () => planner.current()!.holding_breaches.filter((b) => b.startsWith('batch 7 waits '));

    // Re-plans every half hour, the cool spell in the forecast every other time.
    const placedAt = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const coolSpell = i % 2 === 0;
      await forecast(coolSpell);
      await planner.jobs!.planning!();
      if (coolSpell) {
        // The step is placed in the cool spell, later than its limit: a breach the plan lists.
        expect(t7(), `plan ${i}`).toBeDefined();
        expect(Date.parse(t7()!.start)).toBeGreaterThanOrEqual(cool.from);
        expect(listed(), `plan ${i}`).toHaveLength(1);
        placedAt.add(t7()!.start);
      } else {
        // No slot cool enough: the step is not placed, so no plan lists a breach; the batch still waits.
        expect(t7(), `plan ${i}`).toBeUndefined();
        expect(listed(), `plan ${i}`).toEqual([]);
      }
      // One alert for batch 7 before tempering, open all along.
      expect(raised.filter((m) => m.startsWith('batch 7 before tempering: ')), `plan ${i}`).toHaveLength(1);
      expect(resolved, `plan ${i}`).toEqual([]);
      await ctx.clock.advance(H / 2);
    }
    const holding = () => kept.recent().filter((a) => a.code === 'HOLDING_LIMIT' && a.message.startsWith('batch 7 before tempering: '));
    expect(holding()).toHaveLength(1);
    expect(holding()[0]!.resolvedAt).toBeNull();

    // Once the tempering of batch 7 has started, the batch no longer waits for it: the alert is resolved, once.
    await forecast(true);
    await planner.jobs!.planning!();
    const start7 = Date.parse(t7()!.start);
    await ctx.clock.advanceTo(start7 + H / 2);
    await planner.jobs!.planning!();
    expect(planner.current()!.runs.find((r) => r.process === 'tempering' && r.batch === 7)!.start).toBe(formatUtcIso(start7));
    expect(resolved).toEqual(['batch 7 before tempering']);
    expect(holding()).toHaveLength(1);
    expect(holding()[0]!.resolvedAt).toBe(ctx.clock.now());
    expect(raised.filter((m) => m.startsWith('batch 7 before tempering: '))).toHaveLength(1);
    await ctx.close();
  }, 180_000);
});
