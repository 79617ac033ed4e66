// npm run bench: prints numbers, never pass/fail. Everything runs on loopback with real parts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { FakeClock } from '../../gateway/time/clock.js';
import { Gateway } from '../../gateway/controller.js';
import type { DaySource } from '../../gateway/sources/day-source.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { tf } from '../../gateway/inference/backend.js';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { buildPriceFeatures } from '../../gateway/inference/price-features.js';
import { forecastPrices } from '../../gateway/inference/price-model.js';
import { ModelRegistry, asNetwork } from '../../gateway/inference/registry.js';
import { projectPath } from '../../gateway/util/version.js';
import { EventBus } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { WeatherSource } from '../../gateway/sources/weather-source.js';
import { aemetPlugin } from '../../plugins/aemet/index.js';
import { createModbusSensors } from '../../plugins/modbus-sensors/index.js';
import { openWeatherMapPlugin } from '../../plugins/openweathermap/index.js';
import { pluginContext, silent, testConfig } from '../helpers/context.js';
import { AEMET_KEY, FIXTURES, FixtureServer, fixture, OWM_KEY, aemetRoutes, owmRoutes, recordedRoutes } from '../helpers/fixture-server.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { EmbeddedBroker } from '../../gateway/mqtt/broker.js';
import { execFileSync, spawn } from 'node:child_process';
import { scaleBench } from './scale.js';
import { opcuaStartAndIdle } from './opcua.js';
import { NODE_FLAGS } from '../../gateway/util/node-flags.js';
import { idleBench, type IdleFigures } from './idle.js';
import { brokerHop, fsyncFloor, loadavg, productionInstall } from './anchors.js';
import { storeOpenBench } from './store-open.js';
import { plannerBench, plannerReport } from './planner.js';
import { DAY_MS, HOUR_MS, addDays, localDayRange } from '../../gateway/time/tz.js';
import { tailBreakdown, traceIngest, type RunTrace } from './ingest-trace.js';

/** Issue 24's figures, each with its floor or anchor, collected as the benches run and printed at the end. */
const issue24: Array<[string, string, string]> = [];
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;

/** The daily price recalibration (issue 11 target: < 60 s of one core, < 100 MB extra), in a child process of its own. */
function dailyRecalibration(): void {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', new URL('./recalibration.ts', import.meta.url).pathname], { encoding: 'utf8' });
  type Cost = { cpuMs: number; wallMs: number; maxRssGrowthMb: number; calibrations: number };
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { data: string; lastDay: string; first: Cost; cost: Cost; rssGrowthMb: number; members: number; calibrationJsonKb: number };
  const text = (c: Cost) => `${c.calibrations} calibrations, CPU ${(c.cpuMs / 1000).toFixed(1)} s, wall ${(c.wallMs / 1000).toFixed(1)} s, peak RSS +${c.maxRssGrowthMb} MB`;
  console.log(`price recalibration (${r.data}, prices up to ${r.lastDay}, quarter-hours, windows 28/56/84/364 d, 14-day backtest): first run ${text(r.first)}; daily run ${text(r.cost)}; RSS after both +${r.rssGrowthMb} MB; ${r.members} members, calibration.json ${r.calibrationJsonKb} kB`);
}

/** A FakeClock that can also jump forward without firing the timers in between (the bench's day-to-day step). */
class BenchClock extends FakeClock {
  private offset = 0;
  override now(): number {
    return super.now() + this.offset;
  }
  jumpTo(at: number): void {
    this.offset = Math.max(this.offset, at - super.now());
  }
}

async function ingestToPublish(iterations: number): Promise<void> {
  const server = await new FixtureServer().start();
  // What a real box does: at 13:00 local it ingests the NEXT day, so every run ingests a new day (the recorded
  // 2025-10-01 OMIE file, its date fields rewritten; DST days skipped) and the clock moves a day between runs.
  // BENCH_INGEST_SAME_DAY=1: the old bench, the same day re-ingested every run (LevelDB piles versions of the same keys).
  const sameDay = process.env.BENCH_INGEST_SAME_DAY === '1';
  const recorded = fixture('omie/marginalpdbc_20251001.1');
  server.routes = [
    (_req, url) => {
      const m = /^marginalpdbc_(\d{4})(\d{2})(\d{2})\.1$/.exec(url.searchParams.get('filename') ?? '');
      if (sameDay || !m) return undefined;
      return { headers: { 'content-type': 'application/octet-stream' }, body: recorded.replace(/^2025;10;01;/gm, `${m[1]};${m[2]};${m[3]};`) };
    },
    ...recordedRoutes(),
  ];
  const clock = new BenchClock('2025-10-01T11:00:00Z');
  const config = testConfig(server.base, { sources: { ree: { enabled: false }, esios: { enabled: false } } });
  const gw = new Gateway({ config, clock, log: silent });
  await gw.start();
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`);
  let waiting: { fetchedAt: string; resolve: () => void } | undefined;
  const trace = traceIngest(gw, 'choco-edge/prices/omie_es', 'omie_es');
  const runs: RunTrace[] = [];
  sub.on('message', (_t, payload) => {
    trace.received();
    const p = JSON.parse(payload.toString()) as { fetched_at: string };
    if (waiting && p.fetched_at === waiting.fetchedAt) waiting.resolve();
  });
  await sub.subscribeAsync('choco-edge/prices/omie_es', { qos: 1 });
  const omie = gw.plugins.get('omie')!.plugin as DaySource;
  const samples: number[] = [];
  const cpu: number[] = [];
  const load = loadavg();
  // The first runs load modules lazily and compile the path (JIT): WARMUP runs first, not counted (printed below).
  const WARMUP = 20;
  // V8's GC pauses inside each run, to tell a collector's pause from the path's own time in the tail.
  let gcMs = 0;
  const gcPauses: number[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const tz = config.site.timezone;
  let day = '2025-10-01';
  for (let i = -WARMUP; i < iterations; i++) {
    await clock.advance(1000);
    if (!sameDay) {
      // The next day that is not a DST change (the recorded file has 96 quarter-hours), ingested the day before.
      do day = addDays(day, 1);
      while (localDayRange(day, tz).end - localDayRange(day, tz).start !== DAY_MS);
      clock.jumpTo(localDayRange(day, tz).start - 11 * HOUR_MS);
    }
    const fetchedAt = new Date(clock.now()).toISOString();
    const delivered = new Promise<void>((resolve) => (waiting = { fetchedAt, resolve }));
    const t0 = trace.begin();
    const c0 = process.cpuUsage();
    gcMs = 0;
    let ingestAt = 0;
    await Promise.all([omie.ingestDay(sameDay ? '2025-10-01' : day).then(() => void (ingestAt = performance.now())), delivered]);
    const run = trace.end(t0, ingestAt);
    if (i < 0) continue;
    runs.push(run);
    samples.push(run.total);
    gcPauses.push(gcMs);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  console.log(`ingest→store→MQTT (a day of 96 quarter-hour OMIE prices: HTTP fetch, parse, fsynced LevelDB batch, publish, delivery to a subscriber), ${iterations} runs after ${WARMUP} not counted (module loading, JIT); ${sameDay ? 'the SAME day (2025-10-01) re-ingested every run (BENCH_INGEST_SAME_DAY=1: identical keys pile up in LevelDB, which a real box does not do)' : 'each run ingests the NEXT day at 13:00 local, as a real box does (new keys; the recorded 2025-10-01 file with its date rewritten)'}; HTTP fixture server and subscriber in this same process`);
  gcObserver.disconnect();
  const withGc = gcPauses.filter((ms) => ms > 0).length;
  const noGc = samples.filter((_, i) => gcPauses[i] === 0);
  console.log(`  p50 ${fmt(pct(samples, 50))}   p99 ${fmt(pct(samples, 99))}   max ${fmt(Math.max(...samples))}; CPU of this process per run (gateway, HTTP server and subscriber together) p50 ${fmt(pct(cpu, 50))} p99 ${fmt(pct(cpu, 99))}; load ${load}`);
  for (const line of tailBreakdown(runs).lines) console.log(line);
  // Runs in which no thread of this process waited ≥ 1 ms for a core (the box's other processes took none of the run).
  const unwaited = runs.filter((r) => r.runQueueAllMs < 1).map((r) => r.total);
  console.log(`  other processes: ${runs.length - unwaited.length} of ${runs.length} runs had a thread of this process wait ≥ 1 ms for a core (longest ${fmt(Math.max(0, ...runs.map((r) => r.runQueueAllMs)))}); the runs without: p50 ${unwaited.length ? fmt(pct(unwaited, 50)) : '-'}, p99 ${unwaited.length ? fmt(pct(unwaited, 99)) : '-'}`);
  trace.close();
  console.log(`  GC: ${withGc} of ${samples.length} runs had a pause inside (longest ${fmt(Math.max(0, ...gcPauses))}); the runs without one: p50 ${noGc.length ? fmt(pct(noGc, 50)) : '-'}, p99 ${noGc.length ? fmt(pct(noGc, 99)) : '-'}; load now ${loadavg()}`);
  const fsync = fsyncFloor();
  const hop = await brokerHop();
  console.log(`  floors, same run: one 4 kB write + fdatasync in the temp folder p50 ${fmt(fsync.p50)} p99 ${fmt(fsync.p99)}; one QoS 1 broker hop (8 kB, embedded aedes, loopback) p50 ${fmt(hop.p50)} p99 ${fmt(hop.p99)}`);
  issue24.push(['ingest → store → MQTT delivery', `${sameDay ? 'same day every run' : 'next day each run'}: p50 ${fmt(pct(samples, 50))}, p99 ${fmt(pct(samples, 99))} (CPU p50 ${fmt(pct(cpu, 50))}, p99 ${fmt(pct(cpu, 99))}); runs no thread of which waited ≥ 1 ms for a core (${unwaited.length}): p99 ${unwaited.length ? fmt(pct(unwaited, 99)) : '-'}; load ${load}`, `fsync p50 ${fmt(fsync.p50)} / p99 ${fmt(fsync.p99)}; broker hop p50 ${fmt(hop.p50)} / p99 ${fmt(hop.p99)}`]);
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
    const dir = mkdtempSync(join(tmpdir(), 'choco-bench-'));
    const store = await SeriesStore.open(dir, { sync });
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
  // The open's check at ~35 k records and at a year of records (test/bench/store-open.ts).
  issue24.push(await storeOpenBench());
}

async function weatherPollCost(iterations: number): Promise<void> {
  const server = await new FixtureServer().start();
  server.routes = [...aemetRoutes(server), ...owmRoutes()];
  const config = testConfig(server.base, {
    sources: {
      aemet: { enabled: true, baseUrl: `${server.base}/opendata/api`, apiKey: AEMET_KEY, stations: ['3195'], municipality: '28065' },
      openweathermap: { enabled: true, baseUrl: server.base, apiKey: OWM_KEY },
    },
  });
  for (const [name, factory, now] of [
    ['AEMET (2 two-step requests, ISO-8859-15, 23 observations + the forecast hours still ahead)', aemetPlugin, '2021-01-09T12:30:00Z'],
    ['OpenWeatherMap (current + 40 forecast slots)', openWeatherMapPlugin, '2022-08-30T15:10:00Z'],
  ] as const) {
    const ctx = await pluginContext(config, now);
    const source = factory.create(ctx) as WeatherSource;
    const samples: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await source.ingest();
      const c = process.cpuUsage(c0);
      samples.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
    }
    console.log(`weather poll, ${name}, ${iterations} runs: p50 ${fmt(pct(samples, 50))} p99 ${fmt(pct(samples, 99))}; CPU p50 ${fmt(pct(cpu, 50))}`);
    await ctx.close();
  }
  await server.stop();
}

async function modbusPollAndReconnect(): Promise<void> {
  const plc = new FakePlc(await freePort());
  await plc.start();
  for (let a = 0; a < 8; a++) plc.holding.set(a, 100 + a);
  const points = Array.from({ length: 8 }, (_, a) => ({ name: `p${a}`, address: a, type: 'int16' }));
  const config = testConfig('http://127.0.0.1:9', { modbus: { devices: [{ name: 'bench', host: '127.0.0.1', port: plc.port, pollMs: 100, timeoutMs: 500, maxBackoffMs: 1000, points }] } });
  const store = await SeriesStore.open(join(config.dataDir, 'store'));
  const clock = new SystemClock();
  const plugin = createModbusSensors({ config, clock, log: silent, bus: new EventBus(), store, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 'b', clientId: 'b', reconnectMs: 1000 }, clock, silent), mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [] });
  await plugin.start();
  const polls = () => (plugin.health().details!.devices as Record<string, { polls: number }>).bench!.polls;
  await waitUntil(() => polls() > 0);
  const p0 = polls();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 2000));
  console.log(`modbus poll of 8 int16 points over TCP (one block read, decode, one readings record per cycle, group commit), fixed rate 100 ms: ${polls() - p0} polls in ${((performance.now() - t0) / 1000).toFixed(1)} s (20 wanted)`);
  const reconnects: number[] = [];
  for (let i = 0; i < 5; i++) {
    await plc.stop();
    await waitUntil(() => plugin.readings().p0!.state === 'failed');
    plc.holding.set(0, 200 + i);
    const back = performance.now();
    await plc.start();
    await waitUntil(() => plugin.readings().p0!.value === 200 + i);
    reconnects.push(performance.now() - back);
  }
  console.log(`modbus reconnect after a device power cycle (maxBackoffMs 1000), 5 cycles: p50 ${fmt(pct(reconnects, 50))}, max ${fmt(Math.max(...reconnects))}`);
  await plugin.stop();
  await plc.stop();
  await store.close();
}

async function waitUntil(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function inference(): Promise<void> {
  const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-bench-models-')));
  const loads: Record<string, number[]> = {};
  let registry: ModelRegistry | undefined;
  for (let i = 0; i < 5; i++) {
    registry = new ModelRegistry([{ path: projectPath('models'), writable: false }], store, silent, () => Date.now());
    await registry.refresh();
    for (const m of registry.loaded()) (loads[m.name] ??= []).push(m.loadMs);
  }
  const r = registry!;
  console.log(`model load (${r.backend!.name} backend, init ${r.backend!.initMs.toFixed(0)} ms once): ${Object.entries(loads).map(([n, xs]) => `${n} p50 ${fmt(pct(xs, 50))}`).join(', ')}`);
  const prices = loadHourlyPrices(join(FIXTURES, 'models/omie_es_2025-11.csv.gz'));
  const lastKnownEnd = Date.parse('2025-11-29T23:00:00Z');
  const model = asNetwork(r.get('price-forecaster').model, 'price-forecaster');
  const row = buildPriceFeatures(prices, lastKnownEnd).rows[0]!;
  const single: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    tf.tidy(() => (model.predict(tf.tensor2d([row])) as import('../../gateway/inference/tf.js').Tensor).dataSync());
    single.push(performance.now() - t0);
  }
  console.log(`price forecaster, batch 1 (one row): p50 ${fmt(pct(single, 50))} p99 ${fmt(pct(single, 99))}`);
  const horizon: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    forecastPrices(model, prices, lastKnownEnd);
    horizon.push(performance.now() - t0);
  }
  console.log(`price forecaster, 48-hour horizon (features + batch of 48): p50 ${fmt(pct(horizon, 50))} p99 ${fmt(pct(horizon, 99))}`);
  await store.close();
}

/** The planner's figures (test/bench/planner.ts): without and with a contract (issue #22), each beside its anchor. */
async function planning(contract = false): Promise<void> {
  const { lines, rows } = plannerReport(await plannerBench(contract));
  console.log(lines.join('\n'));
  issue24.push(...rows);
}

async function coldStartAndIdle(): Promise<void> {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'ignore' });
  const port = await freePort();
  const env = { ...process.env, CHOCO_EDGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'choco-cold-')), CHOCO_EDGE_HTTP_PORT: String(await freePort()), CHOCO_EDGE_HTTP_HOST: '127.0.0.1', CHOCO_EDGE_MQTT_EMBEDDED_PORT: String(port), CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0', CHOCO_EDGE_MQTT_EMBEDDED_HOST: '127.0.0.1', CHOCO_EDGE_MQTT_EMBEDDED_ALLOW_ANONYMOUS: 'true', CHOCO_EDGE_SOURCES_REE_BASE_URL: 'http://127.0.0.1:9', CHOCO_EDGE_SOURCES_OMIE_BASE_URL: 'http://127.0.0.1:9', CHOCO_EDGE_FETCH_RETRIES: '0', CHOCO_EDGE_LOG_LEVEL: 'error' };
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, projectPath('dist/gateway/main.js'), 'start'], { env, stdio: 'ignore' });
  let firstPublishMs = NaN;
  for (;;) {
    try {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 });
      await new Promise<void>((resolve) => {
        c.on('message', () => resolve());
        void c.subscribeAsync('choco-edge/#');
      });
      firstPublishMs = performance.now() - t0;
      await c.endAsync();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (performance.now() - t0 > 60_000) break;
  }
  await new Promise((r) => setTimeout(r, 8_000));
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  console.log(`cold start (node ${NODE_FLAGS.join(" ")} dist/gateway/main.js start; networks load on first use) to the first MQTT message: ${fmt(firstPublishMs)}; idle RSS after 8 s: ${rss.toFixed(1)} MB`);
}

async function brokerThroughput(): Promise<void> {
  const measure = async (url: string, qos: 0 | 1, n: number): Promise<number> => {
    const sub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    let got = 0;
    const done = new Promise<void>((resolve) => sub.on('message', () => ++got === n && resolve()));
    await sub.subscribeAsync('bench/t', { qos });
    const payload = Buffer.alloc(200, 'x');
    const t0 = performance.now();
    for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => pub.publishAsync('bench/t', payload, { qos })));
    await done;
    const rate = n / ((performance.now() - t0) / 1000);
    await sub.endAsync();
    await pub.endAsync();
    return rate;
  };
  const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'choco-edge', allowAnonymous: true, users: [], internal: { username: 'i', password: 'i' }, reservedClientIds: [] }, silent);
  const { port } = await broker.start();
  const rows = [`embedded aedes: QoS 0 ${Math.round(await measure(`mqtt://127.0.0.1:${port}`, 0, 20_000)).toLocaleString('en')} msg/s, QoS 1 ${Math.round(await measure(`mqtt://127.0.0.1:${port}`, 1, 10_000)).toLocaleString('en')} msg/s`];
  await broker.stop();
  if (MOSQUITTO) {
    const m = new Mosquitto(await freePort());
    await m.start();
    rows.push(`Mosquitto ${'2.0'}: QoS 0 ${Math.round(await measure(`mqtt://127.0.0.1:${m.port}`, 0, 20_000)).toLocaleString('en')} msg/s, QoS 1 ${Math.round(await measure(`mqtt://127.0.0.1:${m.port}`, 1, 10_000)).toLocaleString('en')} msg/s`);
    await m.stop();
  } else rows.push('Mosquitto not installed: no comparison (apt-get install mosquitto)');
  console.log(`broker throughput, one publisher → one subscriber, 200-byte messages, 100 in flight:\n  ${rows.join('\n  ')}`);
}

console.log(`choco-edge bench on node ${process.version}, ${new Date().toISOString()}`);
// `npm run bench -- --scale`: only the plant-floor scale run (100, 1,000 and 5,000 tags at 1 s, and idle).
if (process.argv.includes('--scale')) {
  await scaleBench();
  process.exit(0);
}
// `npm run bench -- --planner`: only the planner run (MILP and greedy fallback on 10 instances).
if (process.argv.includes('--planner')) {
  if (!process.argv.includes('--contract-only')) await planning();
  await planning(true);
  console.log('\nissue 24, planner rows (this run):\n| figure | measured | floor or anchor |\n|---|---|---|');
  for (const [figure, measured, floor] of issue24) console.log(`| ${figure} | ${measured} | ${floor} |`);
  process.exit(0);
}
// `npm run bench -- --opcua`: only the OPC UA start time and idle RSS, without and with a device.
if (process.argv.includes('--opcua')) {
  await opcuaStartAndIdle();
  process.exit(0);
}
// `npm run bench -- --ingest`: only the ingest → store → MQTT latency and its floors (BENCH_REPEAT times).
if (process.argv.includes('--ingest')) {
  for (let i = 0; i < Number(process.env.BENCH_REPEAT ?? 1); i++) await ingestToPublish(Number(process.env.BENCH_ITERATIONS ?? 200));
  process.exit(0);
}
// `npm run bench -- --store-open`: only the store's open with its integrity check, at ~35 k records and at a year.
if (process.argv.includes('--store-open')) {
  console.log((await storeOpenBench()).join(' | '));
  process.exit(0);
}
// `npm run bench -- --idle`: only the idle memory of the real gateway and its floors.
if (process.argv.includes('--idle')) {
  await idleBench();
  process.exit(0);
}
{
  const load = loadavg();
  const install = productionInstall();
  if ('error' in install) console.log(`production install: ${install.error}`);
  else console.log(`production install (npm ci --omit=dev + dist/): ${install.totalMb.toFixed(0)} MB (node_modules ${install.nodeModulesMb.toFixed(0)}, dist ${install.distMb.toFixed(1)}); TensorFlow.js ${install.tensorflowMb.toFixed(0)} MB; largest: ${install.top} (MB); after tools/prune-production.mjs ${install.prunedTotalMb.toFixed(0)} MB (TensorFlow.js ${install.prunedTensorflowMb.toFixed(0)} MB)`);
  issue24.push(['installed tree for production (npm ci --omit=dev + dist/, then tools/prune-production.mjs)', 'error' in install ? install.error : `${install.prunedTotalMb.toFixed(0)} MB after the prune step (${install.totalMb.toFixed(0)} MB before it), of which TensorFlow.js ${install.prunedTensorflowMb.toFixed(0)} MB (${install.tensorflowMb.toFixed(0)}); load ${load}`, 'tfjs-core + layers + wasm backend (+ the cpu backend it depends on) ≈ 90 MB as installed']);
}
await ingestToPublish(Number(process.env.BENCH_ITERATIONS ?? 200));
await storeThroughput();
await weatherPollCost(50);
await modbusPollAndReconnect();
await inference();
dailyRecalibration();
await planning();
await planning(true);
await coldStartAndIdle();
await opcuaStartAndIdle();
const idle: IdleFigures = await idleBench();
issue24.push(['idle RSS, default configuration, 8 s after start', `${idle.rssMb.toFixed(1)} MB (${idle.defaultFlagsRssMb.toFixed(1)} MB without ${NODE_FLAGS.join(' ')}); load ${idle.load}`, `bare node importing every library the gateway can load ${idle.floorAllMb.toFixed(1)} MB; those loaded at idle ${idle.floorIdleMb.toFixed(1)} MB`]);
await brokerThroughput();
const scale = await scaleBench();
const at5000 = scale.find((r) => r.tags === 5000);
if (at5000) issue24.push(['5,000 Modbus tags at 1 s', `RSS ${at5000.rss.toFixed(0)} MB (peak ${at5000.peak.toFixed(0)}), heap ${at5000.heapMb.toFixed(0)} MB, CPU ${at5000.cpu.toFixed(1)} % of a core`, 'Neuron: 256 MB per 1 k tags; the idle gateway above']);
console.log('\nissue 24, each figure with its floor or anchor (this run):');
console.log('| figure | measured | floor or anchor |\n|---|---|---|');
for (const [figure, measured, floor] of issue24) console.log(`| ${figure} | ${measured} | ${floor} |`);
