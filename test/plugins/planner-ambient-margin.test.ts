import { describe, expect, it } from 'vitest';
import { createPlanner } from '../../plugins/planner/index.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;

describe('the live planner checks the ambient limits at the forecast + z × σ(lead) (chance constraint)', () => {
  // Forecast 30 °C, but 34.5 °C (0.5 °C under the 35 °C halt) in hours +8..+13, where the price is 5 €/MWh (else
  // 60-64). The last three hours were observed as forecast: the anchor is the hour before now, error 0.
  const run = async (z: number, stakeEur = 0) => {
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 24, ambientRisk: { z, sigmaC: 1.2, stakeEur } } }), '2025-07-15T04:00:00Z');
    const now = Date.parse('2025-07-15T04:00:00Z');
    const hot = (t: number) => t >= now + 8 * H && t < now + 14 * H;
    const hours = (from: number, n: number, value: (t: number) => number) => Array.from({ length: n }, (_, i) => ({ start: from + i * H, end: from + (i + 1) * H, value: value(from + i * H) }));
    await ctx.store.write('omie_es', 'EUR/MWh', hours(now, 24, (t) => (hot(t) ? 5 : 60 + ((t / H) % 5))), { source: 'test', fetchedAt: now });
    await ctx.store.write('fc.combined.temp', 'degC', hours(now - 6 * H, 30, (t) => (hot(t) ? 34.5 : 30)), { source: 'test', fetchedAt: now - 6 * H });
    await ctx.store.write('obs.combined.temp', 'degC', hours(now - 3 * H, 3, () => 30), { source: 'test', fetchedAt: now });
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const doc = planner.current()!;
    await ctx.close();
    const inHot = doc.runs.filter((r) => Array.from({ length: (Date.parse(r.end) - Date.parse(r.start)) / H }, (_, k) => Date.parse(r.start) + k * H).some(hot));
    return { doc, now, inHot };
  };

  it('z 0 runs in the cheap 34.5 °C hours; z 0.84 keeps every run out of them, and the document says which margin it used', async () => {
    const point = await run(0);
    expect(point.inHot.length).toBeGreaterThan(0);
    // Off (z 0 and no stake): no margin in the document.
    expect(point.doc.ambient_margin).toBeUndefined();
    const chance = await run(0.84);
    expect(chance.doc.infeasible).toEqual([]);
    expect(chance.inHot).toEqual([]);
    const m = chance.doc.ambient_margin!;
    expect(m).toMatchObject({ z: 0.84, sigma_c: 1.2, rho: 0.8, anchor: '2025-07-15T03:00:00Z', relaxed: null });
    // One hour after the anchor: 0.84 × 1.2 × √(1 − 0.8²) = 0.60 → 0.7 °C; nine: × √(1 − 0.8^18) = 0.999 → 1.0 °C
    // (34.5 + 1.0 reaches the halt); far on, 0.84 × 1.2 = 1.008 → 1.1 °C. Rounded up to 0.1 °C.
    expect(m.margin_c[0]).toBe(0.7);
    expect(m.margin_c[8]).toBe(1);
    expect(m.margin_c.at(-1)).toBe(1.1);
    for (let i = 1; i < m.margin_c.length; i++) expect(m.margin_c[i]!).toBeGreaterThanOrEqual(m.margin_c[i - 1]!);
    expect(m.summary).toMatch(/z 0\.84 × σ\(lead\)/);
    // The hot hours stay no Halt (the plant's rule is at the forecast, 34.5 < 35 °C).
    expect(chance.doc.hours.some((h) => h.recommendation === 'Halt')).toBe(false);
  }, 60_000);

  it('the ambient risk priced: the live planner gives the solvers the stake (z 0), and the document says so', async () => {
    // The day's work here is too tight to leave the warm hours (test/planner/ambient-risk.test.ts shows the choice
    // itself); this checks the live path: the stake and σ(lead) reach the plan, which says what it priced.
    const priced = await run(0, 40);
    expect(priced.doc.infeasible).toEqual([]);
    expect(priced.doc.ambient_margin).toMatchObject({ z: 0, stake_eur: 40, anchor: '2025-07-15T03:00:00Z' });
    expect(priced.doc.ambient_margin!.margin_c.every((m) => m === 0)).toBe(true);
    expect(priced.doc.ambient_margin!.summary).toMatch(/priced at 40 €/);
    // The reported cost never holds the risk: the same runs cost the same with and without the stake.
    const point = await run(0);
    if (JSON.stringify(point.doc.runs) === JSON.stringify(priced.doc.runs)) expect(priced.doc.totals.cost_eur).toBe(point.doc.totals.cost_eur);
  }, 60_000);
});
