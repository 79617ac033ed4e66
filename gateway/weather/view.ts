import type { Unit } from '../series/slots.js';
import type { SeriesStore } from '../series/store.js';
import { DAY_MS, HOUR_MS } from '../time/tz.js';
import { dayAheadSlots, ISSUED_TEMP_SERIES } from './forecast-skill.js';

/** Weather variables and the one unit each is stored in; sources convert before writing. */
export const WEATHER_VARS = {
  temp: 'degC',
  rh: 'percent',
  wind: 'm/s',
  precip: 'mm',
  pressure: 'hPa',
} as const satisfies Record<string, Unit>;

export type WeatherVar = keyof typeof WEATHER_VARS;
export type WeatherKind = 'obs' | 'fc';

export interface WeatherPoint {
  start: number;
  end: number;
  /** Missing variables stay missing: never 0. */
  values: Partial<Record<WeatherVar, number>>;
}

export const weatherSeriesId = (kind: WeatherKind, source: string, v: WeatherVar): string => `${kind}.${source}.${v}`;
export const COMBINED = 'combined';

/** Plausible ranges in the stored units; a value outside says the unit was not what the source promised. */
export const WEATHER_LIMITS: Record<WeatherVar, [number, number]> = {
  temp: [-50, 60],
  rh: [0, 100],
  wind: [0, 80],
  precip: [0, 500],
  pressure: [500, 1100],
};

export interface WeatherPolicy {
  /** Source names, most trusted first. */
  priority: string[];
  /** An observation older than this is not "current". */
  maxObservationAgeMs: number;
  /** A forecast fetched longer ago than this is not used. */
  maxForecastAgeMs: number;
  /** Two candidates closer in freshness than this are decided by priority. */
  freshnessToleranceMs: number;
}

export interface ChosenValue {
  value: number;
  source: string;
  /** Start of the observation or forecast slot. */
  at: number;
  fetchedAt: number;
}

export interface CurrentWeather {
  values: Partial<Record<WeatherVar, ChosenValue>>;
  stale: boolean;
  reason: string | null;
}

export interface ForecastSlot {
  start: number;
  end: number;
  values: Partial<Record<WeatherVar, ChosenValue>>;
}

export interface SourceComparison {
  variable: WeatherVar;
  a: string;
  b: string;
  hours: number;
  /** mean(a − b) */
  bias: number | null;
  /** mean |a − b| */
  meanAbsDiff: number | null;
}

/**
 * The combined view: per variable and slot, the freshest eligible value, ties broken by source priority,
 * with the source recorded. Replaces the prototype's clock-based switch.
 */
export class WeatherView {
  constructor(
    private readonly store: SeriesStore,
    private readonly policy: WeatherPolicy,
    private readonly sources: () => string[],
  ) {}

  private rank(source: string): number {
    const base = source.split('/')[0]!;
    const i = this.policy.priority.indexOf(base);
    return i < 0 ? this.policy.priority.length : i;
  }

  private pick(candidates: ChosenValue[], freshness: (c: ChosenValue) => number): ChosenValue | undefined {
    if (!candidates.length) return undefined;
    const freshest = Math.max(...candidates.map(freshness));
    const close = candidates.filter((c) => freshest - freshness(c) <= this.policy.freshnessToleranceMs);
    return close.sort((x, y) => this.rank(x.source) - this.rank(y.source) || freshness(y) - freshness(x))[0];
  }

  async current(now: number): Promise<CurrentWeather> {
    const values: CurrentWeather['values'] = {};
    for (const v of Object.keys(WEATHER_VARS) as WeatherVar[]) {
      const candidates: ChosenValue[] = [];
      for (const source of this.sources()) {
        const latest = await this.store.latest(weatherSeriesId('obs', source, v));
        if (latest && latest.start <= now && now - latest.start <= this.policy.maxObservationAgeMs) {
          candidates.push({ value: latest.value, source: latest.source, at: latest.start, fetchedAt: latest.fetchedAt });
        }
      }
      const chosen = this.pick(candidates, (c) => c.at);
      if (chosen) values[v] = chosen;
    }
    const stale = values.temp === undefined;
    return { values, stale, reason: stale ? `no temperature observation younger than ${Math.round(this.policy.maxObservationAgeMs / 60_000)} min from ${this.sources().join(', ') || 'any source'}` : null };
  }

  async forecast(now: number, hours: number): Promise<ForecastSlot[]> {
    const from = Math.floor(now / HOUR_MS) * HOUR_MS;
    const slots: ForecastSlot[] = Array.from({ length: hours }, (_, i) => ({ start: from + i * HOUR_MS, end: from + (i + 1) * HOUR_MS, values: {} }));
    for (const v of Object.keys(WEATHER_VARS) as WeatherVar[]) {
      const bySource = await Promise.all(
        this.sources().map(async (source) => (await this.store.read(weatherSeriesId('fc', source, v), from, from + hours * HOUR_MS)).filter((s) => now - s.fetchedAt <= this.policy.maxForecastAgeMs)),
      );
      for (const slot of slots) {
        const candidates: ChosenValue[] = [];
        for (const list of bySource) {
          const hit = list.find((s) => s.start <= slot.start && s.end > slot.start);
          if (hit) candidates.push({ value: hit.value, source: hit.source, at: hit.start, fetchedAt: hit.fetchedAt });
        }
        const chosen = this.pick(candidates, (c) => c.fetchedAt);
        if (chosen) slot.values[v] = chosen;
      }
    }
    return slots;
  }

  /** Observations of two sources over the same hours of the last `days` days. */
  async compare(now: number, days: number, a: string, b: string, variable: WeatherVar = 'temp'): Promise<SourceComparison> {
    const hourlyMeans = async (source: string) => {
      const map = new Map<number, { sum: number; n: number }>();
      for (const s of await this.store.read(weatherSeriesId('obs', source, variable), now - days * DAY_MS, now)) {
        const h = Math.floor(s.start / HOUR_MS) * HOUR_MS;
        const acc = map.get(h) ?? { sum: 0, n: 0 };
        acc.sum += s.value;
        acc.n++;
        map.set(h, acc);
      }
      return map;
    };
    const [ma, mb] = [await hourlyMeans(a), await hourlyMeans(b)];
    const diffs: number[] = [];
    for (const [h, x] of ma) {
      const y = mb.get(h);
      if (y) diffs.push(x.sum / x.n - y.sum / y.n);
    }
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      variable,
      a,
      b,
      hours: diffs.length,
      bias: diffs.length ? round(diffs.reduce((s, d) => s + d, 0) / diffs.length) : null,
      meanAbsDiff: diffs.length ? round(diffs.reduce((s, d) => s + Math.abs(d), 0) / diffs.length) : null,
    };
  }

  /**
   * Writes the combined observations (last 48 h) and forecast (next 48 h) as series `obs.combined.*` and `fc.combined.*`,
   * and the temperature forecast's slots 20-28 h ahead as `fc.combined.temp.issued24h` (forecast-skill.ts).
   */
  async materialize(now: number): Promise<number> {
    let written = 0;
    for (const v of Object.keys(WEATHER_VARS) as WeatherVar[]) {
      const from = Math.floor((now - 2 * DAY_MS) / HOUR_MS) * HOUR_MS;
      const byHour = new Map<number, ChosenValue[]>();
      for (const source of this.sources()) {
        for (const s of await this.store.read(weatherSeriesId('obs', source, v), from, now + 1)) {
          const h = Math.floor(s.start / HOUR_MS) * HOUR_MS;
          byHour.set(h, [...(byHour.get(h) ?? []), { value: s.value, source: s.source, at: s.start, fetchedAt: s.fetchedAt }]);
        }
      }
      const obs = [...byHour.entries()]
        .sort((x, y) => x[0] - y[0])
        .map(([h, c]) => ({ h, chosen: this.pick(c, (x) => x.at)! }));
      for (const [source, group] of groupBy(obs, (o) => o.chosen.source)) {
        await this.store.write(weatherSeriesId('obs', COMBINED, v), WEATHER_VARS[v], group.map((o) => ({ start: o.h, end: o.h + HOUR_MS, value: o.chosen.value })), { source, fetchedAt: Math.max(...group.map((o) => o.chosen.fetchedAt)) });
        written += group.length;
      }
      const fc = (await this.forecast(now, 48)).filter((s) => s.values[v]);
      for (const [source, group] of groupBy(fc, (s) => s.values[v]!.source)) {
        const slots = group.map((s) => ({ start: s.start, end: s.end, value: s.values[v]!.value }));
        const fetchedAt = Math.max(...group.map((s) => s.values[v]!.fetchedAt));
        await this.store.write(weatherSeriesId('fc', COMBINED, v), WEATHER_VARS[v], slots, { source, fetchedAt });
        written += group.length;
        // The temperature forecast also kept as issued a day ahead, for its measured skill (forecast-skill.ts).
        const dayAhead = v === 'temp' ? dayAheadSlots(slots, now) : [];
        if (dayAhead.length) await this.store.write(ISSUED_TEMP_SERIES, WEATHER_VARS[v], dayAhead, { source, fetchedAt });
      }
    }
    return written;
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

export function weatherPolicy(config: { weather: { priority: string[]; maxObservationAgeMinutes: number; maxForecastAgeMinutes: number; freshnessToleranceMinutes: number } }): WeatherPolicy {
  return {
    priority: config.weather.priority,
    maxObservationAgeMs: config.weather.maxObservationAgeMinutes * 60_000,
    maxForecastAgeMs: config.weather.maxForecastAgeMinutes * 60_000,
    freshnessToleranceMs: config.weather.freshnessToleranceMinutes * 60_000,
  };
}

/** Names of the sources that write weather observations or forecasts, from the series catalogue. */
export function weatherSourceNames(catalog: Array<{ id: string; source: string }>): string[] {
  return [...new Set(catalog.filter((d) => /^(obs|fc)\./.test(d.id) && d.source !== COMBINED).map((d) => d.source))];
}
