/**
 * The planner keeps weighing the quarter-hour excess formula (its MILP bound and S0 model it), but for a maxímetro
 * supply the plan document says so in words (`site.excess_rule`, `site.excess_note`), never a silent mismatch with
 * the bill; and the power guard's excess alert names the rule the bill charges. On main the fields do not exist and
 * the plan's bill is whatever computeBill gives: this file fails there.
 */
import { describe, expect, it } from 'vitest';
import { resolveContract } from '../../gateway/contract/contract.js';
import { withContract } from '../../gateway/planner/contract-terms.js';
import { sitePlanView } from '../../gateway/planner/contract-view.js';
import type { PlannedRun, PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';
import { planBill } from '../../gateway/site-load/plan-bill.js';
import { monthRange } from '../../gateway/bill/bill.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { testPlannerInput } from '../helpers/planner-input.js';

const TZ = 'Europe/Madrid';
const TEP = 1.4064;

function day(processes: ProcessSpec[]): PlannerInput {
  const t0 = localDayRange('2025-01-30', TZ).start; // Thursday, alta season
  const prices = Array.from({ length: 24 }, () => 60);
  return testPlannerInput(t0, prices, prices.map(() => null), processes, { period: prices.map(() => 'P6'), order: [], runsToPlace: Object.fromEntries(processes.map((p) => [p.name, 1])), timeLimitMs: 10_000 });
}

const contract = (kw: number[]) =>
  resolveContract({ tariff: '3.0TD', contractedKw: kw, powerPriceEurKwYear: [19.4, 10.2, 4.3, 3.7, 2.4, 1.4], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { fixed: [0.14, 0.12, 0.1, 0.09, 0.08, 0.07] } });

describe('the plan document of a maxímetro supply', () => {
  // 30 kW base; a 16 kW run 10:00-11:00 local (P1): 46 kW in four quarter-hours against Pc1 = 40 kW.
  const proc: ProcessSpec = { name: 'mixing', kw: 16, minutes: 60, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: 'mixing' };
  const runs: PlannedRun[] = [{ process: 'mixing', batch: 1, startSlot: 10, slots: 1 }];

  it('says the excess it weighs is the quarter-hour formula while the bill charges the maxímetro', () => {
    const inp = withContract(day([proc]), contract([40, 40, 40, 40, 40, 40]), () => 30, { timezone: TZ, baseSource: 'test' });
    const view = sitePlanView(inp, runs, null, TZ)!;
    expect(view.excess_rule).toBe('quarter-hour');
    expect(view.excess_note).toMatch(/quarter-hour formula .* maxímetro supply charges 2 × \(Pmax − Pc\) × tep × days \/ 30/);
    // The plan's expected excess is the quarter-hour formula on the horizon: 1 × tep × sqrt(4 × 6²) = 12 × tep.
    expect(view.expected_bill.plan.excess_quarter_hours).toBe(4);
    expect(view.expected_bill.plan.excess_eur).toBe(Math.round(12 * TEP * 100) / 100);
  });

  it('has no note for a quarter-hour supply', () => {
    const inp = withContract(day([proc]), contract([40, 40, 40, 40, 40, 60]), () => 30, { timezone: TZ, baseSource: 'test' });
    const view = sitePlanView(inp, runs, null, TZ)!;
    expect(view.excess_rule).toBe('quarter-hour');
    expect(view.excess_note).toBeNull();
  });
});

describe('planBill: the planner view and the bill view', () => {
  it('weighs the quarter-hour formula by default and, for simulate, prices the maxímetro as the bill does', () => {
    const c = contract([40, 40, 40, 40, 40, 40]);
    const jan = monthRange('2026-01', TZ);
    const qh = [];
    for (let t = jan.start; t < jan.end; t += 900_000) qh.push({ start: t, plannedKw: t === Date.parse('2026-01-07T09:00:00Z') ? 14 : 0, baseKw: 32 });
    const planned = planBill(c, qh, new Map(), TZ);
    expect(planned.months[0]!.amounts.excess_eur).toBe(8.44); // 1 × 1.4064 × 6
    expect(planned.months[0]!.part.excess!.metering).toBe('quarter-hour');
    const billed = planBill(c, qh, new Map(), TZ, 'contract');
    expect(billed.months[0]!.amounts.excess_eur).toBe(17.44); // 2 × 6 × 1.4064 × 31 / 30
    expect(billed.months[0]!.part.excess!.metering).toBe('maximetro');
  });
});
