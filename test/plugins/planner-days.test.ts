import { describe, expect, it } from 'vitest';
import { createPlanner } from '../../plugins/planner/index.js';
import { localDate } from '../../gateway/time/tz.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const TZ = 'Europe/Madrid';

/** Runs per process and local day in a plan document. */
function startsPerDay(runs: ReadonlyArray<{ process: string; start: string }>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of runs) {
    const day = localDate(Date.parse(r.start), TZ);
    (out[day] ??= {})[r.process] = (out[day]![r.process] ?? 0) + 1;
  }
  return out;
}

describe('planner: each local day keeps its own quota over a 48 h horizon', () => {
  it.each([
    ['the solver', 5000],
    ['the greedy fallback', 0],
  ])('does not push today’s batches into a cheaper tomorrow, nor start runs in the horizon’s partial last day (%s)', async (_, timeLimitMs) => {
    // 06:00 local on 15 July: today is dear (190-200 €/MWh), tomorrow and the day after are cheap (10-20 €/MWh).
    const now = '2025-07-15T04:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, timeLimitMs } }), now);
    const start = Date.parse(now);
    const slots = Array.from({ length: 48 }, (_, i) => {
      const t = start + i * H;
      return { start: t, end: t + H, value: (localDate(t, TZ) === '2025-07-15' ? 190 : 10) + (i % 11) };
    });
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: start });
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    expect(doc.method).toBe(timeLimitMs ? 'milp' : 'greedy');
    expect(doc.infeasible, doc.runs.map((r) => `${r.process}#${r.batch} ${r.start_local}`).join(' ')).toEqual([]);
    const perDay = startsPerDay(doc.runs);
    const two = { mixing: 2, refining: 2, conching: 2, tempering: 2 };
    expect(perDay['2025-07-15']).toEqual(two);
    expect(perDay['2025-07-16']).toEqual(two);
    expect(perDay['2025-07-17']).toBeUndefined();
    await ctx.close();
  });

  it('late in a day with nothing run, today’s batches still enter and go on after midnight; tomorrow keeps its own two', async () => {
    // 21:00 local: nothing has run today and three hours are left; the two batches enter now and finish tomorrow.
    const now = '2025-07-15T19:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48 } }), now);
    const start = Date.parse(now);
    const slots = Array.from({ length: 48 }, (_, i) => ({ start: start + i * H, end: start + (i + 1) * H, value: 50 + (i % 7) }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: start });
    const planner = createPlanner(ctx);
    await planner.start();
    const result = await planner.jobs!.planning!();
    const doc = planner.current()!;
    const perDay = startsPerDay(doc.runs);
    expect(doc.infeasible).toEqual([]);
    expect(perDay['2025-07-15']?.mixing).toBe(2);
    expect(perDay['2025-07-16']).toEqual({ mixing: 2, refining: 2, conching: 2, tempering: 2 });
    expect(result?.summary).toMatch(/today's batches go on after midnight: 1 of 2 refining, 2 of 2 conching, 2 of 2 tempering run\(s\) start tomorrow/);
    await ctx.close();
  });

  it('names the batches that cannot enter the line today as a shortfall, and still plans tomorrow in full', async () => {
    // 22:00 local, nothing run today, and production is forbidden from 22:00 to midnight every day.
    const now = '2025-07-15T20:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, forbidden: [{ weekdays: [0, 1, 2, 3, 4, 5, 6], from: '22:00', to: '24:00' }] } }), now);
    const start = Date.parse(now);
    const slots = Array.from({ length: 48 }, (_, i) => ({ start: start + i * H, end: start + (i + 1) * H, value: 50 + (i % 7) }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: start });
    const alerts: string[] = [];
    ctx.bus.on('alert', 'test', (a) => alerts.push(`${a.code}: ${a.message}`));
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    expect(doc.infeasible).toEqual(['today (2025-07-15): 2 of 2 mixing run(s) cannot start before midnight; the later days are planned in full']);
    expect(alerts.some((a) => a.startsWith('PLAN_INFEASIBLE: today (2025-07-15): 2 of 2 mixing'))).toBe(true);
    expect(startsPerDay(doc.runs)['2025-07-16']).toEqual({ mixing: 2, refining: 2, conching: 2, tempering: 2 });
    await ctx.close();
  });
});
