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
