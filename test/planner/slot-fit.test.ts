import { describe, expect, it } from 'vitest';
import { solveGreedy } from '../../gateway/planner/greedy.js';
import { blockedSlots } from '../../gateway/planner/cost.js';
import { SlotLoad } from '../../gateway/planner/slot-fit.js';
import { continuationStart } from '../../plugins/planner/interruptions.js';
import type { PlannedRun } from '../../gateway/planner/types.js';
import { testPlannerInput, testProcess } from '../helpers/planner-input.js';

// One check of whether a run fits its slots (gateway/planner/slot-fit.ts), for the greedy planner and a line stop's
// restarted run alike. On main the two had their own copies, and they had drifted apart: the restart ignored the
// process's minGapMinutes next to another run of it, and the greedy planner let two processes of one line overlap.
const t0 = Date.parse('2025-06-02T00:00:00Z');
const flat = (n: number) => new Array<number>(n).fill(50);

describe('one slot-fit check for the greedy planner and a line stop\'s restarted run', () => {
  it('a restarted run keeps its process\'s minGapMinutes from the other run of that process, as a placed run does', () => {
    // Conching needs 2 h between runs (cleaning): another conching run is fixed in slots 5-6.
    const inp = testPlannerInput(t0, flat(14), new Array(14).fill(null), [testProcess('conching', 48, 120, { minGapMinutes: 120 })], { runsToPlace: {} });
    const other: PlannedRun = { process: 'conching', batch: 2, startSlot: 5, slots: 2 };
    // From slot 2 a 2-slot run would end at 4, one slot before the other's start: no 2 h gap. Next: after 6 + 2.
    expect(continuationStart(inp, 'conching', 2, 2, [other])).toBe(9);
    expect(continuationStart(inp, 'conching', 0, 2, [other])).toBe(0);
    // The greedy planner, the same input and the same run fixed, nothing before slot 2 (forbidden): slot 9 too.
    const forbidden = flat(14).map((_, t) => t < 2);
    const greedy = solveGreedy({ ...inp, forbidden, fixedRuns: [other], runsToPlace: { conching: 1 } }, { earliest: true });
    expect(greedy.runs.map((r) => r.startSlot)).toEqual([9]);
    const load = new SlotLoad(inp, [other]);
    const blocked = blockedSlots(inp, 'conching');
    expect([2, 3, 4, 7, 8, 9].map((s) => load.fits('conching', s, 2, blocked))).toEqual([false, false, false, false, false, true]);
  });

  it('two processes on one line never run at once, in the greedy planner and in a restarted run', () => {
    // Refining and conching share the "refiner-conche" machine: a line runs one thing at a time.
    const processes = [testProcess('refining', 42, 120, { line: 'refiner-conche' }), testProcess('conching', 48, 120, { line: 'refiner-conche' })];
    const inp = testPlannerInput(t0, flat(10), new Array(10).fill(null), processes, { order: ['refining'], runsToPlace: { refining: 1, conching: 1 } });
    const plan = solveGreedy(inp, { earliest: true });
    const [a, b] = [...plan.runs].sort((x, y) => x.startSlot - y.startSlot);
    expect(plan.runs).toHaveLength(2);
    expect(b!.startSlot).toBeGreaterThanOrEqual(a!.startSlot + a!.slots);
    expect(continuationStart(inp, 'conching', 0, 2, [{ process: 'refining', batch: 1, startSlot: 0, slots: 3 }])).toBe(3);
  });

  it('keeps the contracted power with cooling at the power cap\'s temperature, the same figure in both', () => {
    // 100 kW contracted; a 60 kW run fixed in slots 0-3: a 48 kW run fits from slot 4 on, in either.
    const processes = [testProcess('refining', 60, 240), testProcess('conching', 48, 120)];
    const inp = testPlannerInput(t0, flat(10), new Array(10).fill(null), processes, { contractedKw: 100, order: ['conching'] });
    const fixed: PlannedRun = { process: 'refining', batch: 1, startSlot: 0, slots: 4 };
    expect(continuationStart(inp, 'conching', 0, 2, [fixed])).toBe(4);
    const greedy = solveGreedy({ ...inp, fixedRuns: [fixed], runsToPlace: { refining: 0, conching: 1 } }, { earliest: true });
    expect(greedy.runs.map((r) => r.startSlot)).toEqual([4]);
  });
});
