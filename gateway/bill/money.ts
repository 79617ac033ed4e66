/**
 * Money rounding of the bill. Every term is computed in full precision (floating point € on kWh, €/MWh, kW) and
 * rounded once, to the cent, when it is shown: half away from zero, on the value first cut to 12 significant
 * digits so that 1.005 € (stored as 1.00499999…) rounds to 1.01 € as on paper. A bill's total is the sum of its
 * rounded terms, so the printed lines add up.
 */
export function cents(eur: number): number {
  if (!Number.isFinite(eur)) throw new Error(`cannot round ${eur} € to the cent`);
  const scaled = Number((Math.abs(eur) * 100).toPrecision(12));
  const r = (Math.sign(eur) * Math.round(scaled)) / 100;
  return r === 0 ? 0 : r;
}

/** A figure for display with its unit's usual precision (kWh to the Wh, kW to 0.001). */
export function round3(x: number): number {
  const r = Math.round(Number((x * 1000).toPrecision(12))) / 1000;
  return r === 0 ? 0 : r;
}

/**
 * Parts of an amount to the cent that add up to the amount: each part rounded by `cents`, then the cents the
 * rounding lost or gained (|difference| ≤ half the parts) given back one by one to the parts rounding moved the
 * most (largest remainder, Hamilton's method; ties to the earlier part). `total` defaults to cents(Σ values), the
 * amount printed beside the parts. So a bill's period rows add up to its term and a day's runs to the day.
 * values: € in full precision; returns € to the cent, one per value, Σ = total exactly (in cents).
 */
export function centsSplit(values: readonly number[], total: number = cents(values.reduce((s, v) => s + v, 0))): number[] {
  const rounded = values.map((v) => Math.round(cents(v) * 100));
  let diff = Math.round(total * 100) - rounded.reduce((s, c) => s + c, 0);
  // how far rounding moved each part, in cents: > 0 rounded down, < 0 rounded up
  const moved = values.map((v, i) => Number((v * 100).toPrecision(12)) - rounded[i]!);
  const order = values.map((_, i) => i).sort((a, b) => (diff > 0 ? moved[b]! - moved[a]! : moved[a]! - moved[b]!) || a - b);
  for (let k = 0; diff !== 0 && k < order.length; k++) {
    const step = Math.sign(diff);
    rounded[order[k]!]! += step;
    diff -= step;
  }
  return rounded.map((c) => (c === 0 ? 0 : c / 100));
}
