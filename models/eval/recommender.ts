import type { LayersModel, Tensor } from '../../gateway/inference/tf.js';
import { CLASSES, legacyScores, type RecommendationClass } from '../../gateway/inference/prototype-scores.js';
import { DEFAULT_PLANT, hindsightDay, type PlantProfile } from './hindsight.js';
import { HOUR_MS, addDays, localDayRange } from '../../gateway/time/tz.js';
import { tf } from '../../gateway/inference/backend.js';
import { buildRecommenderFeatures } from '../../gateway/inference/recommender-features.js';

export interface DayInputs {
  date: string;
  starts: number[];
  prices: number[];
  /** Forecast known the evening before (persistence of the previous day's observations when no archive of forecasts exists). */
  tempForecast: number[];
  humidityForecast: number[];
  labels: RecommendationClass[];
}

/**
 * Builds labelled days: features from prices and a persistence temperature forecast, labels from the hindsight plan
 * on the realised prices and temperatures. Days with any missing hour are skipped.
 */
export function labelledDays(prices: ReadonlyMap<number, number>, temps: ReadonlyMap<number, number>, humidity: ReadonlyMap<number, number>, from: string, to: string, plant: PlantProfile = DEFAULT_PLANT, timezone = 'Europe/Madrid'): DayInputs[] {
  const out: DayInputs[] = [];
  for (let d = from; d < to; d = addDays(d, 1)) {
    const { start, end } = localDayRange(d, timezone);
    const starts: number[] = [];
    for (let t = start; t < end; t += HOUR_MS) starts.push(t);
    const p = starts.map((t) => prices.get(t));
    const actual = starts.map((t) => temps.get(t));
    const forecast = starts.map((t) => temps.get(t - 24 * HOUR_MS));
    const rh = starts.map((t) => humidity.get(t - 24 * HOUR_MS) ?? 55);
    if ([...p, ...actual, ...forecast].some((x) => x === undefined)) continue;
    const labels = hindsightDay(p as number[], actual as number[], plant).map((h) => h.label);
    out.push({ date: d, starts, prices: p as number[], tempForecast: forecast as number[], humidityForecast: rh, labels });
  }
  return out;
}

export interface ClassificationReport {
  n: number;
  accuracy: number;
  macroF1: number;
  perClass: Record<RecommendationClass, { precision: number; recall: number; f1: number; support: number }>;
  /** confusion[actual][predicted] */
  confusion: Record<RecommendationClass, Record<RecommendationClass, number>>;
}

export function classificationReport(actual: RecommendationClass[], predicted: RecommendationClass[]): ClassificationReport {
  const confusion = Object.fromEntries(CLASSES.map((a) => [a, Object.fromEntries(CLASSES.map((p) => [p, 0]))])) as ClassificationReport['confusion'];
  actual.forEach((a, i) => confusion[a][predicted[i]!]++);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  const perClass = Object.fromEntries(
    CLASSES.map((c) => {
      const tp = confusion[c][c];
      const predictedC = CLASSES.reduce((s, a) => s + confusion[a][c], 0);
      const support = CLASSES.reduce((s, p) => s + confusion[c][p], 0);
      const precision = predictedC ? tp / predictedC : 0;
      const recall = support ? tp / support : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      return [c, { precision: r(precision), recall: r(recall), f1: r(f1), support }];
    }),
  ) as ClassificationReport['perClass'];
  const correct = CLASSES.reduce((s, c) => s + confusion[c][c], 0);
  const present = CLASSES.filter((c) => perClass[c].support > 0);
  return { n: actual.length, accuracy: r(correct / actual.length), macroF1: r(present.reduce((s, c) => s + perClass[c].f1, 0) / present.length), perClass, confusion };
}

export interface RecommenderEvaluation {
  from: string;
  to: string;
  days: number;
  model: ClassificationReport;
  legacyFormula: ClassificationReport;
  /** €/kWh added to the day-ahead price before feeding the legacy formula (it was tuned on retail prices). */
  legacyAdderEurKwh: number;
}

export const LEGACY_ADDER_EUR_KWH = 0.1;

export function predictClasses(model: LayersModel, days: DayInputs[], timezone = 'Europe/Madrid'): RecommendationClass[][] {
  return days.map((d) => {
    const x = buildRecommenderFeatures(d.starts, d.prices, d.tempForecast, d.date, timezone);
    const probs = tf.tidy(() => (model.predict(tf.tensor2d(x)) as Tensor).arraySync() as number[][]);
    return probs.map((p) => CLASSES[p.indexOf(Math.max(...p))]!);
  });
}

export function evaluateRecommender(model: LayersModel, days: DayInputs[], from: string, to: string): RecommenderEvaluation {
  const actual = days.flatMap((d) => d.labels);
  const predicted = predictClasses(model, days).flat();
  const legacy = days.flatMap((d) => d.prices.map((p, i) => legacyScores(p / 1000 + LEGACY_ADDER_EUR_KWH, d.tempForecast[i]!, d.humidityForecast[i]!).recommendation));
  return { from, to, days: days.length, model: classificationReport(actual, predicted), legacyFormula: classificationReport(actual, legacy), legacyAdderEurKwh: LEGACY_ADDER_EUR_KWH };
}

export function formatRecommenderEvaluation(e: RecommenderEvaluation): string {
  const confusion = (c: ClassificationReport) => [
    `  actual \\ predicted ${CLASSES.map((x) => x.padStart(9)).join('')}`,
    ...CLASSES.map((a) => `  ${a.padEnd(18)} ${CLASSES.map((p) => String(c.confusion[a][p]).padStart(9)).join('')}`),
  ];
  return [
    `production recommender, held-out ${e.from} → ${e.to} (${e.days} days, ${e.model.n} hours)`,
    `model:          accuracy ${e.model.accuracy.toFixed(3)}  macro-F1 ${e.model.macroF1.toFixed(3)}`,
    ...confusion(e.model),
    `legacy formula: accuracy ${e.legacyFormula.accuracy.toFixed(3)}  macro-F1 ${e.legacyFormula.macroF1.toFixed(3)} (day-ahead price + ${e.legacyAdderEurKwh} €/kWh)`,
    ...confusion(e.legacyFormula),
    `overall: model_accuracy=${e.model.accuracy.toFixed(3)} model_macro_f1=${e.model.macroF1.toFixed(3)} legacy_accuracy=${e.legacyFormula.accuracy.toFixed(3)} legacy_macro_f1=${e.legacyFormula.macroF1.toFixed(3)}`,
  ].join('\n');
}
