import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { createHomeAssistant } from '../../plugins/homeassistant/index.js';
import type { Plugin } from '../../gateway/core/plugin-api.js';
import { pluginContext, silent, testConfig, type TestContext } from '../helpers/context.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';

/**
 * The fields of Home Assistant's MQTT sensor as documented today (home-assistant.io/integrations/sensor.mqtt,
 * 2025.10+). `object_id` is left out on purpose: it is deprecated since 2025.10 and stops working in 2026.4;
 * `default_entity_id` (`<domain>.<id>`) replaces it.
 */
const DOCUMENTED_SENSOR_FIELDS = new Set([
  'availability', 'availability_mode', 'availability_template', 'availability_topic', 'default_entity_id', 'device', 'device_class',
  'enabled_by_default', 'encoding', 'entity_category', 'entity_picture', 'expire_after', 'force_update', 'icon', 'json_attributes_template',
  'json_attributes_topic', 'last_reset_value_template', 'name', 'options', 'payload_available', 'payload_not_available', 'platform', 'qos',
  'state_class', 'state_topic', 'suggested_display_precision', 'unique_id', 'unit_of_measurement', 'value_template',
]);
const DOCUMENTED_DEVICE_FIELDS = new Set(['configuration_url', 'connections', 'hw_version', 'identifiers', 'manufacturer', 'model', 'model_id', 'name', 'serial_number', 'suggested_area', 'sw_version', 'via_device']);

/** Device classes we use, with the units and state classes Home Assistant's sensor entity accepts for them. */
const DEVICE_CLASS_RULES: Record<string, { unit: (u: string) => boolean; stateClasses: Array<string | undefined> }> = {
  monetary: { unit: (u) => /^[A-Z]{3}$/.test(u), stateClasses: ['total', undefined] }, // an ISO 4217 currency, never a rate like EUR/kWh
  temperature: { unit: (u) => ['°C', '°F', 'K'].includes(u), stateClasses: ['measurement', undefined] },
  humidity: { unit: (u) => u === '%', stateClasses: ['measurement', undefined] },
};

describe('Home Assistant discovery against a real Mosquitto', () => {
  let broker: Mosquitto;
  let ctx: TestContext;
  let connection: MqttConnection;
  let plugin: Plugin;
  let url: string;

  beforeAll(async () => {
    broker = new Mosquitto(await freePort());
    await broker.start();
    url = `mqtt://127.0.0.1:${broker.port}`;
    const config = testConfig('http://127.0.0.1:9', { homeAssistant: { enabled: true } });
    ctx = await pluginContext(config, '2025-06-02T10:00:00Z');
    connection = new MqttConnection({ url, base: config.mqtt.base, clientId: 'ha-test-gateway', reconnectMs: 200 }, ctx.clock, silent);
    await connection.start();
    ctx.mqtt = connection;
    plugin = createHomeAssistant(ctx);
    await plugin.start();
  });
  afterAll(async () => {
    await plugin?.stop();
    await connection?.stop();
    await ctx?.close();
    await broker?.stop();
  });

  /** What a late subscriber (Home Assistant starting up) reads from the retained discovery topics. */
  async function readConfigs(): Promise<Map<string, Record<string, unknown>>> {
    const sub = await mqtt.connectAsync(url);
    const configs = new Map<string, Record<string, unknown>>();
    sub.on('message', (topic, payload) => {
      if (payload.length) configs.set(topic, JSON.parse(payload.toString()));
      else configs.delete(topic);
    });
    await sub.subscribeAsync('homeassistant/sensor/#');
    await vi.waitFor(() => expect(configs.size).toBe(8), { timeout: 60_000 });
    await sub.endAsync();
    return configs;
  }

  it('publishes only documented fields, default_entity_id instead of object_id', async () => {
    const configs = await readConfigs();
    for (const [topic, c] of configs) {
      expect(Object.keys(c).filter((k) => !DOCUMENTED_SENSOR_FIELDS.has(k)), topic).toEqual([]);
      expect(Object.keys(c.device as object).filter((k) => !DOCUMENTED_DEVICE_FIELDS.has(k)), topic).toEqual([]);
      expect(c).not.toHaveProperty('object_id');
      expect(c.default_entity_id, topic).toMatch(/^sensor\.[a-z0-9_]+$/);
      expect(c.unique_id, topic).toBeTruthy();
    }
    expect(new Set([...configs.values()].map((c) => c.default_entity_id)).size).toBe(configs.size);
  });

  it('gives numeric sensors a state class, text sensors none, and device classes only with their units', async () => {
    const configs = await readConfigs();
    for (const [topic, c] of configs) {
      const unit = c.unit_of_measurement as string | undefined;
      if (unit) expect(['measurement', 'total'], topic).toContain(c.state_class);
      else expect(c, topic).not.toHaveProperty('state_class');
      const rule = c.device_class ? DEVICE_CLASS_RULES[c.device_class as string] : undefined;
      if (c.device_class) {
        expect(rule, `${topic}: device class ${String(c.device_class)}`).toBeDefined();
        expect(rule!.unit(unit ?? ''), `${topic}: unit ${unit} for ${String(c.device_class)}`).toBe(true);
        expect(rule!.stateClasses, topic).toContain(c.state_class);
      }
    }
    const price = [...configs.values()].find((c) => c.unit_of_measurement === 'EUR/kWh')!;
    expect(price).not.toHaveProperty('device_class');
    expect(price.state_class).toBe('measurement');
  });

  it('announces again when homeassistant/status says online (Home Assistant restarted and lost them)', async () => {
    const admin = await mqtt.connectAsync(url);
    const configs = await readConfigs();
    for (const topic of configs.keys()) await admin.publishAsync(topic, '', { retain: true, qos: 1 }); // cleared, as a broker without persistence would
    await admin.publishAsync('homeassistant/status', 'offline', { qos: 1 });
    await admin.publishAsync('homeassistant/status', 'online', { qos: 1 });
    const again = await readConfigs();
    expect([...again.keys()].sort()).toEqual([...configs.keys()].sort());
    expect(plugin.health().message).toMatch(/\(2 times\)/);
    await admin.endAsync();
  });
});
