import { describe, expect, it } from 'vitest';
import { scheduleCost, violations } from '../../gateway/planner/cost.js';
import { solveMilp } from '../../gateway/planner/milp.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import { TARIFF_20TD, TARIFF_30TD, tariffPeriod } from '../../gateway/planner/tariff.js';
import type { DayQuota, PlannedRun, PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';
import { seededRandom } from '../../gateway/inference/seeded-random.js';
import { localDayRange } from '../../gateway/time/tz.js';

const H = 3_600_000;
const proc = (name: string, kw: number, minutes: number, batchesPerDay = 1, extra: Partial<ProcessSpec> = {}): ProcessSpec => ({ name, kw, minutes, batchesPerDay, uninterrupted: true, minGapMinutes: 0, line: name, ...extra });

function input(prices: number[], processes: ProcessSpec[], over: Partial<PlannerInput> = {}): PlannerInput {
  const resolutionMs = over.resolutionMs ?? H;
  const t0 = Date.parse('2025-06-02T00:00:00Z');
  return {
    starts: prices.map((_, i) => t0 + i * resolutionMs),
    resolutionMs,
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
    runsToPlace: Object.fromEntries(processes.map((p) => [p.name, p.batchesPerDay])),
    orderCredit: {},
    timeLimitMs: 5000,
    ...over,
  };
}

/** Every feasible combination of starts, for small instances. */
function bruteForce(inp: PlannerInput): number {
  const T = inp.starts.length;
  const lists = inp.processes.flatMap((p) => Array.from({ length: inp.runsToPlace[p.name] ?? 0 }, () => p));
  let best = Infinity;
  const runs: PlannedRun[] = [];
  const rec = (i: number) => {
    if (i === lists.length) {
      if (!violations(inp, runs).length) best = Math.min(best, scheduleCost(inp, runs).eur);
      return;
    }
    const p = lists[i]!;
    const L = Math.ceil((p.minutes * 60_000) / inp.resolutionMs);
    const prevSame = runs.filter((r) => r.process === p.name).at(-1);
    for (let t = prevSame ? prevSame.startSlot + 1 : 0; t + L <= T; t++) {
      runs.push({ process: p.name, batch: runs.filter((r) => r.process === p.name).length + 1, startSlot: t, slots: L });
      rec(i + 1);
      runs.pop();
    }
  };
  rec(0);
  return Math.round(best * 100) / 100;
}

describe('planner', () => {
  it('puts a run in the cheapest window', async () => {
    const prices = [90, 80, 70, 20, 10, 60, 95, 15, 99, 100];
    const plan = await planSchedule(input(prices, [proc('refining', 42, 120)]));
    expect(plan.method).toBe('milp');
    expect(plan.runs).toEqual([{ process: 'refining', batch: 1, startSlot: 3, slots: 2 }]);
    expect(plan.costEur).toBeCloseTo(42 * (0.02 + 0.01), 6);
  });

  it('meets the daily quota, keeps each run in one block, and avoids forbidden hours', async () => {
    const prices = [10, 10, 10, 10, 10, 50, 50, 50, 50, 50, 5, 5, 5, 5, 5, 60];
    const forbidden = prices.map((_, i) => i === 12);
    const plan = await planSchedule(input(prices, [proc('conching', 48, 300, 2, { minGapMinutes: 0 })], { forbidden }));
    expect(plan.runs).toHaveLength(2);
    expect(plan.runs.every((r) => r.slots === 5)).toBe(true);
    expect(plan.runs.some((r) => r.startSlot <= 12 && r.startSlot + 5 > 12)).toBe(false);
    expect(violations(input(prices, [proc('conching', 48, 300, 2)], { forbidden }), plan.runs)).toEqual([]);
  });

  it('respects the power cap and the batch order', async () => {
    const prices = [5, 5, 100, 100, 100, 100, 100, 100];
    const inp = input(prices, [proc('mixing', 30, 60), proc('refining', 42, 120)], { contractedKw: 60 });
    const plan = await planSchedule(inp);
    const mix = plan.runs.find((r) => r.process === 'mixing')!;
    const ref = plan.runs.find((r) => r.process === 'refining')!;
    expect(ref.startSlot).toBeGreaterThanOrEqual(mix.startSlot + mix.slots);
    expect(violations(inp, plan.runs)).toEqual([]);
    const capped = input([5, 5, 5, 100, 100, 100], [proc('a', 40, 120), proc('b', 40, 120)], { order: [], contractedKw: 60 });
    const p2 = await planSchedule(capped);
    expect(violations(capped, p2.runs)).toEqual([]);
    const [a, b] = p2.runs;
    expect(a!.startSlot + a!.slots <= b!.startSlot || b!.startSlot + b!.slots <= a!.startSlot).toBe(true);
  });

  it('uses negative prices, and plans over DST days of 23 and 25 hours at 15 minutes', async () => {
    const neg = await planSchedule(input([20, -5, -10, 30], [proc('mixing', 30, 60)]));
    expect(neg.runs[0]!.startSlot).toBe(2);
    expect(neg.costEur).toBeLessThan(0);
    for (const [date, quarters] of [['2026-03-29', 92], ['2025-10-26', 100]] as const) {
      const { start, end } = localDayRange(date);
      const n = (end - start) / (15 * 60_000);
      expect(n).toBe(quarters);
      const prices = Array.from({ length: n }, (_, i) => 50 + 40 * Math.sin(i / 10));
      const inp = { ...input(prices, [proc('mixing', 30, 60), proc('refining', 42, 240), proc('conching', 48, 300), proc('tempering', 36, 120)], { resolutionMs: 15 * 60_000 }), starts: prices.map((_, i) => start + i * 15 * 60_000) };
      const plan = await planSchedule(inp);
      expect(plan.runs).toHaveLength(4);
      expect(violations(inp, plan.runs)).toEqual([]);
      expect(Math.max(...plan.runs.map((r) => r.startSlot + r.slots))).toBeLessThanOrEqual(quarters);
    }
  });

  it('reports infeasible demand with the constraint that cannot be met', async () => {
    const tooMany = await planSchedule(input([1, 2, 3, 4, 5, 6], [proc('conching', 48, 300, 2)]));
    expect(tooMany.status).toBe('Infeasible');
    expect(tooMany.infeasible!.join()).toMatch(/conching: quota of 2 runs of 300 min does not fit; at most 1 fit/);
    const tooBig = await planSchedule(input([1, 2, 3], [proc('refining', 42, 60)], { contractedKw: 30 }));
    expect(tooBig.infeasible!.join()).toMatch(/needs 42 kW, more than the contracted 30 kW/);
    const together = await planSchedule(input([1, 1, 1, 1], [proc('a', 30, 120), proc('b', 30, 120)], { order: [], contractedKw: 40, forbidden: [false, false, false, true] }));
    expect(together.infeasible!.join()).toMatch(/binding one is the contracted power of 40 kW/);
  });

  it('equals brute force on small random instances', async () => {
    const random = seededRandom(7);
    for (let k = 0; k < 12; k++) {
      const prices = Array.from({ length: 9 }, () => Math.round(random() * 200 - 30));
      const inp = input(prices, [proc('mixing', 30, 60, 1 + Math.floor(random() * 2)), proc('refining', 42, 120, 1)], { contractedKw: 60 + Math.floor(random() * 40) });
      const milp = await solveMilp(inp);
      expect(violations(inp, milp.runs)).toEqual([]);
      expect(scheduleCost(inp, milp.runs).eur).toBeCloseTo(bruteForce(inp), 2);
    }
  });

  it('keeps each day’s quota inside its day: the solver equals brute force, the greedy plan and the checks agree', async () => {
    // Two "days" of 6 slots; the second is cheaper, so without day quotas every run would move there.
    const days = (a: number, b: number): DayQuota[] => [
      { day: 'D', fromSlot: 0, toSlot: 6, runs: { mixing: a, refining: a } },
      { day: 'D+1', fromSlot: 6, toSlot: 12, runs: { mixing: b, refining: b } },
    ];
    const random = seededRandom(11);
    for (let k = 0; k < 6; k++) {
      const prices = Array.from({ length: 12 }, (_, i) => Math.round((i < 6 ? 150 : 20) + random() * 60));
      const dq = days(1, 1 + (k % 2));
      const inp = input(prices, [proc('mixing', 30, 60, 2), proc('refining', 42, 120, 2)], { dayQuotas: dq, runsToPlace: { mixing: 2 + (k % 2), refining: 2 + (k % 2) } });
      const milp = await solveMilp(inp);
      expect(violations(inp, milp.runs)).toEqual([]);
      expect(milp.runs.filter((r) => r.startSlot < 6)).toHaveLength(2);
      expect(scheduleCost(inp, milp.runs).eur).toBeCloseTo(bruteForce(inp), 2);
      const greedy = await planSchedule({ ...inp, timeLimitMs: 0 });
      expect(greedy.method).toBe('greedy');
      expect(violations(inp, greedy.runs), JSON.stringify({ prices, greedy })).toEqual([]);
    }
    const inp = input([1, 1, 1, 1], [proc('mixing', 30, 60, 2)], { dayQuotas: [{ day: '2025-06-02', fromSlot: 0, toSlot: 2, runs: { mixing: 1 } }, { day: '2025-06-03', fromSlot: 2, toSlot: 4, runs: { mixing: 1 } }] });
    expect(violations(inp, [{ process: 'mixing', batch: 1, startSlot: 2, slots: 1 }, { process: 'mixing', batch: 2, startSlot: 3, slots: 1 }]).join()).toMatch(/mixing: 0 run\(s\) start on 2025-06-02, its quota there is 1/);
    const closed = await planSchedule({ ...inp, forbidden: [true, true, false, false] });
    expect(closed.infeasible!.join()).toMatch(/mixing: no allowed start on 2025-06-02 for its 1 run\(s\) there/);
  });

  it('falls back to a feasible greedy plan when the solver gets no time', async () => {
    const prices = Array.from({ length: 24 }, (_, i) => 100 - i);
    const inp = input(prices, [proc('mixing', 30, 60), proc('refining', 42, 240), proc('conching', 48, 300), proc('tempering', 36, 120)], { timeLimitMs: 0 });
    const plan = await planSchedule(inp);
    expect(plan.method).toBe('greedy');
    expect(plan.fallbackReason).toMatch(/no time/);
    expect(plan.runs).toHaveLength(4);
    expect(violations(inp, plan.runs)).toEqual([]);
  });

  it('reads tariff periods from data: 2.0TD and a six-period calendar, holidays by rule', () => {
    const at = (iso: string) => Date.parse(iso);
    expect(tariffPeriod(TARIFF_20TD, at('2025-06-03T09:30:00Z'))).toBe('P1'); // Tuesday 11:30 Madrid
    expect(tariffPeriod(TARIFF_20TD, at('2025-06-07T09:30:00Z'))).toBe('P3'); // Saturday
    expect(tariffPeriod(TARIFF_20TD, at('2025-12-08T09:30:00Z'))).toBe('P3'); // Immaculate Conception
    expect(tariffPeriod(TARIFF_30TD, at('2025-01-14T09:30:00Z'))).toBe('P1'); // January weekday 10:30
    expect(tariffPeriod(TARIFF_30TD, at('2025-04-15T09:30:00Z'))).toBe('P4'); // April weekday 11:30
    expect(tariffPeriod(TARIFF_30TD, at('2025-04-15T01:00:00Z'))).toBe('P6');
  });
});
