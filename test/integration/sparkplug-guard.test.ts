import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { codec, createSparkplug } from '../../plugins/sparkplug/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const H = 3_600_000;
const QH = 15 * 60_000;

/**
 * The quarter-hour guard (plugins/power-guard) defers a run start: the PLC lines write the deferred state
 * (gateway/lines), and the line's Sparkplug metrics must say the same, not the plan as it was (a SCADA host reading
 * Sparkplug would otherwise see `run` while the PLC was told `idle`). Real Mosquitto, real plugin.
 */
describe('Sparkplug line metrics follow the quarter-hour guard', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a deferred run start turns the line command idle until the deferred start, and back when the deferral is lifted', { timeout: 60_000 }, async () => {
    const broker = new Mosquitto(await freePort(), ['allow_anonymous true']);
    await broker.start();
    cleanups.push(() => broker.stop());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const commands: string[] = [];
    const spy = await mqtt.connectAsync(url, { clientId: 'guard-spy' });
    cleanups.push(() => spy.endAsync());
    spy.on('message', (topic, payload) => {
      if (!topic.endsWith('/conching')) return;
      const m = (codec.decodePayload(payload).metrics ?? []).find((x) => x.name === 'command');
      if (m) commands.push(String(m.value));
    });
    await spy.subscribeAsync('spBv1.0/plants/#', { qos: 1 });
    const config = testConfig('http://127.0.0.1:9', { sparkplug: { enabled: true, groupId: 'plants', url } });
    const store = await SeriesStore.open(join(config.dataDir, 'store'));
    cleanups.push(() => store.close());
    const clock = new SystemClock();
    const bus = new EventBus();
    const plugin = createSparkplug({ config, clock, log: silent, bus, store, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: url, mqttCredentials: {}, catalog: () => [] });
    await plugin.start();
    cleanups.push(() => plugin.stop());
    // Conching planned from 1 minute ago to +2 h: the plan says run now.
    const now = Date.now();
    const runStart = now - 60_000;
    bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: planDocument(now, [lineRun('conching', runStart, now + 2 * H, 48)]) });
    await vi.waitFor(() => expect(commands.at(-1)).toBe('run'), { timeout: 60_000 });
    // The guard holds that start to the next quarter-hour but one: the line is told idle until then.
    const shift = { line: 'conching', runStart, shiftMs: 2 * QH, reason: 'P1 limit 450 kW would be exceeded' };
    bus.emit('power.guard', { shifts: [shift], loadsOff: [], projectedKw: 470, limitKw: 450, period: 1, at: now });
    await vi.waitFor(() => expect(commands.at(-1)).toBe('idle'), { timeout: 60_000 });
    // The deferral lifted: run again.
    bus.emit('power.guard', { shifts: [], loadsOff: [], projectedKw: 300, limitKw: 450, period: 1, at: now });
    await vi.waitFor(() => expect(commands.at(-1)).toBe('run'), { timeout: 60_000 });
  });
});
