import type { Tensor } from './tf.js';
import { CLASSES, URGENCY, type RecommendationClass, type Urgency } from './prototype-scores.js';
import { hourly } from '../series/slots.js';
import type { SeriesStore } from '../series/store.js';
import { DAY_MS, HOUR_MS, addDays, localDate, localDayRange } from '../time/tz.js';
import { tf } from './backend.js';
import { MissingInputsError, type DriverRow } from './price-features.js';
import { forecastPrices, type PriceForecastSlot } from './price-model.js';
import { buildRecommenderFeatures } from './recommender-features.js';
import { forecastLearDay, isLearCalibration, learHistory, type LearCalibration, type LearHistory } from './price-lear.js';
import { asNetwork, type ModelRegistry } from './registry.js';
import { NETWORK_MEMBER, networkMember } from './price-recalibrate.js';

export const PRICE_MODEL = 'price-forecaster';
export const RECOMMENDER_MODEL = 'production-recommender';

/** Inference said no, with the reason: never a guess. */
export class InferenceRefused extends Error {
  constructor(
    readonly model: string,
    reason: string,
  ) {
    super(`${model}: ${reason}`);
    this.name = 'InferenceRefused';
  }
}

export interface PriceForecast {
  series: string;
  version: string;
  issuedAt: number;
  lastKnownEnd: number;
  driversUsed: number;
  slots: PriceForecastSlot[];
}

export interface HourRecommendation {
  start: number;
  end: number;
  recommendation: RecommendationClass;
  urgency: Urgency;
  probabilities: Record<RecommendationClass, number>;
  priceEurMwh: number;
  priceSource: 'published' | 'forecast';
  temperatureC: number;
  temperatureSource: 'forecast' | 'observed' | 'persistence';
}

export interface ServiceOptions {
  priceSeries: string;
  timezone: string;
  /** Drivers series, when an ESIOS driver source writes them. */
  driverSeries: { demand: string; wind: string; solar: string };
  temperature: { forecast: string; observed: string };
}

/** Runs the models on what the store holds, refusing when required inputs are missing or too old. */
export class PredictionService {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly store: SeriesStore,
    private readonly options: ServiceOptions,
  ) {}

  private async hourlyPrices(from: number, to: number): Promise<Map<number, number>> {
    return new Map(hourly(await this.store.read(this.options.priceSeries, from, to)).filter((s) => s.end - s.start === HOUR_MS).map((s) => [s.start, s.value]));
  }

  private async drivers(from: number, to: number): Promise<Map<number, DriverRow>> {
    const [d, w, s] = await Promise.all([this.options.driverSeries.demand, this.options.driverSeries.wind, this.options.driverSeries.solar].map((id) => this.store.read(id, from, to)));
    const wind = new Map(hourly(w!).map((x) => [x.start, x.value]));
    const solar = new Map(hourly(s!).map((x) => [x.start, x.value]));
    const out = new Map<number, DriverRow>();
    for (const x of hourly(d!)) if (wind.has(x.start) && solar.has(x.start)) out.set(x.start, { demand: x.value, wind: wind.get(x.start)!, solar: solar.get(x.start)! });
    return out;
  }

  /** The 48 hours after the last published price. */
  async priceForecast(now: number): Promise<PriceForecast> {
    if (!this.registry.has(PRICE_MODEL)) throw new InferenceRefused(PRICE_MODEL, 'no model loaded');
    const m = this.registry.get(PRICE_MODEL);
    const prices = await this.hourlyPrices(now - 16 * DAY_MS, now + 3 * DAY_MS);
    const known = [...prices.keys()].sort((a, b) => a - b);
    const lastKnownEnd = (known.at(-1) ?? -Infinity) + HOUR_MS;
    const maxAge = (m.card.maxInputAgeHours ?? 36) * HOUR_MS;
    if (!known.length) throw new InferenceRefused(PRICE_MODEL, `no ${this.options.priceSeries} prices stored for the last 16 days`);
    if (now - lastKnownEnd > maxAge) {
      throw new InferenceRefused(PRICE_MODEL, `latest ${this.options.priceSeries} price ended ${new Date(lastKnownEnd).toISOString()}, more than ${maxAge / HOUR_MS} h ago: prices are stale`);
    }
    // The network (and TF.js with it) is loaded here, on first use, once the inputs are known to be there.
    if (isLearCalibration((await this.registry.ready(PRICE_MODEL)).model)) return this.calibratedForecast(now, lastKnownEnd, m.version);
    const drivers = await this.drivers(lastKnownEnd, lastKnownEnd + DAY_MS);
    try {
      const { slots, driversUsed } = this.registry.run(PRICE_MODEL, (model) => forecastPrices(asNetwork(model, PRICE_MODEL), prices, lastKnownEnd, drivers, this.options.timezone));
      return { series: this.options.priceSeries, version: m.version, issuedAt: now, lastKnownEnd, driversUsed, slots };
    } catch (error) {
      if (error instanceof MissingInputsError) throw new InferenceRefused(PRICE_MODEL, error.message);
      throw error;
    }
  }

  /** The store's history as the calibrated forecaster reads it: prices at native resolution, drivers when stored. */
  async learHistory(from: number, to: number): Promise<LearHistory> {
    const prices = await this.store.read(this.options.priceSeries, from, to);
    const ids = this.options.driverSeries;
    const [demand, wind, solar] = await Promise.all([ids.demand, ids.wind, ids.solar].map((id) => this.store.read(id, from, to + 3 * DAY_MS)));
    const drivers = demand!.length && wind!.length && solar!.length ? { demand: demand!, wind: wind!, solar: solar! } : undefined;
    return learHistory(prices, drivers, this.options.timezone);
  }

  /** D+1 and D+2 after the last complete published day, at the market's resolution, from the active calibration. */
  private async calibratedForecast(now: number, lastKnownEnd: number, version: string): Promise<PriceForecast> {
    const tz = this.options.timezone;
    let lastDay = localDate(lastKnownEnd - 1, tz);
    if (localDayRange(lastDay, tz).end !== lastKnownEnd) lastDay = addDays(lastDay, -1);
    const h = await this.learHistory(localDayRange(addDays(lastDay, -16), tz).start, localDayRange(lastDay, tz).end);
    const cal = this.registry.get(PRICE_MODEL).model as LearCalibration;
    // The network joins only a calibration that holds a weight for it (earned on its recent errors).
    const weighsNetwork = Object.values(cal.weights ?? {}).some((w) => (w?.[NETWORK_MEMBER] ?? 0) > 0);
    const network = weighsNetwork ? await this.registry.memberNetwork(PRICE_MODEL) : undefined;
    const external = network ? networkMember(network.model, h, tz, network.trainedTo) : undefined;
    const days = this.registry.run(PRICE_MODEL, (model) => ([1, 2] as const).map((k) => forecastLearDay(model as LearCalibration, h, lastDay, k, tz, external?.(lastDay, k))));
    if (days.some((d) => !d)) throw new InferenceRefused(PRICE_MODEL, `prices of ${lastDay}, the day before it or a week before are missing in ${this.options.priceSeries}`);
    const dayEnd = localDayRange(lastDay, tz).end;
    const slots = days.flatMap((d) => d!.slots).map((s) => ({ start: s.start, end: s.end, value: s.value, low: s.low, high: s.high, horizon: Math.ceil((s.end - dayEnd) / HOUR_MS) }));
    const driversUsed = days[0]!.driversUsed ? days[0]!.slots.length : 0;
    return { series: this.options.priceSeries, version, issuedAt: now, lastKnownEnd: dayEnd, driversUsed, slots };
  }

  /** Recommendations for every hour from the current one to the end of the last day with published prices (or `hours`);
   * a forecast the caller already made for `now` is used instead of running the price model again. */
  async recommendations(now: number, hours = 24, known?: PriceForecast): Promise<{ version: string; hours: HourRecommendation[] }> {
    if (!this.registry.has(RECOMMENDER_MODEL)) throw new InferenceRefused(RECOMMENDER_MODEL, 'no model loaded');
    const m = this.registry.get(RECOMMENDER_MODEL);
    const tz = this.options.timezone;
    const today = localDate(now, tz);
    const until = Math.floor(now / HOUR_MS) * HOUR_MS + hours * HOUR_MS;
    const prices = await this.hourlyPrices(localDayRange(today, tz).start, localDayRange(addDays(today, 2), tz).end);
    let forecast: PriceForecast | undefined = known;
    const out: HourRecommendation[] = [];
    for (const date of [today, addDays(today, 1), addDays(today, 2)]) {
      const { start, end } = localDayRange(date, tz);
      if (start >= until) break;
      const starts: number[] = [];
      for (let t = start; t < end; t += HOUR_MS) starts.push(t);
      const dayPrices: number[] = [];
      const priceSource: Array<'published' | 'forecast'> = [];
      for (const t of starts) {
        const p = prices.get(t);
        if (p !== undefined) {
          dayPrices.push(p);
          priceSource.push('published');
          continue;
        }
        forecast ??= await this.priceForecast(now);
        // Quarter-hour forecasts are averaged into the recommender's hour.
        const inHour = forecast.slots.filter((s) => s.start >= t && s.start < t + HOUR_MS);
        if (!inHour.length) throw new InferenceRefused(RECOMMENDER_MODEL, `no published or forecast price for ${new Date(t).toISOString()}`);
        dayPrices.push(inHour.reduce((sum, s) => sum + s.value, 0) / inHour.length);
        priceSource.push('forecast');
      }
      const temps = await this.temperatures(starts, now);
      await this.registry.ready(RECOMMENDER_MODEL);
      const x = buildRecommenderFeatures(starts, dayPrices, temps.map((t) => t.value), date, tz);
      const probs = this.registry.run(RECOMMENDER_MODEL, (model) => tf.tidy(() => (asNetwork(model, RECOMMENDER_MODEL).predict(tf.tensor2d(x)) as Tensor).arraySync() as number[][]));
      starts.forEach((t, i) => {
        if (t + HOUR_MS <= now || t >= until) return;
        const p = probs[i]!;
        const cls = CLASSES[p.indexOf(Math.max(...p))]!;
        out.push({
          start: t,
          end: t + HOUR_MS,
          recommendation: cls,
          urgency: URGENCY[cls],
          probabilities: Object.fromEntries(CLASSES.map((c, k) => [c, Math.round(p[k]! * 1000) / 1000])) as Record<RecommendationClass, number>,
          priceEurMwh: dayPrices[i]!,
          priceSource: priceSource[i]!,
          temperatureC: temps[i]!.value,
          temperatureSource: temps[i]!.source,
        });
      });
    }
    return { version: m.version, hours: out };
  }

  /** Hourly temperature: the forecast; for hours already past, the observation; else yesterday's observation at the same hour (persistence, as in training). */
  private async temperatures(starts: number[], now: number): Promise<Array<{ value: number; source: 'forecast' | 'observed' | 'persistence' }>> {
    const from = starts[0]! - DAY_MS;
    const to = starts.at(-1)! + HOUR_MS;
    const fc = new Map(hourly(await this.store.read(this.options.temperature.forecast, from, to)).map((s) => [s.start, s.value]));
    const obs = new Map(hourly(await this.store.read(this.options.temperature.observed, from - DAY_MS, to)).map((s) => [s.start, s.value]));
    return starts.map((t) => {
      const f = fc.get(t);
      if (f !== undefined) return { value: f, source: 'forecast' as const };
      const o = t <= now ? obs.get(t) : undefined;
      if (o !== undefined) return { value: o, source: 'observed' as const };
      const p = obs.get(t - DAY_MS) ?? obs.get(t - 2 * DAY_MS);
      if (p !== undefined) return { value: p, source: 'persistence' as const };
      throw new InferenceRefused(RECOMMENDER_MODEL, `no temperature forecast or observation the day before for ${new Date(t).toISOString()} (${this.options.temperature.forecast}, ${this.options.temperature.observed}); now ${new Date(now).toISOString()}`);
    });
  }
}
