// npm run bench: prints numbers, never pass/fail. Everything runs on loopback with real parts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { FakeClock } from '../../gateway/clock.js';
import { Gateway } from '../../gateway/controller.js';
import type { DaySource } from '../../gateway/day-source.js';
import { SeriesStore } from '../../gateway/store/series-store.js';
import { silent, testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;

async function ingestToPublish(iterations: number): Promise<void> {
  const server = await new FixtureServer().start();
  server.routes = recordedRoutes();
  const clock = new FakeClock('2025-10-01T10:00:00Z');
  const config = testConfig(server.base, { sources: { ree: { enabled: false }, esios: { enabled: false } } });
  const gw = new Gateway({ config, clock, log: silent });
  await gw.start();
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`);
  let waiting: { fetchedAt: string; resolve: () => void } | undefined;
  sub.on('message', (_t, payload) => {
    const p = JSON.parse(payload.toString()) as { fetched_at: string };
    if (waiting && p.fetched_at === waiting.fetchedAt) waiting.resolve();
  });
  await sub.subscribeAsync('choco-edge/prices/omie_es', { qos: 1 });
  const omie = gw.plugins.get('omie')!.plugin as DaySource;
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    await clock.advance(1000);
    const fetchedAt = new Date(clock.now()).toISOString();
    const delivered = new Promise<void>((resolve) => (waiting = { fetchedAt, resolve }));
    const t0 = performance.now();
    await omie.ingestDay('2025-10-01');
    await delivered;
    samples.push(performance.now() - t0);
  }
  console.log(`ingest→store→MQTT (a day of 96 quarter-hour OMIE prices: HTTP fetch, parse, fsynced LevelDB batch, publish, delivery to a subscriber), ${iterations} runs`);
  console.log(`  p50 ${fmt(pct(samples, 50))}   p99 ${fmt(pct(samples, 99))}   max ${fmt(Math.max(...samples))}`);
  await sub.endAsync();
  await gw.stop();
  await server.stop();
}

async function storeThroughput(): Promise<void> {
  const QUARTER = 900_000;
  const DAY = 96;
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  const yearSlots = Array.from({ length: 366 * DAY }, (_, i) => ({ start: t0 + i * QUARTER, end: t0 + (i + 1) * QUARTER, value: Math.sin(i / 50) * 100 }));
  for (const sync of [true, false]) {
    const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-bench-')), { sync });
    const started = performance.now();
    for (let d = 0; d < 366; d++) await store.write('omie_es', 'EUR/MWh', yearSlots.slice(d * DAY, (d + 1) * DAY), { source: 'bench', fetchedAt: 0 });
    const elapsed = performance.now() - started;
    console.log(`store write, one day (96 slots) per batch, sync=${sync}: ${Math.round(yearSlots.length / (elapsed / 1000)).toLocaleString('en')} slots/s (${(elapsed / 366).toFixed(2)} ms per day batch)`);
    if (sync) {
      const reads: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = performance.now();
        const got = await store.read('omie_es', t0, t0 + 366 * DAY * QUARTER);
        reads.push(performance.now() - s);
        if (got.length !== yearSlots.length) throw new Error(`read ${got.length} slots, expected ${yearSlots.length}`);
      }
      console.log(`1-year range read (${yearSlots.length.toLocaleString('en')} quarter-hour slots): median ${fmt(pct(reads, 50))}, best ${fmt(Math.min(...reads))}`);
    }
    await store.close();
  }
}

console.log(`choco-edge bench on node ${process.version}, ${new Date().toISOString()}`);
await ingestToPublish(Number(process.env.BENCH_ITERATIONS ?? 200));
await storeThroughput();
