/**
 * The plan document's view of the site under the contract (issue #22): per quarter-hour base (forecast) + planned
 * load against the period's contracted power, and the expected bill of the plan and of the fixed shift, term by term
 * (labelled forecast). Null without energy.contract.
 */
import { sumAmounts } from '../bill/bill.js';
import { excessMeteringOf } from '../contract/contract.js';
import type { PlanBillTerms, PlanSiteView } from '../mqtt/topics.js';
import { formatLocalIso, formatUtcIso } from '../time/tz.js';
import { expectedBill, siteExcess } from './contract-terms.js';
import type { PlannedRun, PlannerInput } from './types.js';

const r1 = (x: number) => Math.round(x * 10) / 10;

export function sitePlanView(input: PlannerInput, runs: readonly PlannedRun[], baselineRuns: readonly PlannedRun[] | null, timezone: string): PlanSiteView | null {
  if (!input.site) return null;
  const terms = (schedule: readonly PlannedRun[]): PlanBillTerms => {
    const bill = expectedBill(input, schedule, timezone)!;
    return { ...sumAmounts(bill.months.map((m) => m.amounts)), excess_quarter_hours: bill.excessQuarterHours };
  };
  return {
    base_source: input.site.baseSource,
    tariff: input.site.contract.tariff,
    excess_rule: 'quarter-hour',
    excess_note:
      excessMeteringOf(input.site.contract) === 'maximetro'
        ? 'the excess this plan weighs (totals.excess_eur, expected_bill) is the quarter-hour formula Σ Kp × tep × sqrt(Σ (Pd − Pc)²); the bill of this maxímetro supply charges 2 × (Pmax − Pc) × tep × days / 30 per period instead (README "The bill")'
        : null,
    quarter_hours: siteExcess(input, runs).quarterHours.map((q) => ({
      start: formatUtcIso(q.start),
      start_local: formatLocalIso(q.start, timezone),
      period: `P${q.period}`,
      base_kw: r1(q.baseKw),
      planned_kw: r1(q.plannedKw),
      site_kw: r1(q.siteKw),
      contracted_kw: q.contractedKw,
      above_kw: r1(q.aboveKw),
    })),
    expected_bill: { label: 'forecast', plan: terms(runs), fixed_shift: baselineRuns ? terms(baselineRuns) : null },
  };
}
