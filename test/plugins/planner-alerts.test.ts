import { describe, expect, it } from 'vitest';
import type { BusEvents } from '../../gateway/core/event-bus.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;

describe('planner alerts', () => {
  it('fires price spike, ambient limit and Halt with stable codes, and marks hot hours Halt', async () => {
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 24 } }), '2025-07-15T04:00:00Z');
    const alerts: Array<BusEvents['alert']> = [];
    ctx.bus.on('alert', 'test', (a) => alerts.push(a));
    const start = Date.parse('2025-07-15T04:00:00Z');
    const slots = Array.from({ length: 24 }, (_, i) => ({ start: start + i * H, end: start + (i + 1) * H, value: i === 14 ? 250 : 60 + (i % 5) }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: start });
    await ctx.store.write('fc.combined.temp', 'degC', slots.map((s, i) => ({ ...s, value: i >= 10 && i < 14 ? 38 : 26 })), { source: 'test', fetchedAt: start });
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const codes = new Set(alerts.map((a) => a.code));
    expect(codes).toEqual(new Set(['PRICE_SPIKE', 'AMBIENT_LIMIT', 'HALT']));
    expect(alerts.find((a) => a.code === 'AMBIENT_LIMIT')!.level).toBe('critical');
    const doc = planner.current()!;
    expect(doc.hours.slice(10, 14).every((h) => h.recommendation === 'Halt' && h.running.length === 0)).toBe(true);
    expect(doc.runs.every((r) => Date.parse(r.end) <= start + 10 * H || Date.parse(r.start) >= start + 14 * H)).toBe(true);
    // A restarted planner knows the plan in force (and so which runs have started) and carries its version on.
    const restarted = createPlanner(ctx);
    await restarted.start();
    expect(restarted.current()?.plan_id).toBe(doc.plan_id);
    await ctx.clock.advance(H);
    await restarted.jobs!.planning!();
    expect(restarted.current()!.version).toBe(doc.version + 1);
    await ctx.close();
  });
});
