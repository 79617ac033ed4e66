import { describe, expect, it } from 'vitest';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { solveMilp } from '../../gateway/planner/milp.js';
import { testConfig } from '../helpers/context.js';

const H = 3_600_000;

describe('risk-aware planning: CVaR over price scenarios in the MILP (gateway/planner/risk.ts)', () => {
  it('takes the surely cheap hour over the cheaper-on-average but uncertain one when the risk weighs', async () => {
    const config = testConfig('http://127.0.0.1:9', { planner: { processes: [{ name: 'mixing', kw: 100, minutes: 60, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: 'mixing' }], order: ['mixing'] } });
    const t0 = Date.parse('2025-04-15T00:00:00Z');
    const starts = [0, 1, 2, 3].map((i) => t0 + i * H);
    // Hour 1: 50 €/MWh in every scenario. Hour 2: 48 on average, but 0 or 96.
    const prices = [200, 50, 48, 200];
    const input = buildPlannerInput(config.planner, { starts, resolutionMs: H, priceEurMwh: prices, priceSource: starts.map(() => 'forecast' as const), outdoorC: starts.map(() => 15), runsToPlace: { mixing: 1 } }, 'Europe/Madrid');
    input.timeLimitMs = 5000;
    const plain = await solveMilp(input);
    expect(plain.runs.map((r) => r.startSlot)).toEqual([2]);
    const scenarios = Array.from({ length: 10 }, (_, s) => [200, 50, s % 2 ? 96 : 0, 200]);
    // The expectation alone changes nothing (linear cost): weight 0.
    expect((await solveMilp({ ...input, risk: { scenarios, weight: 0, alpha: 0.8 } })).runs.map((r) => r.startSlot)).toEqual([2]);
    const averse = await solveMilp({ ...input, risk: { scenarios, weight: 1, alpha: 0.8 } });
    expect(averse.status).toBe('Optimal');
    expect(averse.runs.map((r) => r.startSlot)).toEqual([1]);
  });
});
