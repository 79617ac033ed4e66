import { HealthTracker } from '../../gateway/util/health.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { VERSION } from '../../gateway/util/version.js';

interface Entity {
  id: string;
  name: string;
  topic: string;
  template: string;
  unit?: string;
  deviceClass?: string;
  /** Numeric sensors only: `measurement` for a value now, `total` for an amount (HA allows only `total` for monetary). */
  stateClass?: 'measurement' | 'total';
}

/**
 * Home Assistant MQTT discovery: prices, weather, recommendation and plan as sensors, retained configs.
 * Follows the MQTT sensor schema of Home Assistant 2025.10+: `default_entity_id` (`sensor.<id>`) instead of the
 * deprecated `object_id`; a price per kWh has no device class (monetary is a currency amount); numeric sensors
 * carry a state class so Home Assistant keeps long-term statistics; text sensors carry none.
 */
export function discoveryMessages(ctx: Pick<PluginContext, 'config' | 'mqtt'>, primarySeries: string): Array<{ topic: string; payload: Record<string, unknown> }> {
  const base = ctx.config.mqtt.base;
  const node = ctx.config.site.id;
  const entities: Entity[] = [
    { id: 'price', name: 'Electricity price', topic: `prices/${primarySeries}`, template: '{{ value_json.current.value_eur_kwh if value_json.current else none }}', unit: 'EUR/kWh', stateClass: 'measurement' },
    { id: 'outdoor_temperature', name: 'Outdoor temperature', topic: 'weather/current', template: "{{ value_json['values']['temp']['value'] if 'temp' in value_json['values'] else none }}", unit: '°C', deviceClass: 'temperature', stateClass: 'measurement' },
    { id: 'outdoor_humidity', name: 'Outdoor humidity', topic: 'weather/current', template: "{{ value_json['values']['rh']['value'] if 'rh' in value_json['values'] else none }}", unit: '%', deviceClass: 'humidity', stateClass: 'measurement' },
    { id: 'recommendation', name: 'Production recommendation', topic: 'recommendation/current', template: '{{ value_json.recommendation }}' },
    { id: 'urgency', name: 'Recommendation urgency', topic: 'recommendation/current', template: '{{ value_json.urgency }}' },
    { id: 'model_recommendation', name: 'Model recommendation (input to the plan)', topic: 'recommendation/model', template: '{{ value_json.recommendation }}' },
    { id: 'plan_cost', name: 'Plan cost', topic: 'plan', template: '{{ value_json.totals.cost_eur }}', unit: 'EUR', deviceClass: 'monetary', stateClass: 'total' },
    { id: 'plan_saved', name: 'Plan saving against the fixed shift', topic: 'plan', template: '{{ value_json.totals.saved_eur }}', unit: 'EUR', deviceClass: 'monetary', stateClass: 'total' },
  ];
  return entities.map((e) => ({
    topic: `${ctx.config.homeAssistant.discoveryPrefix}/sensor/choco_edge_${node}/${e.id}/config`,
    payload: {
      name: e.name,
      unique_id: `choco_edge_${node}_${e.id}`,
      default_entity_id: `sensor.choco_edge_${e.id}`,
      state_topic: `${base}/${e.topic}`,
      value_template: e.template,
      ...(e.unit ? { unit_of_measurement: e.unit } : {}),
      ...(e.deviceClass ? { device_class: e.deviceClass } : {}),
      ...(e.stateClass ? { state_class: e.stateClass } : {}),
      availability_topic: `${base}/bridge/state`,
      availability_template: '{{ value_json.state }}',
      payload_available: 'online',
      payload_not_available: 'offline',
      device: { identifiers: [`choco_edge_${node}`], name: `choco-edge ${ctx.config.site.name}`, manufacturer: 'choco-edge', sw_version: VERSION },
    },
  }));
}

export function createHomeAssistant(ctx: PluginContext): Plugin {
  const tracker = new HealthTracker(() => ctx.clock.now());
  return {
    name: 'homeassistant',
    async start() {
      const prefix = ctx.config.homeAssistant.discoveryPrefix;
      const primary = ctx.catalog().find((d) => d.critical && d.unit === 'EUR/MWh')?.id ?? ctx.config.models.priceSeries;
      const messages = discoveryMessages(ctx, primary);
      let announcements = 0;
      const announce = async () => {
        // Discovery topics live outside the gateway's base topic: publish them through the raw client of the one connection.
        for (const m of messages) await ctx.mqtt.publishAbsolute(m.topic, m.payload, { retain: true });
        announcements++;
        tracker.set('ok', `${messages.length} entities announced under ${prefix}/ (${announcements} times)`);
      };
      // Home Assistant says `online` on its birth topic when it (re)starts: announce again, as its docs ask.
      ctx.mqtt.subscribeAbsolute(`${prefix}/status`, (_topic, _json, raw) => {
        if (raw.toString('utf8').trim() === 'online') void announce();
      });
      await announce();
    },
    async stop() {},
    health: () => tracker.get(),
  };
}

export const homeAssistantPlugin: PluginFactory = {
  name: 'homeassistant',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.homeAssistant.enabled,
  create: createHomeAssistant,
};
