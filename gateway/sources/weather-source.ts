import { GatewayError, errorCode, errorMessage, retryingLabel } from '../util/errors.js';
import { FetchStats, HealthTracker, type ComponentHealth } from '../util/health.js';
import type { JobRunResult, Plugin, PluginContext, SeriesDescriptor } from '../core/plugin-api.js';
import { assertInsideWindow } from './payload-checks.js';
import { DAY_MS, HOUR_MS, PLANT_TZ } from '../time/tz.js';
import { WEATHER_LIMITS, WEATHER_VARS, weatherSeriesId, type WeatherKind, type WeatherPoint, type WeatherVar } from '../weather/view.js';

export interface WeatherFetch {
  /** Recorded as each value's source, e.g. `aemet/5279X`. */
  source: string;
  points: WeatherPoint[];
}

export interface WeatherSourceOptions {
  name: string;
  staleAfterMs: number;
  observations?: () => Promise<WeatherFetch>;
  forecast?: () => Promise<WeatherFetch>;
  keyCheck?: () => Promise<string>;
}

/** What a weather source needs of the plugin context (its `clockUntrusted`: then nothing is stored as current). */
export type WeatherSourceDeps = Pick<PluginContext, 'clock' | 'log' | 'bus' | 'store' | 'clockUntrusted'>;

/** Refuses a payload whose values are outside the plausible range of their unit (Kelvin for °C, km/h for m/s…). */
export function assertPlausibleWeather(source: string, points: WeatherPoint[]): void {
  for (const p of points) {
    for (const [v, value] of Object.entries(p.values) as Array<[WeatherVar, number]>) {
      const [lo, hi] = WEATHER_LIMITS[v];
      if (!Number.isFinite(value) || value < lo || value > hi) {
        throw new GatewayError('wrong_unit', `${source}: ${v} = ${value} ${WEATHER_VARS[v]} at ${new Date(p.start).toISOString()} is outside ${lo}..${hi}; wrong unit?`, false);
      }
    }
  }
}

/** The engine shared by weather sources: fetch observations and forecast, write per-variable series, keep honest health. */
export class WeatherSource implements Plugin {
  readonly name: string;
  private readonly tracker: HealthTracker;
  private readonly stats = new FetchStats();
  private lastOrigin: string | null = null;
  readonly jobs: Plugin['jobs'];

  constructor(
    private readonly options: WeatherSourceOptions,
    private readonly deps: WeatherSourceDeps,
  ) {
    this.name = options.name;
    this.tracker = new HealthTracker(() => deps.clock.now());
    this.jobs = {
      weatherIngestion: () => this.ingest(),
      ...(options.keyCheck ? { tokenCheck: () => this.checkKey() } : {}),
    };
  }

  async start(): Promise<void> {
    this.tracker.set('starting', 'waiting for the first fetch');
  }

  async stop(): Promise<void> {
    this.deps.bus.removeOwner(this.name);
  }

  health(): ComponentHealth {
    const h = this.tracker.get();
    return {
      ...h,
      details: {
        ...h.details,
        ...this.stats.details(),
        origin: this.lastOrigin,
      },
    };
  }

  series(): SeriesDescriptor[] {
    const kinds: WeatherKind[] = [...(this.options.observations ? (['obs'] as const) : []), ...(this.options.forecast ? (['fc'] as const) : [])];
    return kinds.flatMap((kind) =>
      (['temp', 'rh'] as WeatherVar[]).map((v) => ({
        id: weatherSeriesId(kind, this.name, v),
        unit: WEATHER_VARS[v],
        description: `${kind === 'obs' ? 'observed' : 'forecast'} ${v} from ${this.name}`,
        source: this.name,
        staleAfterMs: this.options.staleAfterMs,
        critical: false,
        currentWithinMs: kind === 'obs' ? 2 * HOUR_MS : 0,
      })),
    );
  }

  private untrustedWhenAsked: string | undefined;

  async ingest(): Promise<JobRunResult> {
    const parts: string[] = [];
    const failures: unknown[] = [];
    // The windows asked for come from the clock now: a clock not trusted when asking taints the answer even if the
    // answer's Date makes it trusted meanwhile.
    this.untrustedWhenAsked = this.deps.clockUntrusted?.();
    for (const [kind, fetch] of [
      ['obs', this.options.observations],
      ['fc', this.options.forecast],
    ] as const) {
      if (!fetch) continue;
      this.stats.attempt(this.deps.clock.now());
      try {
        const got = await fetch();
        this.assertRequestedWindow(kind, got);
        assertPlausibleWeather(got.source, got.points);
        parts.push(`${kind}: ${await this.write(kind, got)}`);
      } catch (error) {
        failures.push(error);
        this.stats.errors++;
        parts.push(`${kind}: ${errorMessage(error)}`);
      }
    }
    const now = this.deps.clock.now();
    if (failures.length) {
      this.stats.consecutiveFailures++;
      const first = failures[0];
      const transient = first instanceof GatewayError ? first.transient : false;
      const stale = this.stats.isStale(now, this.options.staleAfterMs);
      const state = failures.length === parts.length && stale ? 'failed' : 'degraded';
      this.tracker.set(state, `${retryingLabel(errorCode(first), transient)}${errorMessage(first)}`, errorCode(first));
      this.deps.bus.emit('source.status', { source: this.name, state, message: errorMessage(first) });
      this.deps.log.warn({ err: errorMessage(first), code: errorCode(first) }, 'weather fetch failed');
      if (failures.length === parts.length) throw new Error(`${this.name}: ${parts.join('; ')}`);
    } else {
      this.stats.consecutiveFailures = 0;
      this.tracker.set('ok', parts.join('; '));
    }
    this.stats.lastSuccessAt = now;
    return { summary: `${this.name}: ${parts.join('; ')}` };
  }

  /** Observations are from the past week up to the next hour; forecasts from the last day up to 16 days ahead. */
  private assertRequestedWindow(kind: WeatherKind, got: WeatherFetch): void {
    const now = this.deps.clock.now();
    const [from, to] = kind === 'obs' ? [now - 7 * DAY_MS, now + HOUR_MS] : [now - DAY_MS, now + 16 * DAY_MS];
    assertInsideWindow(got.source, kind === 'obs' ? 'observations' : 'forecast', from, to, PLANT_TZ, got.points);
  }

  private async write(kind: WeatherKind, got: WeatherFetch): Promise<string> {
    const untrusted = this.untrustedWhenAsked ?? this.deps.clockUntrusted?.();
    if (untrusted) return `not stored: wall clock not trusted (${untrusted})`;
    const now = this.deps.clock.now();
    this.lastOrigin = got.source;
    const counts: string[] = [];
    for (const v of Object.keys(WEATHER_VARS) as WeatherVar[]) {
      const slots = got.points.filter((p) => p.values[v] !== undefined).map((p) => ({ start: p.start, end: p.end, value: p.values[v]! }));
      if (!slots.length) continue;
      const id = weatherSeriesId(kind, this.name, v);
      await this.deps.store.write(id, WEATHER_VARS[v], slots, { source: got.source, fetchedAt: now, replaceRange: kind === 'fc' });
      this.deps.bus.emit('series.updated', { series: id, source: got.source, from: slots[0]!.start, to: slots[slots.length - 1]!.end, count: slots.length, fetchedAt: now });
      counts.push(`${v} ${slots.length}`);
    }
    return counts.join(', ') || 'no values';
  }

  private async checkKey(): Promise<JobRunResult> {
    try {
      return { summary: await this.options.keyCheck!() };
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'auth_failed') {
        this.tracker.set('failed', `API key refused: ${errorMessage(error)}`, 'auth_failed');
        this.deps.bus.emit('source.status', { source: this.name, state: 'failed', message: 'API key refused' });
      }
      throw error;
    }
  }
}
