import mqtt, { type MqttClient } from 'mqtt';
import { vi } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import type { Config } from '../../gateway/config/schema.js';
import { Gateway } from '../../gateway/controller.js';
import { silent } from './context.js';

export async function startGateway(config: Config, now: string): Promise<{ gw: Gateway; clock: FakeClock }> {
  const clock = new FakeClock(now);
  const gw = new Gateway({ config, clock, log: silent });
  await gw.start();
  await vi.waitFor(() => {
    const price = gw.scheduler.status().find((j) => j.id === 'priceIngestion');
    if (!price?.lastRun) throw new Error('startup price ingestion not finished');
  }, { timeout: 60_000, interval: 20 });
  return { gw, clock };
}

export interface Collected {
  client: MqttClient;
  messages: Array<{ topic: string; payload: any; retain: boolean }>;
  last(topic: string): any;
  waitFor(topic: string, predicate?: (payload: any) => boolean): Promise<any>;
}

/** A real MQTT client that subscribes and keeps every message it gets. */
export async function subscriber(url: string, filter: string): Promise<Collected> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `test-${Math.random().toString(16).slice(2)}` });
  const messages: Collected['messages'] = [];
  client.on('message', (topic, payload, packet) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString());
    } catch {
      parsed = payload.toString();
    }
    messages.push({ topic, payload: parsed, retain: packet.retain });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  const last = (topic: string) => [...messages].reverse().find((m) => m.topic === topic)?.payload;
  return {
    client,
    messages,
    last,
    waitFor: (topic, predicate = () => true) =>
      vi.waitFor(
        () => {
          const m = [...messages].reverse().find((x) => x.topic === topic && predicate(x.payload));
          if (!m) throw new Error(`no message on ${topic} yet`);
          return m.payload;
        },
        { timeout: 60_000, interval: 20 },
      ),
  };
}
