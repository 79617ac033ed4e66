import { describe, expect, it } from 'vitest';
import { violations } from '../../gateway/planner/cost.js';
import { heldIntervals, holdingBreaches, describeBreach, totalCost } from '../../gateway/planner/holding.js';
import { solveGreedy } from '../../gateway/planner/greedy.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannedRun, PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';

const H = 3_600_000;
const proc = (name: string, extra: Partial<ProcessSpec> = {}): ProcessSpec => ({ name, kw: 10, minutes: 60, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: name, ...extra });

function input(prices: number[], processes: ProcessSpec[], over: Partial<PlannerInput> = {}): PlannerInput {
  const t0 = Date.parse('2025-06-02T00:00:00Z');
  return {
    starts: prices.map((_, i) => t0 + i * H),
    resolutionMs: H,
    priceEurMwh: prices,
    priceSource: prices.map(() => 'published'),
    adderEurKwh: prices.map(() => 0),
    period: prices.map(() => 'P3'),
    outdoorC: prices.map(() => null),
    processes,
    order: processes.map((p) => p.name),
    contractedKw: 1000,
    coolingKwPerDegree: 0,
    coolingFromC: 24,
    plantTemp: { baseC: 21, factor: 0.25 },
    haltAtOutdoorC: 35,
    forbidden: prices.map(() => false),
    fixedRuns: [],
    runsToPlace: Object.fromEntries(processes.map((p) => [p.name, 1])),
    orderCredit: {},
    timeLimitMs: 5000,
    ...over,
  };
}

/** The cheapest schedule of one run of a then one of b that breaks nothing and waits at most `limit` slots. */
function bruteForce(inp: PlannerInput, limit = Infinity): number {
  let best = Infinity;
  for (let a = 0; a < inp.starts.length; a++)
    for (let b = a + 1; b < inp.starts.length; b++) {
      const runs: PlannedRun[] = [
        { process: 'a', batch: 1, startSlot: a, slots: 1 },
        { process: 'b', batch: 1, startSlot: b, slots: 1 },
      ];
      if (!violations(inp, runs).length && b - a - 1 <= limit) best = Math.min(best, totalCost(inp, runs).eur);
    }
  return best;
}

// Cheap at 00:00 and 10:00, dear in between except a little less at 09:00.
const PRICES = [10, 200, 200, 200, 200, 200, 200, 200, 200, 150, 10, 200];
const wait = (runs: PlannedRun[]) => runs.find((r) => r.process === 'b')!.startSlot - (runs.find((r) => r.process === 'a')!.startSlot + 1);

describe('holding between steps of a batch', () => {
  it('without a limit the mass waits for the cheap hour; a 2 h limit keeps it within 2 h, in the solver and the greedy planner', async () => {
    const free = input(PRICES, [proc('a'), proc('b')]);
    expect(wait((await planSchedule(free)).runs)).toBe(9);
    const limited = input(PRICES, [proc('a'), proc('b', { maxWaitMinutes: 120 })]);
    const milp = await planSchedule(limited);
    expect(milp.method).toBe('milp');
    expect(wait(milp.runs)).toBeLessThanOrEqual(2);
    expect(milp.costEur).toBeCloseTo(bruteForce(limited, 2), 2);
    const greedy = solveGreedy(limited);
    expect(wait(greedy.runs)).toBeLessThanOrEqual(2);
    expect(holdingBreaches(heldIntervals(limited, greedy.runs))).toEqual([]);
  });

  it('counts the energy a held tank draws in the cost, and the solver weighs it (equal to brute force)', async () => {
    const inp = input(PRICES, [proc('a'), proc('b', { holdKw: 5 })]);
    const plan = await planSchedule(inp);
    expect(plan.costEur).toBeCloseTo(bruteForce(inp), 2);
    const held = totalCost(inp, plan.runs);
    // 9 h of 5 kW at 0.2 €/kWh (and 0.15 at 09:00) would cost 8.75 €: the solver holds the mass less, and says what holding costs.
    expect(wait(plan.runs)).toBeLessThan(9);
    expect(held.holdKwh).toBeCloseTo(5 * wait(plan.runs), 6);
  });

  it('reports a wait it cannot avoid instead of failing the plan', async () => {
    // The mass of a batch already mixed at 00:00 cannot be refined before 06:00 (the line is stopped): 5 h > 2 h.
    const inp = input(PRICES, [proc('a'), proc('b', { maxWaitMinutes: 120, blockedUntil: Date.parse('2025-06-02T06:00:00Z') })], { fixedRuns: [{ process: 'a', batch: 7, startSlot: 0, slots: 1 }], runsToPlace: { a: 0, b: 1 } });
    for (const plan of [await planSchedule(inp), await planSchedule({ ...inp, timeLimitMs: 0 })]) {
      expect(plan.infeasible).toBeUndefined();
      const breaches = holdingBreaches(heldIntervals(inp, plan.runs.map((r) => ({ ...r, batch: 7 }))));
      expect(breaches.map((h) => describeBreach(inp, h))).toEqual(['batch 7 waits 5 h for b (limit 2 h)']);
    }
  });
});
