import { describe, expect, it } from 'vitest';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { violations } from '../../gateway/planner/cost.js';
import { totalCost } from '../../gateway/planner/holding.js';
import { budgetMoves, moveBudgetOf } from '../../gateway/planner/move-budget.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannedRun, PlannerInput } from '../../gateway/planner/types.js';
import { planWithinMoves } from '../../gateway/planner/within-moves.js';
import { testConfig } from '../helpers/context.js';

const H = 3_600_000;

/** Every k-subset of `xs` (in order). */
function* subsets(xs: readonly number[], k: number, from = 0): Generator<number[]> {
  if (!k) return yield [];
  for (let i = from; i <= xs.length - k; i++) for (const rest of subsets(xs, k - 1, i + 1)) yield [xs[i]!, ...rest];
}

/** Batches moved, counted here on its own: batch k is the k-th run of each process by start. */
function moved(before: readonly PlannedRun[], after: readonly PlannedRun[]): number {
  const pos = (runs: readonly PlannedRun[], p: string) => runs.filter((r) => r.process === p).map((r) => r.startSlot).sort((a, b) => a - b);
  const out = new Set<number>();
  for (const p of new Set(before.map((r) => r.process))) pos(before, p).forEach((s, k) => pos(after, p)[k] !== s && out.add(k));
  return out.size;
}

describe('move budget in the MILP (gateway/planner/move-budget.ts)', () => {
  const config = testConfig('http://127.0.0.1:9', {
    planner: {
      processes: [
        { name: 'mixing', kw: 30, minutes: 60, batchesPerDay: 3, uninterrupted: true, minGapMinutes: 0, line: 'mixing' },
        { name: 'conching', kw: 48, minutes: 120, batchesPerDay: 3, uninterrupted: true, minGapMinutes: 0, line: 'conching' },
      ],
      order: ['mixing', 'conching'],
      forbidden: [],
      productionWindows: [],
    },
  });
  const t0 = Date.parse('2025-04-15T00:00:00Z');
  const starts = Array.from({ length: 12 }, (_, i) => t0 + i * H);
  const make = (prices: number[]): PlannerInput => {
    const input = buildPlannerInput(config.planner, { starts, resolutionMs: H, priceEurMwh: prices, priceSource: starts.map(() => 'published' as const), outdoorC: starts.map(() => 15), runsToPlace: { mixing: 3, conching: 3 } }, 'Europe/Madrid');
    return { ...input, forbidden: starts.map(() => false), timeLimitMs: 10_000 };
  };
  // Forecast: cheap early. Published: cheap late, uneven, so the free re-plan moves every batch and each batch moved
  // saves a different amount.
  const forecast = make([10, 12, 14, 16, 20, 30, 60, 80, 90, 100, 110, 120]);
  const published = make([61, 57, 66, 54, 52, 49, 33, 41, 27, 24, 35, 18]);

  /** Every schedule of 3 mixing and 3 conching runs the constraints allow, with its cost on `published`. */
  const all: Array<{ runs: PlannedRun[]; eur: number }> = [];
  for (const m of subsets([...starts.keys()], 3)) {
    for (const c of subsets([...starts.keys()].filter((t) => t + 2 <= starts.length), 3)) {
      const runs: PlannedRun[] = [...m.map((s, k) => ({ process: 'mixing', batch: k + 1, startSlot: s, slots: 1 })), ...c.map((s, k) => ({ process: 'conching', batch: k + 1, startSlot: s, slots: 2 }))];
      if (!violations(published, runs).length) all.push({ runs, eur: totalCost(published, runs).eur });
    }
  }

  it('moves exactly the best ≤ N batches: the cost equals the brute-force optimum over all plans within N moves', async () => {
    const provisional = (await planSchedule(forecast)).runs;
    const free = await planSchedule(published);
    expect(all.length).toBeGreaterThan(1000);
    // The case is worth checking: the free re-plan moves all 3 batches, and keeping the plan whole costs more.
    expect(moved(provisional, free.runs)).toBe(3);
    const keepEur = totalCost(published, provisional).eur;
    expect(keepEur).toBeGreaterThan(free.costEur + 1);
    const best = (n: number) => Math.min(...all.filter((p) => moved(provisional, p.runs) <= n).map((p) => p.eur));
    const budget = moveBudgetOf(provisional, 0);
    expect(budget.batches.map((b) => b.steps.length)).toEqual([2, 2, 2]);
    for (const n of [0, 1, 2, 3]) {
      const within = await planWithinMoves(published, provisional, n);
      expect(within, `N = ${n}`).toBeDefined();
      expect(within!.moved.length).toBeLessThanOrEqual(n);
      expect(moved(provisional, within!.outcome.runs)).toBe(within!.moved.length);
      expect(budgetMoves(moveBudgetOf(provisional, n), within!.outcome.runs)).toEqual(within!.moved);
      expect(violations(published, within!.outcome.runs)).toEqual([]);
      expect(within!.outcome.costEur, `N = ${n}`).toBeCloseTo(best(n), 6);
    }
    // N = 0 is the plan kept whole; N = 3 is the free re-plan.
    expect(best(0)).toBeCloseTo(keepEur, 6);
    expect(best(3)).toBeCloseTo(free.costEur, 6);
    // What all-or-nothing gives up: with N = 1 and N = 2 the budget saves more than keeping the plan whole (the
    // free re-plan, moving 3, is not allowed there).
    expect(best(1)).toBeLessThan(keepEur - 0.01);
    expect(best(2)).toBeLessThan(best(1) - 0.01);
  }, 120_000);

  it('gives nothing to the greedy planner (no solver time): the caller keeps its all-or-nothing rule', async () => {
    const provisional = (await planSchedule(forecast)).runs;
    expect(await planWithinMoves({ ...published, timeLimitMs: 0 }, provisional, 1)).toBeUndefined();
  });
});
