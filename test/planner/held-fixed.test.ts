import { describe, expect, it } from 'vitest';
import { planDocument } from '../../gateway/planner/document.js';
import { heldIntervals, holdingBreaches, totalCost } from '../../gateway/planner/holding.js';
import type { PlanOutcome } from '../../gateway/planner/plan.js';
import type { PlannedRun, PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';

// The demo's fault (breaker3, plan #146): a plan that keeps the plan in force (its runs become the input's fixed
// runs, frozen.ts), or one the greedy fallback made, showed `waited_min: null` on every run and no holding breach
// although tempering waited 6 h with a 4 h limit. A run's wait is a fact of the runs, whatever placed them.
const H = 3_600_000;
const T0 = Date.parse('2018-01-13T00:00:00Z');
const proc = (name: string, extra: Partial<ProcessSpec> = {}): ProcessSpec => ({ name, kw: 100, minutes: 60, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: name, ...extra });

function input(over: Partial<PlannerInput> = {}): PlannerInput {
  const n = 24;
  return {
    starts: Array.from({ length: n }, (_, i) => T0 + i * H),
    resolutionMs: H,
    priceEurMwh: Array.from({ length: n }, () => 100),
    priceSource: Array.from({ length: n }, () => 'published' as const),
    adderEurKwh: Array.from({ length: n }, () => 0),
    period: Array.from({ length: n }, () => 'P3'),
    outdoorC: Array.from({ length: n }, () => null),
    processes: [proc('conching', { minutes: 240 }), proc('tempering', { maxWaitMinutes: 240, holdKw: 10 })],
    order: ['conching', 'tempering'],
    contractedKw: 1000,
    coolingKwPerDegree: 0,
    coolingFromC: 24,
    plantTemp: { baseC: 21, factor: 0.25 },
    haltAtOutdoorC: 35,
    forbidden: Array.from({ length: n }, () => false),
    fixedRuns: [],
    runsToPlace: { conching: 0, tempering: 0 },
    orderCredit: {},
    timeLimitMs: 0,
    ...over,
  };
}

const meta = { planId: 'p#1', version: 1, createdAt: T0, baselineEur: null, keptPrevious: true, timezone: 'Europe/Madrid', lineOf: (p: string) => p };
const outcome = (runs: PlannedRun[], method: PlanOutcome['method']): PlanOutcome => ({ method, status: 'Optimal', runs, solveMs: 1, costEur: 0, kwh: 0 });

describe('a run’s wait whatever placed it (kept, greedy, solver)', () => {
  // Batch 14: conching kept at 01:00-05:00, tempering kept at 11:00 → waits 6 h for a 4 h limit.
  // Batch 13: tempering started at 23:00 the day before (slot -1), its conching ended at 18:00 (slot -6): 5 h, history.
  const kept: PlannedRun[] = [
    { process: 'tempering', batch: 13, startSlot: -1, slots: 2 },
    { process: 'conching', batch: 14, startSlot: 1, slots: 4 },
    { process: 'tempering', batch: 14, startSlot: 11, slots: 1 },
  ];
  const inp = input({ fixedRuns: kept, orderCredit: { tempering: 1 }, fixedWaitSince: { tempering: { 13: -6 } } });

  it('reports waited_min of fixed (kept, started) runs and lists the breach the kept run makes, in a kept-previous plan', () => {
    for (const method of ['greedy', 'milp'] as const) {
      const doc = planDocument(inp, outcome([], method), meta);
      const t = (batch: number) => doc.runs.find((r) => r.process === 'tempering' && r.batch === batch)!;
      expect(t(14).waited_min).toBe(360);
      expect(t(14).max_wait_min).toBe(240);
      expect(t(13).waited_min).toBe(300);
      // The kept run's breach is this plan's; the started run's is history and not listed again at every re-plan.
      expect(doc.holding_breaches).toEqual(['batch 14 waits 6 h for tempering (limit 4 h)']);
      // Every run of a later step with a known previous step has its wait: no null where a wait is known.
      expect(doc.runs.filter((r) => r.process === 'tempering').every((r) => r.waited_min !== null)).toBe(true);
      // The holding the kept wait costs is in the totals (6 h × 10 kW = 60 kWh at 0.1 €/kWh).
      expect(doc.totals.holding_kwh).toBe(60);
      expect(doc.totals.holding_eur).toBe(6);
    }
  });

  it('the same wait is found when the runs are planned instead of fixed (the document does not depend on the path)', () => {
    const planned = input({ runsToPlace: { conching: 1, tempering: 1 } });
    const runs: PlannedRun[] = [
      { process: 'conching', batch: 14, startSlot: 1, slots: 4 },
      { process: 'tempering', batch: 14, startSlot: 11, slots: 1 },
    ];
    const doc = planDocument(planned, outcome(runs, 'greedy'), { ...meta, keptPrevious: false });
    expect(doc.runs.find((r) => r.process === 'tempering')!.waited_min).toBe(360);
    expect(doc.holding_breaches).toEqual(['batch 14 waits 6 h for tempering (limit 4 h)']);
    expect(totalCost(planned, runs).holdKwh).toBe(60);
  });

  it('pairs a fixed run with its batch’s previous step by batch id, not by position', () => {
    // Two kept conching runs; tempering kept for batch 21 (the second one) waits 1 h, not 7 h after the first.
    const ids = input({
      fixedRuns: [
        { process: 'conching', batch: 20, startSlot: 0, slots: 4 },
        { process: 'conching', batch: 21, startSlot: 6, slots: 4 },
        { process: 'tempering', batch: 21, startSlot: 11, slots: 1 },
      ],
    });
    const held = heldIntervals(ids, []).filter((h) => !h.open);
    expect(held.map((h) => [h.batch, h.toSlot - h.fromSlot])).toEqual([[21, 1]]);
    expect(holdingBreaches(held)).toEqual([]);
  });
});
