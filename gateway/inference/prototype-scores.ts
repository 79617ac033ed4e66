/** The prototype's fixed scoring formulas, kept only so the legacy endpoints answer the same way. Not a model. */
export type RecommendationClass = 'Optimal' | 'Moderate' | 'Reduced' | 'Halt';
export type Urgency = 'Low' | 'Medium' | 'High' | 'Critical';

export const CLASSES: RecommendationClass[] = ['Optimal', 'Moderate', 'Reduced', 'Halt'];
export const URGENCY: Record<RecommendationClass, Urgency> = { Optimal: 'Low', Moderate: 'Medium', Reduced: 'High', Halt: 'Critical' };

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

export interface LegacyScores {
  energy_cost_index: number;
  temperature_comfort_index: number;
  humidity_stress_factor: number;
  energy_optimization_score: number;
  chocolate_production_index: number;
  recommendation: RecommendationClass;
  urgency: Urgency;
}

export function legacyScores(priceEurKwh: number, temperature: number, humidity: number): LegacyScores {
  const eci = clamp(((priceEurKwh - 0.05) / 0.3) * 100, 0, 100);
  const tci = Math.max(0, 100 - Math.abs(temperature - 21) * 10);
  const hsf = (Math.abs(humidity - 55) / 55) * 100;
  const energy = clamp(0.7 * (100 - eci) + 0.3 * tci, 0, 100);
  const cpi = clamp(tci - 0.5 * eci - 0.3 * hsf, 0, 100);
  const recommendation: RecommendationClass = cpi >= 75 ? 'Optimal' : cpi >= 50 ? 'Moderate' : cpi >= 25 ? 'Reduced' : 'Halt';
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    energy_cost_index: r(eci),
    temperature_comfort_index: r(tci),
    humidity_stress_factor: r(hsf),
    energy_optimization_score: r(energy),
    chocolate_production_index: r(cpi),
    recommendation,
    urgency: URGENCY[recommendation],
  };
}
