import type { RecommendationClass } from '../../gateway/inference/prototype-scores.js';

/** What the plant must do in a day and what limits it (defaults from the domain notes). */
export interface PlantProfile {
  /** kW × hours per batch of each energy-hungry process. */
  processes: Array<{ name: string; kw: number; hours: number }>;
  batchesPerDay: number;
  contractedKw: number;
  /** Cooling power needed per °C of outdoor temperature above `coolingFromC`. */
  coolingKwPerDegree: number;
  coolingFromC: number;
  /** Outdoor temperature at or above which production stops (the prototype's "35 °C: stop and cool"). */
  haltAtC: number;
}

export const DEFAULT_PLANT: PlantProfile = {
  processes: [
    { name: 'mixing', kw: 30, hours: 1 },
    { name: 'refining', kw: 42, hours: 4 },
    { name: 'conching', kw: 48, hours: 5 },
    { name: 'tempering', kw: 36, hours: 2 },
  ],
  batchesPerDay: 2,
  contractedKw: 120,
  coolingKwPerDegree: 2,
  coolingFromC: 24,
  haltAtC: 35,
};

export interface HindsightHour {
  energyKwh: number;
  share: number;
  effectivePrice: number;
  forbidden: boolean;
  label: RecommendationClass;
}

/**
 * The plan a planner with perfect hindsight takes for one day on realised prices and temperatures: the day's
 * process energy goes to the hours with the lowest effective cost (price including the cooling it drags in), up
 * to the contracted power, never in hours too hot to produce. The share of the day's energy each hour gets, and
 * where the hour stands in the day's costs, give its class.
 */
export function hindsightDay(pricesEurMwh: readonly number[], tempsC: readonly number[], plant: PlantProfile = DEFAULT_PLANT): HindsightHour[] {
  const need = plant.batchesPerDay * plant.processes.reduce((s, p) => s + p.kw * p.hours, 0);
  const meanKw = plant.processes.reduce((s, p) => s + p.kw * p.hours, 0) / plant.processes.reduce((s, p) => s + p.hours, 0);
  const hours = pricesEurMwh.map((price, i) => {
    const t = tempsC[i] ?? plant.coolingFromC;
    const coolingKw = plant.coolingKwPerDegree * Math.max(0, t - plant.coolingFromC);
    const forbidden = t >= plant.haltAtC;
    return { i, forbidden, capacity: forbidden ? 0 : Math.max(0, plant.contractedKw - coolingKw), effectivePrice: price * (1 + coolingKw / meanKw) };
  });
  const energy = new Array<number>(hours.length).fill(0);
  let remaining = need;
  for (const h of [...hours].filter((x) => !x.forbidden).sort((a, b) => a.effectivePrice - b.effectivePrice || a.i - b.i)) {
    if (remaining <= 0) break;
    energy[h.i] = Math.min(h.capacity, remaining);
    remaining -= energy[h.i]!;
  }
  const costs = hours.filter((h) => !h.forbidden).map((h) => h.effectivePrice).sort((a, b) => a - b);
  const quantile = (q: number) => costs[Math.min(costs.length - 1, Math.floor(q * costs.length))] ?? Infinity;
  const cheap = quantile(0.4);
  const dear = quantile(0.85);
  return hours.map((h) => {
    const e = energy[h.i]!;
    let label: RecommendationClass;
    if (h.forbidden || (e === 0 && h.effectivePrice >= dear)) label = 'Halt';
    else if (e > 0 && e >= 0.9 * h.capacity && h.effectivePrice <= cheap) label = 'Optimal';
    else if (e > 0) label = 'Moderate';
    else label = 'Reduced';
    return { energyKwh: e, share: need ? e / need : 0, effectivePrice: h.effectivePrice, forbidden: h.forbidden, label };
  });
}
