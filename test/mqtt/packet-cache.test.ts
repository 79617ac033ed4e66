// Issue 24: the MQTT codec under aedes and mqtt.js must not hold its 65,536-Buffer number cache (~6 MB of heap).
import { createRequire } from 'node:module';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../gateway/mqtt/broker.js';
import { silent } from '../helpers/context.js';

const require = createRequire(import.meta.url);
/** The numbers module of the mqtt-packet copy that `owner` (aedes or mqtt) loads. */
const numbersOf = (owner: string) => createRequire(createRequire(require.resolve(owner)).resolve('mqtt-packet'))('./numbers.js') as { cache: Record<number, Buffer> };

describe('mqtt-packet number cache', () => {
  it('stays empty while the embedded broker and a client exchange QoS 1 messages, and the bytes on the wire are right', async () => {
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'choco-edge', allowAnonymous: true, users: [], internal: { username: 'i', password: 'i' }, reservedClientIds: [] }, silent);
    const { port } = await broker.start();
    try {
      const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      const got: string[] = [];
      const all = new Promise<void>((resolve) => sub.on('message', (_t, p) => got.push(p.toString()) === 300 && resolve()));
      await sub.subscribeAsync('t/#', { qos: 1 });
      // 300 messages: packet ids past 255 need both bytes of the 16-bit number; a 300-byte payload needs a 2-byte length.
      for (let i = 0; i < 300; i++) await pub.publishAsync(`t/${i}`, `${i}:${'x'.repeat(300)}`, { qos: 1 });
      await all;
      expect(got.map((p) => Number(p.split(':')[0]))).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(got.every((p) => p.length === p.indexOf(':') + 301)).toBe(true);
      await sub.endAsync();
      await pub.endAsync();
    } finally {
      await broker.stop();
    }
    expect(Object.keys(numbersOf('aedes').cache)).toHaveLength(0);
    expect(Object.keys(numbersOf('mqtt').cache)).toHaveLength(0);
  });
});
