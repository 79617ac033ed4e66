import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { FakeClock, SystemClock } from '../../gateway/time/clock.js';
import { loadConfig } from '../../gateway/config/load.js';
import type { Config } from '../../gateway/config/schema.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { SeriesStore } from '../../gateway/series/store.js';

export const silent = pino({ level: 'silent' });

/** Config for tests: free ports, a temp data dir, quick retries, every source pointed at `base`. */
export function testConfig(base: string, overrides: Record<string, unknown> = {}): Config {
  const deep = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' ? deep(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
    return out;
  };
  return loadConfig({
    env: {},
    overrides: deep(
      {
        dataDir: mkdtempSync(join(tmpdir(), 'choco-gw-')),
        // The test box's clock is taken as it is (no NTP status here, often no server to confirm it); the clock
        // tests (test/faults/clock-step.test.ts) switch verification on.
        clock: { verify: false },
        log: { level: 'silent' },
        http: { host: '127.0.0.1', port: 0, token: 'http-test-token' },
        mqtt: { embedded: { host: '127.0.0.1', port: 0, wsPort: 0, allowAnonymous: true }, reconnectMs: 200 },
        fetch: { timeoutMs: 500, retries: 2, backoffMs: 0, maxBackoffMs: 0 },
        sources: {
          ree: { baseUrl: base, backfillIntervalMs: 0, backfillDays: 3 },
          esios: { baseUrl: base, backfillIntervalMs: 0, backfillDays: 3, token: 'test-token', enabled: true },
          omie: { baseUrl: base, backfillIntervalMs: 0, backfillDays: 3 },
        },
      },
      overrides,
    ),
  });
}

export interface TestContext extends PluginContext {
  clock: FakeClock;
  events: Array<BusEvents['series.updated']>;
  close(): Promise<void>;
}

/** A plugin context with real parts: LevelDB in a temp dir, a real fetcher, a fake clock; MQTT left unconnected. */
export async function pluginContext(config: Config, now: string): Promise<TestContext> {
  const clock = new FakeClock(now);
  const store = await SeriesStore.open(join(config.dataDir, 'store'));
  const bus = new EventBus();
  const events: Array<BusEvents['series.updated']> = [];
  bus.on('series.updated', 'test', (e) => events.push(e));
  return {
    config,
    clock,
    log: silent,
    bus,
    store,
    fetcher: new Fetcher(clock, config.fetch),
    mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 'test', clientId: 'x', reconnectMs: 1000 }, clock, silent),
    mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [],
    events,
    close: () => store.close(),
  };
}

/** A plugin context on real time over a given store (device tests: Modbus timers run on real time); MQTT left unconnected. */
export function realTimePluginContext(config: Config, store: SeriesStore): PluginContext {
  const clock = new SystemClock();
  return {
    config,
    clock,
    log: silent,
    bus: new EventBus(),
    store,
    fetcher: new Fetcher(clock, config.fetch),
    mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 'test', clientId: 'x', reconnectMs: 1000 }, clock, silent),
    mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [],
  };
}
