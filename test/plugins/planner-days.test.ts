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

/** Prices for `hours` hourly slots from `now`: `value(t)` €/MWh. */
async function storePrices(ctx: Awaited<ReturnType<typeof pluginContext>>, now: string, hours: number, value: (t: number, i: number) => number): Promise<void> {
  const start = Date.parse(now);
  const slots = Array.from({ length: hours }, (_, i) => ({ start: start + i * H, end: start + (i + 1) * H, value: value(start + i * H, i) }));
  await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: start });
}

const count = (runs: ReadonlyArray<{ process: string }>, process: string) => runs.filter((r) => r.process === process).length;

describe('planner: each local day keeps its own quota over a 48 h horizon', () => {
  it.each([
    ['the solver', 5000],
    ['the greedy fallback', 0],
  ])('does not push today’s batches into a cheaper tomorrow, nor start runs in the horizon’s partial last day (%s)', async (_, timeLimitMs) => {
    // 06:00 local on 15 July: today is dear (190-200 €/MWh), tomorrow and the day after are cheap (10-20 €/MWh).
    const now = '2025-07-15T04:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, timeLimitMs } }), now);
    await storePrices(ctx, now, 48, (t, i) => (localDate(t, TZ) === '2025-07-15' ? 190 : 10) + (i % 11));
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    expect(doc.method).toBe(timeLimitMs ? 'milp' : 'greedy');
    expect(doc.infeasible).toEqual([]);
    const perDay = startsPerDay(doc.runs);
    // Today's quota is today's; tomorrow's batches enter tomorrow, their later steps may run into the next morning.
    expect(perDay['2025-07-15']).toEqual({ mixing: 2, refining: 2, conching: 2, tempering: 2 });
    expect(perDay['2025-07-16']?.mixing).toBe(2);
    expect(perDay['2025-07-17']?.mixing).toBeUndefined();
    for (const p of ['refining', 'conching', 'tempering']) expect(count(doc.runs, p)).toBe(4);
    await ctx.close();
  });

  it('late in a day with nothing run, today’s batches still enter and go on after midnight; tomorrow keeps its own two', async () => {
    const now = '2025-07-15T19:00:00Z'; // 21:00 local
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48 } }), now);
    await storePrices(ctx, now, 48, (_, i) => 50 + (i % 7));
    const planner = createPlanner(ctx);
    await planner.start();
    const result = await planner.jobs!.planning!();
    const doc = planner.current()!;
    expect(doc.infeasible).toEqual([]);
    expect(startsPerDay(doc.runs)['2025-07-15']).toEqual({ mixing: 2, refining: 1 });
    expect(startsPerDay(doc.runs)['2025-07-16']?.mixing).toBe(2);
    for (const p of ['refining', 'conching', 'tempering']) expect(count(doc.runs, p)).toBe(4);
    expect(result?.summary).toMatch(/today's batches go on after midnight: 1 of 2 refining, 2 of 2 conching, 2 of 2 tempering run\(s\) of them start later/);
    await ctx.close();
  });

  it('names the batches that cannot enter the line today as a shortfall, and still plans tomorrow in full', async () => {
    // 22:00 local, nothing run today, and production is forbidden from 22:00 to midnight every day.
    const now = '2025-07-15T20:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, forbidden: [{ weekdays: [0, 1, 2, 3, 4, 5, 6], from: '22:00', to: '24:00' }] } }), now);
    await storePrices(ctx, now, 48, (_, i) => 50 + (i % 7));
    const alerts: string[] = [];
    ctx.bus.on('alert', 'test', (a) => alerts.push(`${a.code}: ${a.message}`));
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    expect(doc.infeasible).toEqual(['today (2025-07-15): 2 of 2 mixing run(s) cannot start before midnight; the later days are planned in full']);
    expect(alerts.some((a) => a.startsWith('PLAN_INFEASIBLE: today (2025-07-15): 2 of 2 mixing'))).toBe(true);
    expect(startsPerDay(doc.runs)['2025-07-16']?.mixing).toBe(2);
    for (const p of ['refining', 'conching', 'tempering']) expect(count(doc.runs, p)).toBe(2);
    await ctx.close();
  });

  it('carries a batch that heat keeps from tempering before midnight into tomorrow, instead of planning nothing', async () => {
    // From 00:00 local, tempering is blocked (34 °C outdoors) from 12:00 to 01:00 every day.
    const now = '2025-07-14T22:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48 } }), now);
    await storePrices(ctx, now, 49, (_, i) => 50 + (i % 7));
    const start = Date.parse(now);
    const temps = Array.from({ length: 50 }, (_, i) => {
      const t = start + i * H;
      const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', hourCycle: 'h23' }).format(t));
      return { start: t, end: t + H, value: hour >= 12 || hour < 1 ? 34 : 20 };
    });
    await ctx.store.write('fc.combined.temp', 'degC', temps, { source: 'test', fetchedAt: start });
    const planner = createPlanner(ctx);
    await planner.start();
    const result = await planner.jobs!.planning!();
    const doc = planner.current()!;
    // Today's second batch can only be tempered after 01:00: it is carried into tomorrow, not a reason to plan nothing.
    expect(doc.infeasible).toEqual([]);
    expect(startsPerDay(doc.runs)['2025-07-15']).toEqual({ mixing: 2, refining: 2, conching: 2, tempering: 1 });
    // Tomorrow's second batch cannot be tempered before the horizon ends (00:00 on the 17th): left to the next plans.
    expect(count(doc.runs, 'mixing')).toBe(4);
    expect(count(doc.runs, 'tempering')).toBe(3);
    expect(result?.summary).toMatch(/today's batches go on after midnight: 1 of 2 tempering run\(s\) of them start later/);
    await ctx.close();
  });

  it('tempers a batch today when its next batch waits for a stopped conche until tomorrow', async () => {
    // 10:00 local 16 July: both batches mixed and refined, batch 1 conching until 11:00; the conche is stopped until
    // 15:00 tomorrow. Today is cheaper than tomorrow, the tempering line is free.
    const now = '2025-07-16T08:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48 } }), now);
    await storePrices(ctx, now, 49, (_, i) => (i < 14 ? 20 : 80) + (i % 7));
    const at = Date.parse;
    const run = (process: string, batch: number, s: string, hours: number) => ({ process, batch, start: at(s), end: at(s) + hours * H });
    await ctx.store.setValue('planner.started', [
      run('mixing', 1, '2025-07-15T23:00:00Z', 1),
      run('refining', 1, '2025-07-16T00:00:00Z', 4),
      run('mixing', 2, '2025-07-16T01:00:00Z', 1),
      run('refining', 2, '2025-07-16T04:00:00Z', 4),
      run('conching', 1, '2025-07-16T04:00:00Z', 5),
    ]);
    await ctx.store.setValue('planner.overrides', [{ line: 'conching', command: 'stop', until: at('2025-07-17T13:00:00Z'), at: at(now) }]);
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    const tempering = doc.runs.filter((r) => r.process === 'tempering').map((r) => r.start_local).sort();
    expect(tempering[0]!.slice(0, 10)).toBe('2025-07-16');
    await ctx.close();
  });
});
