import { describe, expect, it } from 'vitest';
import { batchesMoved, liveReplan, noisyTemperatures } from '../../models/eval/simulate-live.js';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import { totalCost } from '../../gateway/planner/holding.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { testConfig } from '../helpers/context.js';

const H = 3_600_000;

describe('--weather-forecast noisy: the observed temperatures with a day-ahead forecast error', () => {
  it('has the bias and spread it says (−0.1 °C, 1.2 °C), is the same for a seed and a date, and keeps gaps', () => {
    const errors: number[] = [];
    for (let d = 0; d < 365; d++) {
      const date = new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10);
      const noisy = noisyTemperatures(new Array(24).fill(20), date, 7);
      errors.push(...noisy.map((x) => x! - 20));
    }
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((a, b) => a + (b - mean) ** 2, 0) / errors.length);
    expect(mean).toBeGreaterThan(-0.25);
    expect(mean).toBeLessThan(0.05);
    expect(sd).toBeGreaterThan(1.05);
    expect(sd).toBeLessThan(1.35);
    expect(noisyTemperatures([10, 11, 12], '2025-05-01', 1)).toEqual(noisyTemperatures([10, 11, 12], '2025-05-01', 1));
    expect(noisyTemperatures([10, 11, 12], '2025-05-01', 2)).not.toEqual(noisyTemperatures([10, 11, 12], '2025-05-01', 1));
    expect(noisyTemperatures([10, null, 12], '2025-05-01', 1)[1]).toBeNull();
  });
});

describe('the re-plan after the auction keeps the move limit', () => {
  it('takes the re-plan when it moves at most the limit of batches, else the best plan within the limit (MILP), else (greedy) the provisional plan', async () => {
    const config = testConfig('http://127.0.0.1:9');
    const { start, end } = localDayRange('2025-04-15', 'Europe/Madrid');
    const starts: number[] = [];
    for (let t = start; t < end; t += H) starts.push(t);
    const runsToPlace = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.batchesPerDay]));
    const base = { starts, resolutionMs: H, priceSource: starts.map(() => 'published' as const), outdoorC: starts.map(() => 15), runsToPlace };
    // Forecast: cheap mornings; published: cheap evenings. The provisional plan runs early, the re-plan late.
    const hour = (i: number) => new Date(starts[i]!).getUTCHours();
    const forecast = buildPlannerInput(config.planner, { ...base, priceEurMwh: starts.map((_, i) => (hour(i) < 12 ? 10 : 150)) }, 'Europe/Madrid');
    const published = buildPlannerInput(config.planner, { ...base, priceEurMwh: starts.map((_, i) => (hour(i) < 12 ? 150 : 10)) }, 'Europe/Madrid');
    const provisional = (await planSchedule(forecast)).runs;
    const free = await liveReplan(published, provisional, 2);
    expect(free.moves).toBe(2);
    expect(batchesMoved(provisional, free.runs)).toBe(2);
    // Over the limit, the MILP moves the best batch it may (move-budget.ts), not none: cheaper than the provisional
    // plan kept whole, dearer than the free re-plan. (Before the budget: the provisional plan kept, 0 moves.)
    const one = await liveReplan(published, provisional, 1);
    expect(one.moves).toBe(1);
    expect(one.budgeted).toBe(true);
    expect(batchesMoved(provisional, one.runs)).toBe(1);
    const eur = (runs: typeof provisional) => totalCost(published, runs).eur;
    expect(eur(one.runs)).toBeLessThan(eur(provisional) - 0.01);
    expect(eur(one.runs)).toBeGreaterThan(eur(free.runs) + 0.01);
    // The greedy planner (no solver time) has no budget: all or nothing, the provisional plan kept.
    const held = await liveReplan({ ...published, timeLimitMs: 0 }, provisional, 1);
    expect(held.moves).toBe(0);
    expect(held.runs).toEqual(provisional);
    expect(batchesMoved(provisional, provisional)).toBe(0);
  });
});
