/**
 * How sure a plan made on forecast prices is (issue #23, build 1, the reporting part): the saving against the
 * fixed shift over price scenarios drawn from the forecaster's calibrated 10-90 % band (price-recalibrate.ts,
 * price-lear.ts give `low`/`high` per slot). The plan itself is still made on the point forecast: with a cost
 * linear in the price, the expected cost over scenarios equals the cost at the mean price, so the expectation
 * alone changes no decision; this module says how wide the outcome is.
 *
 * A scenario: per forecast slot, value + z × (high − low) / 2.563 (the 10-90 % band of a normal spans 2.563 σ),
 * z = √0.7 × day factor + √0.3 × slot noise (a forecast that is off is off for the day); published slots keep
 * their price. Seeded, so a plan's figures are reproducible. €, the same `totalCost` as the plan.
 */
import { seededRandom } from '../inference/seeded-random.js';
import { totalCost } from './holding.js';
import type { PlannedRun, PlannerInput } from './types.js';

export interface SavingBand {
  /** Slots planned on forecast prices. */
  forecastSlots: number;
  /** Saving at the point forecast (the plan's own figure), €. */
  pointEur: number;
  /** Mean, 10th and 90th percentile of the saving over the scenarios, €. */
  expectedEur: number;
  p10Eur: number;
  p90Eur: number;
  scenarios: number;
}

const quantile = (sorted: readonly number[], q: number): number => {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo]! + (sorted[Math.min(sorted.length - 1, lo + 1)]! - sorted[lo]!) * (i - lo);
};

/**
 * `n` price paths for `input` drawn from the band (the scenario rule above); slots without a band keep their price.
 */
export function bandScenarios(input: PlannerInput, low: ReadonlyArray<number | null>, high: ReadonlyArray<number | null>, n: number, seed = 1, dayMs = 86_400_000): number[][] {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const out: number[][] = [];
  for (let k = 0; k < n; k++) {
    const dayFactor = new Map<number, number>();
    out.push(
      input.priceEurMwh.map((p, t) => {
        if (input.priceSource[t] !== 'forecast' || low[t] === null || low[t] === undefined || high[t] === null || high[t] === undefined) return p;
        const day = Math.floor(input.starts[t]! / dayMs);
        if (!dayFactor.has(day)) dayFactor.set(day, normal());
        return p + ((Math.sqrt(0.7) * dayFactor.get(day)! + Math.sqrt(0.3) * normal()) * (high[t]! - low[t]!)) / 2.563;
      }),
    );
  }
  return out;
}

/**
 * The saving (`baseline` − `plan`, both with the input's fixed runs) over `scenarios` price paths. `low`/`high`
 * per slot (€/MWh, null where published or unknown: that slot keeps its price). Null when no slot is forecast
 * with a band.
 */
export function savingBand(input: PlannerInput, plan: readonly PlannedRun[], baseline: readonly PlannedRun[], low: ReadonlyArray<number | null>, high: ReadonlyArray<number | null>, options: { scenarios?: number; seed?: number; dayMs?: number } = {}): SavingBand | null {
  const banded = input.starts.map((_, t) => input.priceSource[t] === 'forecast' && low[t] !== null && low[t] !== undefined && high[t] !== null && high[t] !== undefined);
  const forecastSlots = banded.filter(Boolean).length;
  if (!forecastSlots) return null;
  const n = options.scenarios ?? 200;
  const dayMs = options.dayMs ?? 86_400_000;
  const rand = seededRandom(options.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const saving = (prices: number[]) => {
    const priced = { ...input, priceEurMwh: prices };
    return totalCost(priced, [...baseline]).eur - totalCost(priced, [...plan]).eur;
  };
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const dayFactor = new Map<number, number>();
    const prices = input.priceEurMwh.map((p, t) => {
      if (!banded[t]) return p;
      const day = Math.floor(input.starts[t]! / dayMs);
      if (!dayFactor.has(day)) dayFactor.set(day, normal());
      const z = Math.sqrt(0.7) * dayFactor.get(day)! + Math.sqrt(0.3) * normal();
      return p + (z * (high[t]! - low[t]!)) / 2.563;
    });
    out.push(saving(prices));
  }
  out.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { forecastSlots, pointEur: round(saving([...input.priceEurMwh])), expectedEur: round(out.reduce((a, b) => a + b, 0) / n), p10Eur: round(quantile(out, 0.1)), p90Eur: round(quantile(out, 0.9)), scenarios: n };
}
