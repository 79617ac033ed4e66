import { HealthTracker } from '../../gateway/util/health.js';
import { PAYLOAD_VERSION, topics, type Payloads, type PriceSlotPayload } from '../../gateway/mqtt/topics.js';
import { PLUGIN_API_VERSION, type PluginContext, type PluginFactory, type SeriesDescriptor } from '../../gateway/core/plugin-api.js';
import { eurPerMwhToEurPerKwh, QUARTER_HOUR_MS, type Slot } from '../../gateway/series/slots.js';
import { mergeDescriptors, seriesStatus } from '../../gateway/series/status.js';
import { DAY_MS, formatLocalIso, formatUtcIso } from '../../gateway/time/tz.js';
import type { TimerHandle } from '../../gateway/time/clock.js';
import { errorMessage } from '../../gateway/util/errors.js';

/** Builds the retained `prices/<series>` payload from the store. */
export async function pricePayload(ctx: Pick<PluginContext, 'store' | 'config'>, d: SeriesDescriptor & { sources: string[] }, now: number): Promise<Payloads['prices/+']> {
  const status = await seriesStatus(ctx.store, d, now);
  const tz = ctx.config.site.timezone;
  const toPayload = (s: Slot): PriceSlotPayload => ({ start: formatUtcIso(s.start), end: formatUtcIso(s.end), start_local: formatLocalIso(s.start, tz), value: s.value });
  const horizon = (await ctx.store.read(d.id, now, now + 3 * DAY_MS)).map(toPayload);
  return {
    v: PAYLOAD_VERSION,
    series: d.id,
    unit: 'EUR/MWh',
    source: status.source,
    fetched_at: status.fetchedAt !== null ? new Date(status.fetchedAt).toISOString() : null,
    stale: status.stale,
    current: status.current ? { ...toPayload(status.current), value_eur_kwh: eurPerMwhToEurPerKwh(status.current.value) } : null,
    horizon,
    horizon_end: status.horizonEnd !== null ? formatUtcIso(status.horizonEnd) : null,
  };
}

/** Publishes every price series, retained, when it changes and at every quarter-hour boundary (the current slot moves). */
export function createMqttOutput(ctx: PluginContext, priceSeries: () => SeriesDescriptor[]) {
  const tracker = new HealthTracker(() => ctx.clock.now());
  let timer: TimerHandle | undefined;
  let published = 0;
  const publish = async (only?: string): Promise<void> => {
    const now = ctx.clock.now();
    for (const d of mergeDescriptors(priceSeries()).filter((x) => !only || x.id === only)) {
      try {
        await ctx.mqtt.publish(topics.prices(d.id), await pricePayload(ctx, d, now), { retain: true });
        published++;
      } catch (error) {
        tracker.set('degraded', `publishing ${d.id} failed: ${errorMessage(error)}`);
        return;
      }
    }
    tracker.set(ctx.mqtt.connected ? 'ok' : 'degraded', ctx.mqtt.connected ? `published ${published} price messages` : 'broker not connected; will republish on reconnect');
  };
  const armBoundary = (): void => {
    const now = ctx.clock.now();
    const next = Math.floor(now / QUARTER_HOUR_MS) * QUARTER_HOUR_MS + QUARTER_HOUR_MS;
    timer = ctx.clock.setTimeout(() => {
      void publish().finally(armBoundary);
    }, next - now);
  };
  return {
    name: 'mqtt-output',
    publish,
    async start() {
      ctx.bus.on('series.updated', 'mqtt-output', (e) => void publish(e.series));
      await publish();
      armBoundary();
    },
    async stop() {
      timer?.cancel();
      ctx.bus.removeOwner('mqtt-output');
    },
    health: () => tracker.get(),
  };
}

export const mqttOutputPlugin: PluginFactory = {
  name: 'mqtt-output',
  apiVersion: PLUGIN_API_VERSION,
  enabled: () => true,
  create(ctx) {
    return createMqttOutput(ctx, () => ctx.catalog().filter((d) => d.unit === 'EUR/MWh'));
  },
};
