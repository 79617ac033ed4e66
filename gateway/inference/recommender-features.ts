import { isNationalHoliday } from '../time/calendar.js';
import { localParts } from '../time/tz.js';

export const RECOMMENDER_FEATURES_VERSION = 1;

export function recommenderFeatureNames(): string[] {
  return [
    'price_z',
    'price_rank',
    'day_mean',
    'day_range',
    'price_level',
    'temp',
    'day_max_temp',
    'hot_hours',
    ...Array.from({ length: 24 }, (_, i) => `hour_${i}`),
    ...Array.from({ length: 7 }, (_, i) => `weekday_${i}`),
    'holiday',
  ];
}

/**
 * Features for every hour of one local day, from what is known the evening before: that day's published
 * day-ahead prices (€/MWh) and a temperature forecast per hour (°C). `starts` are the hours' UTC instants.
 */
export function buildRecommenderFeatures(starts: readonly number[], prices: readonly number[], tempForecast: readonly number[], date: string, timezone = 'Europe/Madrid'): number[][] {
  if (prices.length !== starts.length || tempForecast.length !== starts.length) throw new Error('one price and one temperature per hour are needed');
  const mean = prices.reduce((s, x) => s + x, 0) / prices.length;
  const std = Math.max(5, Math.sqrt(prices.reduce((s, x) => s + (x - mean) ** 2, 0) / prices.length));
  const sorted = [...prices].sort((a, b) => a - b);
  const maxTemp = Math.max(...tempForecast);
  const hot = tempForecast.filter((t) => t >= 35).length;
  const holiday = isNationalHoliday(date) ? 1 : 0;
  return starts.map((t, i) => {
    const local = localParts(t, timezone);
    const weekday = new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay();
    return [
      (prices[i]! - mean) / std,
      sorted.indexOf(prices[i]!) / Math.max(1, prices.length - 1),
      mean / 100,
      (sorted.at(-1)! - sorted[0]!) / 100,
      prices[i]! / 100,
      (tempForecast[i]! - 24) / 10,
      (maxTemp - 30) / 10,
      hot / 24,
      ...Array.from({ length: 24 }, (_, h) => (h === local.hour ? 1 : 0)),
      ...Array.from({ length: 7 }, (_, d) => (d === weekday ? 1 : 0)),
      holiday,
    ];
  });
}
