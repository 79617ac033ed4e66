import { describe, expect, it } from 'vitest';
import { resolveContract, type Contract } from '../../gateway/contract/contract.js';
import { powerPeriodOf } from '../../gateway/contract/calendar.js';
import { expectedBill, siteExcess, withContract } from '../../gateway/planner/contract-terms.js';
import { planDocument } from '../../gateway/planner/document.js';
import { scheduleCostExact } from '../../gateway/planner/cost.js';
import { totalCost } from '../../gateway/planner/holding.js';
import { solveGreedy } from '../../gateway/planner/greedy.js';
import { solveMilp } from '../../gateway/planner/milp.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannedRun, PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';
import { planBill } from '../../gateway/site-load/plan-bill.js';
import { localDayRange } from '../../gateway/time/tz.js';

const H = 3_600_000;
const QH = 900_000;
const TZ = 'Europe/Madrid';
const proc = (name: string, extra: Partial<ProcessSpec> = {}): ProcessSpec => ({ name, kw: 60, minutes: 60, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: name, ...extra });

const contract = (over: Partial<Parameters<typeof resolveContract>[0]> = {}): Contract =>
  resolveContract({
    tariff: '6.1TD',
    contractedKw: [200, 200, 220, 220, 250, 250],
    powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4],
    tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002],
    energy: { indexed: { marginEurMwh: 6 } },
    ...over,
  });

/** One local day (hourly slots) of Thursday 30 January 2025: P1/P2 by day, P6 at night. */
function day(prices: number[], processes: ProcessSpec[], over: Partial<PlannerInput> = {}): PlannerInput {
  const t0 = localDayRange('2025-01-30', TZ).start;
  return {
    starts: prices.map((_, i) => t0 + i * H),
    resolutionMs: H,
    priceEurMwh: prices,
    priceSource: prices.map(() => 'published'),
    adderEurKwh: prices.map(() => 0),
    period: prices.map(() => 'P6'),
    outdoorC: prices.map(() => null),
    processes,
    order: [],
    contractedKw: 1000,
    coolingKwPerDegree: 0,
    coolingFromC: 24,
    plantTemp: { baseC: 21, factor: 0.25 },
    haltAtOutdoorC: 35,
    forbidden: prices.map(() => false),
    fixedRuns: [],
    runsToPlace: Object.fromEntries(processes.map((p) => [p.name, 1])),
    orderCredit: {},
    timeLimitMs: 10_000,
    ...over,
  };
}

const PRICES = Array.from({ length: 24 }, (_, h) => (h === 3 ? 10 : 60 + 40 * Math.abs(Math.sin(h / 3))));
/** Base load: 150 kW, 240 kW from 02:00 to 05:00 local (a night shift of the cold rooms), wobbling per quarter-hour. */
const baseKw = (ms: number) => {
  const h = new Date(ms).getUTCHours() + 1;
  return (h >= 2 && h < 5 ? 240 : 150) + ((ms / QH) % 4);
};

/** Brute force over every start of a single run: the cheapest by `cost`. */
function cheapest(inp: PlannerInput, process: string, cost: (runs: PlannedRun[]) => number): { start: number; eur: number } {
  let best = { start: -1, eur: Infinity };
  for (let t = 0; t < inp.starts.length; t++) {
    const eur = cost([{ process, batch: 1, startSlot: t, slots: 1 }]);
    if (eur < best.eur - 1e-9) best = { start: t, eur };
  }
  return best;
}

describe('the planner prices what the bill prices (energy.contract)', () => {
  it('golden: the planner cost of a plan equals the bill of the same quarter-hours (energy + excess), indexed and fixed', async () => {
    for (const c of [contract(), contract({ energy: { fixed: [0.19, 0.17, 0.15, 0.13, 0.11, 0.1] } })]) {
      const inp = withContract(day(PRICES, [proc('conching', { kw: 48, minutes: 300 }), proc('refining', { kw: 42, minutes: 120 })]), c, baseKw, { timezone: TZ, baseSource: 'test' });
      // A plan with an excess in it (refining on the 240 kW night: 240+42+48 > 250 in P6), and the MILP's own plan.
      const handPlan: PlannedRun[] = [
        { process: 'conching', batch: 1, startSlot: 1, slots: 5 },
        { process: 'refining', batch: 1, startSlot: 2, slots: 2 },
      ];
      const milp = await solveMilp(inp);
      expect(milp.status).toBe('Optimal');
      for (const runs of [handPlan, milp.runs]) {
        const quarterHours = inp.site!.quarterHours;
        const prices = new Map(quarterHours.map((q) => [q.start, inp.priceEurMwh[q.slot]!]));
        const planned = new Map<number, number>();
        for (const r of runs) for (let t = inp.starts[r.startSlot]!; t < inp.starts[r.startSlot]! + r.slots * H; t += QH) planned.set(t, (planned.get(t) ?? 0) + inp.processes.find((p) => p.name === r.process)!.kw);
        const withPlan = planBill(c, quarterHours.map((q) => ({ start: q.start, plannedKw: planned.get(q.start) ?? 0, baseKw: q.baseKw })), prices, TZ).months[0]!.part;
        const baseOnly = planBill(c, quarterHours.map((q) => ({ start: q.start, plannedKw: 0, baseKw: q.baseKw })), prices, TZ).months[0]!.part;
        expect(baseOnly.excessEur).toBe(0);
        // The runs' energy as the planner prices it (contract price per slot) = what the plan adds to the bill's energy term.
        expect(scheduleCostExact(inp, runs).eur).toBeCloseTo(withPlan.energyEur - baseOnly.energyEur, 9);
        // The excess term as the planner reports it = the bill's excess term of base + plan.
        expect(siteExcess(inp, runs).exactEur).toBeCloseTo(withPlan.excessEur, 9);
        expect(totalCost(inp, runs).eur).toBeCloseTo(withPlan.energyEur - baseOnly.energyEur + withPlan.excessEur, 2);
        // And the expected bill of the plan document is that bill, term by term.
        expect(expectedBill(inp, runs, TZ)!.months[0]!.part.excessEur).toBeCloseTo(withPlan.excessEur, 9);
      }
      expect(siteExcess(inp, handPlan).quarterHoursAbove).toBeGreaterThan(0);
    }
  });

  it('contracted power per period applies to base + planned load; the plan exceeds it only where the energy saving pays', async () => {
    // 03:00 is by far the cheapest hour, but the base load there is 240 kW: a 60 kW run tops P6's 250 kW.
    const plain = day(PRICES, [proc('mixing')]);
    const dear = withContract(plain, contract(), baseKw, { timezone: TZ, baseSource: 'test' });
    const hour = (runs: PlannedRun[]) => runs[0]!.startSlot;
    // Without the contract: the cheapest hour.
    expect(hour((await solveMilp(plain)).runs)).toBe(3);
    // With it (P6 Kp × tep = 0.026371 × 1.4064 €/kW per quarter-hour, about 50 kW × 4 quarter-hours ≈ 7 €): it moves.
    const moved = await solveMilp(dear);
    expect(hour(moved.runs)).not.toBe(3);
    expect(siteExcess(dear, moved.runs).quarterHoursAbove).toBe(0);
    // The MILP objective is energy + the stated bound: brute force over every start gives the same plan.
    const milpCost = (runs: PlannedRun[]) => scheduleCostExact(dear, runs).eur + siteExcess(dear, runs).boundEur;
    expect(hour(moved.runs)).toBe(cheapest(dear, 'mixing', milpCost).start);
    // A contract whose excess is cheap (tep 0.001 €/kW): the saving pays, the run stays at 03:00 and the excess shows.
    const cheap = withContract(plain, contract({ tepEurKw: 0.001 }), baseKw, { timezone: TZ, baseSource: 'test' });
    const stays = await solveMilp(cheap);
    expect(hour(stays.runs)).toBe(3);
    expect(siteExcess(cheap, stays.runs).quarterHoursAbove).toBe(4);
    expect(siteExcess(cheap, stays.runs).exactEur).toBeGreaterThan(0);
  });

  it('the greedy fallback keeps each quarter-hour within its period, and prices an excess only when nothing else fits', () => {
    const dear = withContract(day(PRICES, [proc('mixing')]), contract(), baseKw, { timezone: TZ, baseSource: 'test' });
    const g = solveGreedy(dear);
    expect(g.infeasible).toBeUndefined();
    expect(siteExcess(dear, g.runs).quarterHoursAbove).toBe(0);
    // Only the night is allowed: every start tops P6 there; the run is still placed, at the cheapest excess + energy.
    const nightOnly = { ...dear, forbidden: dear.starts.map((_, i) => i < 2 || i >= 5) };
    const forced = solveGreedy(nightOnly);
    expect(forced.infeasible).toBeUndefined();
    expect(siteExcess(nightOnly, forced.runs).quarterHoursAbove).toBe(4);
  });

  it('S0 already in the month lowers the bound (its chord slopes), and the plan then accepts an excess sooner', async () => {
    const plain = day(PRICES, [proc('mixing')]);
    const group = `2025-01:P${powerPeriodOf('6.1TD', plain.starts[3]!, TZ)}`;
    // A month already 200 kW over in P6 (S0 = 40 000 kW²): 10 kW more in four quarter-hours cost ~0.005 € exact.
    const s0 = withContract(plain, contract(), baseKw, { timezone: TZ, baseSource: 'test', s0Kw2: { [group]: 40_000 } });
    const runs = (await solveMilp(s0)).runs;
    expect(runs[0]!.startSlot).toBe(3);
    const ex = siteExcess(s0, runs);
    expect(ex.boundEur).toBeGreaterThanOrEqual(ex.exactEur - 1e-12);
    expect(ex.exactEur).toBeCloseTo(0.026371 * 1.4064 * (Math.sqrt(40_000 + ex.quarterHours.filter((q) => q.aboveKw > 0).reduce((s, q) => s + q.aboveKw ** 2, 0)) - 200), 9);
  });

  it('the plan document shows base + planned against the contracted power per quarter-hour and the expected bills', async () => {
    const inp = withContract(day(PRICES, [proc('mixing')]), contract(), baseKw, { timezone: TZ, baseSource: 'forecast.site.base_load' });
    const outcome = await planSchedule(inp);
    const shift: PlannedRun[] = [{ process: 'mixing', batch: 1, startSlot: 8, slots: 1 }];
    const doc = planDocument(inp, outcome, { planId: 'x', version: 1, createdAt: inp.starts[0]!, baselineEur: totalCost(inp, shift).eur, baselineRuns: shift, keptPrevious: false, timezone: TZ, lineOf: (p) => p });
    expect(doc.site).not.toBeNull();
    expect(doc.site!.quarter_hours).toHaveLength(96);
    const q3 = doc.site!.quarter_hours[12]!;
    expect(q3).toMatchObject({ base_kw: 240, period: 'P6', contracted_kw: 250 });
    expect(q3.site_kw).toBeCloseTo(q3.base_kw + q3.planned_kw, 9);
    expect(doc.site!.expected_bill.label).toBe('forecast');
    const plan = expectedBill(inp, outcome.runs, TZ)!;
    expect(doc.site!.expected_bill.plan.total_eur).toBe(plan.months[0]!.amounts.total_eur);
    expect(doc.site!.expected_bill.fixed_shift!.energy_eur).toBe(expectedBill(inp, shift, TZ)!.months[0]!.amounts.energy_eur);
    expect(doc.totals.excess_eur).toBe(totalCost(inp, outcome.runs).excessEur);
  });
});
