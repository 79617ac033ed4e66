import { describe, expect, it } from 'vitest';
import { planDocument } from '../../gateway/planner/document.js';
import { totalCost } from '../../gateway/planner/holding.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannerInput } from '../../gateway/planner/types.js';
import { testPlannerInput, testProcess } from '../helpers/planner-input.js';

const H = 3_600_000;
const T0 = Date.UTC(2018, 0, 9, 0); // 01:00 Madrid
const TZ = 'Europe/Madrid';

/** refining (2 h) then conching (3 h), one batch, a 10 h holding limit, refining fixed at 00:00-02:00 UTC. */
function input(prices: number[], over: Partial<PlannerInput> = {}, outdoor: Array<number | null> = prices.map(() => 10)): PlannerInput {
  const processes = [testProcess('refining', 42, 120), testProcess('conching', 48, 180, { maxWaitMinutes: 600, holdKw: 4 })];
  return testPlannerInput(T0, prices, outdoor, processes, { fixedRuns: [{ process: 'refining', batch: 7, startSlot: 0, slots: 2 }], runsToPlace: { refining: 0, conching: 1 }, orderCredit: { conching: 0 }, ...over });
}

async function conchingOf(x: PlannerInput) {
  const outcome = await planSchedule(x);
  expect(outcome.infeasible).toBeUndefined();
  const runs = outcome.runs.map((r) => ({ ...r, batch: 7 }));
  const doc = planDocument(x, { ...outcome, runs }, { planId: 't', version: 1, createdAt: T0, baselineEur: null, keptPrevious: false, timezone: TZ, lineOf: (p) => p });
  const run = doc.runs.find((r) => r.process === 'conching')!;
  return { run, runs, outcome };
}

/**
 * A fresh tester saw conching waits of ~13 h in the demo without a word of why. Every wait over an hour in the plan
 * document now has its reason (runs[].wait_reason): the rule that rules out each earlier start, or what an earlier
 * start would cost more. On main the field does not exist.
 */
describe('the reason of a wait between two steps', () => {
  it('names cheaper hours with the € an earlier start costs more, holding included', async () => {
    // Dear right after refining, cheap from 07:00 UTC.
    const prices = [60, 60, 200, 200, 200, 200, 200, 20, 20, 20, 20, 20, 60, 60, 60, 60];
    const x = input(prices);
    const { run, runs } = await conchingOf(x);
    expect(run.start).toBe('2018-01-09T07:00:00Z');
    expect(run.waited_min).toBe(300);
    expect(run.wait_reason).toMatch(/^starting at 01-09 07:00, the cheapest earlier start that breaks nothing, costs (\d+\.\d\d) € more \(the plan waits for cheaper hours/);
    // The figure is the plan's own cost of that start minus the plan's (totalCost: energy, holding, excess).
    const more = Number(/costs (\d+\.\d\d) €/.exec(run.wait_reason!)![1]);
    const moved = runs.map((r) => ({ ...r, startSlot: 6 }));
    expect(more).toBeCloseTo(totalCost(x, moved).eur - totalCost(x, runs).eur, 2);
  });

  it('names forbidden hours, heat and the frozen window with their local times', async () => {
    const flat = Array.from({ length: 16 }, () => 50);
    const forbidden = flat.map((_, t) => t >= 2 && t < 6);
    const a = await conchingOf(input(flat, { forbidden }));
    expect(a.run.start).toBe('2018-01-09T06:00:00Z');
    expect(a.run.wait_reason).toBe('01-09 03:00-07:00: forbidden hours from 01-09 03:00 (planner.forbidden, productionWindows)');

    const hot = flat.map((_, t) => (t >= 3 && t < 7 ? 36 : 10));
    const b = await conchingOf(input(flat, {}, hot));
    expect(b.run.start).toBe('2018-01-09T07:00:00Z');
    expect(b.run.wait_reason).toMatch(/^01-09 03:00-08:00: heat: 36 °C outside at 01-09 0[45]:00 halts production \(planner.haltAtOutdoorC 35 °C\)/);

    const frozen = input(flat);
    frozen.processes = frozen.processes.map((p) => (p.name === 'conching' ? { ...p, frozenUntil: T0 + 5 * H } : p));
    const c = await conchingOf(frozen);
    expect(c.run.start).toBe('2018-01-09T05:00:00Z');
    expect(c.run.wait_reason).toBe('01-09 03:00-06:00: nothing new starts before 06:00 (the frozen window, planner.frozenMinutes)');
  });

  it('says nothing for a wait of an hour or less', async () => {
    const { run } = await conchingOf(input([60, 60, 55, 50, 50, 50, 60, 60, 60, 60, 60, 60]));
    expect(run.waited_min).toBeLessThanOrEqual(60);
    expect(run.wait_reason).toBeUndefined();
  });
});
