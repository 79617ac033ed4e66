// The plant floor at scale: the real gateway process (dist/gateway/main.js) polling N holding registers every second
// from 10 real Modbus TCP servers (modbus-serial ServerTCP), price and weather sources off. Numbers, never pass/fail.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import modbusSerial from 'modbus-serial';
import mqtt from 'mqtt';
import { SeriesStore } from '../../gateway/series/store.js';
import { projectPath } from '../../gateway/util/version.js';
import { planBlocks } from '../../plugins/modbus-sensors/blocks.js';
import { freePort } from '../helpers/mosquitto.js';
import { NODE_FLAGS } from '../../gateway/util/node-flags.js';

const { ServerTCP } = modbusSerial as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP };
const DEVICES = 10;
const CLK_TCK = 100;

/** One simulated device: every register drifts slowly (20 × sin over a minute), so roughly a third of them change each second. */
async function startDevice(port: number, counter: { requests: number }): Promise<InstanceType<typeof ServerTCP>> {
  const value = (addr: number) => Math.round(200 + 20 * Math.sin(Date.now() / 60_000 + addr));
  const server = new ServerTCP(
    {
      getHoldingRegister: (addr: number, _u: number, cb: (e: unknown, v: number) => void) => (counter.requests++, cb(null, value(addr))),
      getMultipleHoldingRegisters: (addr: number, length: number, _u: number, cb: (e: unknown, v: number[]) => void) => (counter.requests++, cb(null, Array.from({ length }, (_, i) => value(addr + i)))),
    } as never,
    { host: '127.0.0.1', port, unitID: 1 },
  );
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', reject);
  });
  return server;
}

const procStat = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
};
const procIo = (pid: number) => Number(/write_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
const procMem = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024, peak: Number(/VmHWM:\s+(\d+)/.exec(s)![1]) / 1024 };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  tags: number;
  cpu: number;
  rss: number;
  peak: number;
  bytesPerMin: number;
  pollsPerDevice: { mean: number; min: number };
  mqttPerS: number;
  requestsPerCycle: number;
  serverRequestsPerCycle: number;
  healthzMs: number;
  healthzBestMs: number;
  health: string;
  heapMb: number;
  externalMb: number;
}

async function runOne(tags: number, windowS: number, historyHours: number): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'choco-scale-'));
  const counter = { requests: 0 };
  const servers: Array<InstanceType<typeof ServerTCP>> = [];
  const perDevice = tags / DEVICES;
  const devices = [];
  for (let d = 0; d < (tags ? DEVICES : 0); d++) {
    const port = await freePort();
    servers.push(await startDevice(port, counter));
    devices.push({ name: `dev${d}`, host: '127.0.0.1', port, pollMs: 1000, timeoutMs: 2000, publish: 'device', points: Array.from({ length: perDevice }, (_, i) => ({ name: `d${d}_p${i}`, address: i, type: 'int16', scale: 0.1 })) });
  }
  if (historyHours > 0 && devices.length) {
    // History before the gateway starts: `historyHours` of 1 s cycles per device, written the way the gateway writes them.
    const store = await SeriesStore.open(join(dataDir, 'store'));
    const now = Date.now();
    for (const dev of devices) {
      const blocks = planBlocks(dev.points.map((p) => ({ register: 'holding' as const, address: p.address, type: 'int16' as const })), 16);
      const blockOf = new Array<number>(dev.points.length).fill(0);
      blocks.forEach((b, bi) => b.points.forEach((p) => (blockOf[p.index] = bi)));
      await store.readings.register({ device: dev.name, source: `modbus/${dev.name}`, pollMs: 1000, series: dev.points.map((p) => `sensor.${p.name}`), units: dev.points.map(() => 'degC'), blockOf });
      for (let c = historyHours * 3600; c > 0; c--) {
        store.readings.append(dev.name, { at: now - c * 1000, offsets: blocks.map((_, i) => i * 2), values: dev.points.map((p) => Math.round(200 + 20 * Math.sin((now - c * 1000) / 60_000 + p.address)) / 10) });
        if (c % 600 === 0) await store.readings.commit();
      }
    }
    await store.close();
  }
  const configFile = join(dataDir, 'config.yaml');
  const httpPort = await freePort();
  const mqttPort = await freePort();
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir,
      log: { level: 'error' },
      http: { host: '127.0.0.1', port: httpPort },
      mqtt: { embedded: { host: '127.0.0.1', port: mqttPort, wsPort: 0, allowAnonymous: true } },
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, aemet: { enabled: false }, openweathermap: { enabled: false } },
      modbus: { devices },
    }),
  );
  const child: ChildProcess = spawn(process.execPath, [...NODE_FLAGS, projectPath('dist/gateway/main.js'), 'start', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = child.pid!;
  const http = `http://127.0.0.1:${httpPort}`;
  const sensors = async () => (await (await fetch(`${http}/api/sensors`)).json()) as { devices: Record<string, { polls: number; requests_per_cycle: number }> };
  for (const t0 = Date.now(); ; ) {
    try {
      const s = await sensors();
      if (Object.keys(s.devices).length === devices.length && Object.values(s.devices).every((d) => d.polls > 0)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 120_000) throw new Error('gateway did not start polling within 2 minutes');
    await sleep(200);
  }
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`);
  let messages = 0;
  sub.on('message', () => messages++);
  await sub.subscribeAsync('choco-edge/#');
  await sleep(10_000); // warm-up: JIT, first commits, the retained burst on subscribe
  const before = { cpu: procStat(pid), io: procIo(pid), s: await sensors(), requests: counter.requests, messages, at: performance.now() };
  await sleep(windowS * 1000);
  const after = { cpu: procStat(pid), io: procIo(pid), s: await sensors(), requests: counter.requests, messages, at: performance.now() };
  const seconds = (after.at - before.at) / 1000;
  const mem = procMem(pid);
  const healthz: number[] = [];
  let health = '';
  for (let i = 0; i < 11; i++) {
    const t = performance.now();
    const res = await fetch(`${http}/healthz`);
    health = ((await res.json()) as { state: string }).state;
    healthz.push(performance.now() - t);
  }
  const metrics = await (await fetch(`${http}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) / 1048576;
  const polls = Object.keys(before.s.devices).map((d) => (after.s.devices[d]!.polls - before.s.devices[d]!.polls) / seconds);
  const pollsTotal = Object.keys(before.s.devices).reduce((n, d) => n + after.s.devices[d]!.polls - before.s.devices[d]!.polls, 0);
  await sub.endAsync();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  for (const s of servers) {
    for (const sock of s.socks.keys()) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }
  return {
    tags,
    cpu: ((after.cpu - before.cpu) / CLK_TCK / seconds) * 100,
    rss: mem.rss,
    peak: mem.peak,
    bytesPerMin: ((after.io - before.io) / seconds) * 60,
    pollsPerDevice: { mean: polls.length ? polls.reduce((a, b) => a + b, 0) / polls.length : NaN, min: polls.length ? Math.min(...polls) : NaN },
    mqttPerS: (after.messages - before.messages) / seconds,
    requestsPerCycle: Object.values(after.s.devices).reduce((n, d) => n + d.requests_per_cycle, 0) / Math.max(1, devices.length),
    serverRequestsPerCycle: pollsTotal ? (after.requests - before.requests) / pollsTotal : NaN,
    healthzMs: median(healthz),
    healthzBestMs: Math.min(...healthz),
    health,
    heapMb: metric('nodejs_heap_used_bytes'),
    externalMb: metric('nodejs_external_memory_bytes'),
  };
}

/**
 * Bytes LevelDB really writes per reading over `hours` of 1 s cycles of `tags` points (10 devices), written as
 * fast as it goes with a commit per 5 s of cycles: log, memtable flushes and compactions included, which a
 * short real-time window would miss (the memtable fills every few minutes). From this process's write_bytes.
 */
async function storeWriteVolume(tags: number, hours: number): Promise<{ bytesPerReading: number; gbPerDay: number; diskMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'choco-volume-'));
  const store = await SeriesStore.open(dir, { readings: { commitMs: 60_000 } });
  const perDevice = tags / DEVICES;
  const t0 = Date.parse('2025-10-01T00:00:00Z');
  for (let d = 0; d < DEVICES; d++) {
    const series = Array.from({ length: perDevice }, (_, i) => `sensor.d${d}_p${i}`);
    await store.readings.register({ device: `dev${d}`, source: `modbus/dev${d}`, pollMs: 1000, series, units: series.map(() => 'degC'), blockOf: series.map((_, i) => Math.floor(i / 125)) });
  }
  const before = procIo(process.pid);
  for (let c = 0; c < hours * 3600; c++) {
    const at = t0 + c * 1000;
    for (let d = 0; d < DEVICES; d++) store.readings.append(`dev${d}`, { at, offsets: Array.from({ length: Math.ceil(perDevice / 125) }, (_, i) => i * 2), values: Array.from({ length: perDevice }, (_, i) => Math.round(200 + 20 * Math.sin(at / 60_000 + i)) / 10) });
    if (c % 5 === 4) await store.readings.commit();
  }
  await store.close();
  const written = procIo(process.pid) - before;
  const readings = hours * 3600 * tags;
  const diskMb = Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  return { bytesPerReading: written / readings, gbPerDay: ((written / readings) * tags * 86_400) / 1e9, diskMb };
}

/** RSS of a bare node process after importing the gateway's heavy libraries one by one (the floor under the idle figure). */
function libraryFloor(): string {
  const script = `
    const rss = () => (globalThis.gc(), process.memoryUsage().rss / 1048576);
    const out = [['node', rss()]];
    for (const [name, load] of [
      ['level', () => import('level')], ['mqtt + aedes', async () => { await import('mqtt'); await import('aedes'); }],
      ['fastify + swagger', async () => { await import('fastify'); await import('@fastify/swagger'); await import('@fastify/swagger-ui'); }],
      ['pino', () => import('pino')], ['modbus-serial', () => import('modbus-serial')], ['tfjs-core + layers + wasm backend', async () => { await import('@tensorflow/tfjs-core'); await import('@tensorflow/tfjs-layers'); await import('@tensorflow/tfjs-backend-wasm'); }],
      ['highs (MILP, WASM)', async () => { const h = (await import('highs')).default; await h(); }],
    ]) { await load(); out.push([name, rss()]); }
    console.log(JSON.stringify(out));`;
  const rows = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: projectPath('.'), encoding: 'utf8' })) as Array<[string, number]>;
  return rows.map(([name, mb], i) => `${name} ${i ? `+${(mb - rows[i - 1]![1]).toFixed(1)}` : mb.toFixed(1)}`).join(', ') + ` → ${rows.at(-1)![1].toFixed(1)} MB`;
}

export async function scaleBench(sizes = [0, 100, 1000, 5000], windowS = Number(process.env.BENCH_SCALE_SECONDS ?? 30), historyHours = Number(process.env.BENCH_HISTORY_HOURS ?? 1)): Promise<Row[]> {
  const rows: Row[] = [];
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'ignore', cwd: projectPath('.') });
  console.log(`plant floor at scale: the real gateway process, 10 Modbus TCP devices (modbus-serial ServerTCP), N int16 holding registers polled every 1 s,`);
  console.log(`  MQTT one message per device per cycle with a change (publish: device), group commit every 5 s; ${historyHours} h of 1 s readings preloaded before start;`);
  console.log(`  ${windowS} s window after 10 s warm-up; CPU and write_bytes from /proc/<pid>; machine load at start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log('  tags | CPU % of a core | RSS MB (peak) | heap / external MB | written MB/min | GB/day | polls/s per device (min) | MQTT msg/s | requests/cycle (server count) | /healthz ms median (best) | health');
  for (const n of sizes) {
    const r = await runOne(n, windowS, n ? historyHours : 0);
    rows.push(r);
    console.log(
      `  ${String(r.tags).padStart(5)} | ${r.cpu.toFixed(1).padStart(6)} | ${r.rss.toFixed(0)} (${r.peak.toFixed(0)}) | ${r.heapMb.toFixed(0)} / ${r.externalMb.toFixed(0)} | ${(r.bytesPerMin / 1048576).toFixed(2)} | ${((r.bytesPerMin * 1440) / 1e9).toFixed(2)} | ${n ? `${r.pollsPerDevice.mean.toFixed(3)} (${r.pollsPerDevice.min.toFixed(3)})` : '–'} | ${r.mqttPerS.toFixed(1)} | ${n ? `${r.requestsPerCycle.toFixed(1)} (${r.serverRequestsPerCycle.toFixed(1)})` : '–'} | ${r.healthzMs.toFixed(1)} (${r.healthzBestMs.toFixed(1)}) | ${r.health}`,
    );
  }
  console.log(`  memory floor, bare node importing the same libraries: ${libraryFloor()}`);
  const hours = Number(process.env.BENCH_VOLUME_HOURS ?? 2);
  for (const n of sizes.filter((x) => x === 1000 || x === 5000)) {
    const v = await storeWriteVolume(n, hours);
    console.log(`  store write volume, ${n} tags, ${hours} h of 1 s cycles written back to back (log + flushes + compactions): ${v.bytesPerReading.toFixed(1)} bytes per reading → ${v.gbPerDay.toFixed(2)} GB/day at 1 s; ${v.diskMb.toFixed(0)} MB on disk`);
  }
  return rows;
}
