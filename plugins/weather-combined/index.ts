import { realClock, type TimerHandle } from '../../gateway/time/clock.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker } from '../../gateway/util/health.js';
import { topics } from '../../gateway/mqtt/topics.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory, type SeriesDescriptor } from '../../gateway/core/plugin-api.js';
import { currentPayload, forecastPayload } from '../../gateway/weather/payloads.js';
import { COMBINED, WeatherView, weatherPolicy, weatherSeriesId, weatherSourceNames } from '../../gateway/weather/view.js';

const STALENESS_CHECK_MS = 60_000;

/** Keeps `obs.combined.*` and `fc.combined.*` up to date from every weather source and publishes them. */
export function createWeatherCombined(ctx: PluginContext): Plugin {
  const tracker = new HealthTracker(() => ctx.clock.now());
  const sources = () => weatherSourceNames(ctx.catalog());
  const view = new WeatherView(ctx.store, weatherPolicy(ctx.config), sources);
  /** Whether any source forecasts: without one, `fc.combined.*` is neither described nor published. */
  const forecasting = () => ctx.catalog().some((d) => d.id.startsWith('fc.') && d.source !== COMBINED);
  let lastForecast: string | undefined;
  let pending: Promise<void> | undefined;
  let again = false;
  const refresh = async (): Promise<void> => {
    const now = ctx.clock.now();
    try {
      const written = await view.materialize(now);
      const current = await view.current(now);
      await ctx.mqtt.publish(topics.weatherCurrent, currentPayload(current, now), { retain: true });
      if (forecasting()) {
        const forecast = forecastPayload(await view.forecast(now, 48), now, ctx.config.site.timezone);
        // Published on change only: the slots without the `at` stamp are what a subscriber acts on.
        const key = JSON.stringify(forecast.slots);
        if (key !== lastForecast) {
          await ctx.mqtt.publish(topics.weatherForecast, forecast, { retain: true });
          lastForecast = key;
        }
      }
      ctx.bus.emit('series.updated', { series: weatherSeriesId('obs', COMBINED, 'temp'), source: COMBINED, from: now, to: now, count: written, fetchedAt: now });
      tracker.set(current.stale ? 'degraded' : 'ok', current.stale ? (current.reason ?? 'stale') : `combined from ${sources().join(', ')}`);
    } catch (error) {
      tracker.set('degraded', `combining failed: ${errorMessage(error)}`);
    }
  };
  let staleTimer: TimerHandle | undefined;
  /**
   * Every minute of real time: republish when the current weather became stale (or fresh) by age alone. Real
   * time, so that a replay at 3600x does not run this check every few milliseconds.
   */
  const checkStaleness = (): void => {
    staleTimer = (ctx.deviceClock ?? realClock).setTimeout(() => {
      void view
        .current(ctx.clock.now())
        .then((c) => {
          if (c.stale !== (tracker.get().state === 'degraded')) schedule();
        })
        .catch(() => undefined)
        .finally(checkStaleness);
    }, STALENESS_CHECK_MS);
  };
  // Many series arrive in one ingestion: coalesce them into one refresh.
  const schedule = (): void => {
    if (pending) {
      again = true;
      return;
    }
    pending = new Promise<void>((resolve) => setImmediate(resolve))
      .then(refresh)
      .finally(() => {
        pending = undefined;
        if (again) {
          again = false;
          schedule();
        }
      });
  };
  return {
    name: 'weather-combined',
    async start() {
      ctx.bus.on('series.updated', 'weather-combined', (e) => {
        if (/^(obs|fc)\./.test(e.series) && e.source !== COMBINED) schedule();
      });
      // A source that stops delivering sends no event: the retained weather/current must still turn stale.
      ctx.bus.on('source.status', 'weather-combined', (e) => {
        if (e.state !== 'ok' && sources().includes(e.source)) schedule();
      });
      if (sources().length) {
        schedule();
        checkStaleness();
      }
    },
    async stop() {
      ctx.bus.removeOwner('weather-combined');
      staleTimer?.cancel();
      await pending;
    },
    health: () => (sources().length ? tracker.get() : { state: 'disabled', message: 'no weather source is enabled' }),
    series(): SeriesDescriptor[] {
      if (!sources().length) return [];
      const staleAfterMs = ctx.config.weather.staleAfterMinutes * 60_000;
      return [
        { id: weatherSeriesId('obs', COMBINED, 'temp'), unit: 'degC', description: 'outdoor temperature, best available source', source: COMBINED, staleAfterMs, critical: true, currentWithinMs: staleAfterMs },
        { id: weatherSeriesId('obs', COMBINED, 'rh'), unit: 'percent', description: 'outdoor humidity, best available source', source: COMBINED, staleAfterMs, critical: false, currentWithinMs: staleAfterMs },
        ...(forecasting()
          ? [{ id: weatherSeriesId('fc', COMBINED, 'temp'), unit: 'degC', description: 'outdoor temperature forecast, best available source', source: COMBINED, staleAfterMs: 2 * staleAfterMs, critical: false }]
          : []),
      ];
    },
  };
}

export const weatherCombinedPlugin: PluginFactory = {
  name: 'weather-combined',
  apiVersion: PLUGIN_API_VERSION,
  enabled: () => true,
  create: createWeatherCombined,
};
