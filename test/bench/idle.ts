// Idle memory of the real gateway process and its floor, in the same run (issue 24). Numbers, never pass/fail.
// `npm run bench -- --idle` runs only this. Every figure is printed with the machine's load average, since wall
// times on a shared box move with it; RSS and bytes do not (much).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { projectPath } from '../../gateway/util/version.js';
import { freePort } from '../helpers/mosquitto.js';
import { NODE_FLAGS } from '../../gateway/util/node-flags.js';

export const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Preloaded (`--require`) into the gateway: on SIGUSR2 (the gateway does not use it) it writes which npm packages
 * the process has loaded through the CommonJS loader (every heavy dependency is CommonJS; an ESM import of one goes
 * through it too) and its memory split, to `IDLE_TRACE_FILE`.
 */
const TRACE = `
process.on('SIGUSR2', () => {
  const pkgs = new Set();
  for (const f of Object.keys(require.cache)) {
    const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f.split('node_modules/').length > 2 ? f.slice(f.lastIndexOf('node_modules/')) : f);
    if (m) pkgs.add(m[1]);
  }
  const mem = process.memoryUsage();
  require('fs').writeFileSync(process.env.IDLE_TRACE_FILE, JSON.stringify({ packages: [...pkgs].sort(), heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers }));
});
`;

interface IdleRun {
  firstPublishMs: number;
  rssMb: number;
  packages: string[];
  heapUsedMb: number;
  externalMb: number;
  firstDocsMs: number;
}

/**
 * The real gateway (`node dist/gateway/main.js start`), default configuration: only what a box needs to run
 * offline is overridden (data folder, free ports on loopback, the price sources pointed at a closed port, logs at
 * error). Models, planner, broker, HTTP API all as shipped. RSS from /proc 8 s after the first MQTT message.
 */
async function idleOnce(flags: readonly string[]): Promise<IdleRun> {
  const dir = mkdtempSync(join(tmpdir(), 'choco-idle-'));
  const traceJs = join(dir, 'trace.cjs');
  writeFileSync(traceJs, TRACE);
  const port = await freePort();
  const httpPort = await freePort();
  const traceFile = join(dir, 'trace.json');
  const env = {
    ...process.env,
    CHOCO_EDGE_DATA_DIR: join(dir, 'data'),
    CHOCO_EDGE_HTTP_PORT: String(httpPort),
    CHOCO_EDGE_HTTP_HOST: '127.0.0.1',
    CHOCO_EDGE_MQTT_EMBEDDED_PORT: String(port),
    CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0',
    CHOCO_EDGE_MQTT_EMBEDDED_HOST: '127.0.0.1',
    CHOCO_EDGE_MQTT_EMBEDDED_ALLOW_ANONYMOUS: 'true',
    CHOCO_EDGE_SOURCES_REE_BASE_URL: 'http://127.0.0.1:9',
    CHOCO_EDGE_SOURCES_OMIE_BASE_URL: 'http://127.0.0.1:9',
    CHOCO_EDGE_FETCH_RETRIES: '0',
    CHOCO_EDGE_LOG_LEVEL: 'error',
    IDLE_TRACE_FILE: traceFile,
  };
  const t0 = performance.now();
  let firstPublishMs = NaN;
  const child = spawn(process.execPath, [...flags, '--require', traceJs, projectPath('dist/gateway/main.js'), 'start'], { env, stdio: 'ignore' });
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
      await sleep(20);
    }
    if (performance.now() - t0 > 60_000) break;
  }
  await sleep(8_000);
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  child.kill('SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(traceFile); i++) await sleep(50);
  const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as { packages: string[]; heapUsed: number; external: number };
  // The first answer of a lazily loaded part (the OpenAPI UI) must not be slow: time it, after the idle reading.
  const d0 = performance.now();
  const docs = await fetch(`http://127.0.0.1:${httpPort}/docs/static/index.html`);
  await docs.arrayBuffer();
  const firstDocsMs = docs.ok ? performance.now() - d0 : NaN;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { firstPublishMs, rssMb, packages: trace.packages, heapUsedMb: trace.heapUsed / 1048576, externalMb: trace.external / 1048576, firstDocsMs };
}

/** RSS of bare node (after a full GC) importing `libraries` one by one: the floor under an idle figure. */
export function importFloor(libraries: string[]): { total: number; rows: Array<[string, number]> } {
  const script = `
    const rss = () => (globalThis.gc(), process.memoryUsage().rss / 1048576);
    const out = [['node', rss()]];
    for (const name of ${JSON.stringify(libraries)}) {
      const m = await import(name);
      if (name === 'highs') await m.default();
      out.push([name, rss()]);
    }
    console.log(JSON.stringify(out));`;
  const rows = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: projectPath('.'), encoding: 'utf8' })) as Array<[string, number]>;
  return { total: rows.at(-1)![1], rows: rows.map(([n, mb], i) => [n, i ? mb - rows[i - 1]![1] : mb]) };
}

const DIRECT = Object.keys((JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
/** Every library the gateway can load (the floor: "bare node importing the same libraries"). */
const ALL_LIBRARIES = ['level', 'mqtt', 'aedes', 'fastify', '@fastify/swagger', '@fastify/swagger-ui', 'pino', 'modbus-serial', ...DIRECT.filter((d) => d.startsWith('@tensorflow/')), 'highs'];

export interface IdleFigures {
  rssMb: number;
  defaultFlagsRssMb: number;
  floorAllMb: number;
  floorIdleMb: number;
  load: string;
}

export async function idleBench(runs = Number(process.env.BENCH_IDLE_RUNS ?? 3)): Promise<IdleFigures> {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'ignore', cwd: projectPath('.') });
  const results: IdleRun[] = [];
  const loads: string[] = [];
  const defaults: IdleRun[] = [];
  for (let i = 0; i < runs; i++) {
    loads.push(loadavg());
    results.push(await idleOnce(NODE_FLAGS));
    defaults.push(await idleOnce([]));
  }
  const loaded = results.at(-1)!.packages;
  const fmtRows = (rows: Array<[string, number]>) => rows.map(([n, mb], i) => `${n} ${i ? '+' : ''}${mb.toFixed(1)}`).join(', ');
  console.log(`idle RSS, default configuration, 8 s after the first MQTT message (node ${NODE_FLAGS.join(' ')} dist/gateway/main.js start, as the systemd unit runs it), ${runs} runs, load ${loads.join(' / ')}:`);
  console.log(`  RSS ${results.map((r) => r.rssMb.toFixed(1)).join(', ')} MB (median ${median(results.map((r) => r.rssMb)).toFixed(1)}); V8 heap used ${median(results.map((r) => r.heapUsedMb)).toFixed(1)} MB, external ${median(results.map((r) => r.externalMb)).toFixed(1)} MB; cold start to the first MQTT message median ${median(results.map((r) => r.firstPublishMs)).toFixed(0)} ms; first /docs page (OpenAPI UI) ${median(results.map((r) => r.firstDocsMs)).toFixed(1)} ms`);
  console.log(`  the same without ${NODE_FLAGS.join(' ')} (node's default 16 MB semi-space): RSS ${defaults.map((r) => r.rssMb.toFixed(1)).join(', ')} MB (median ${median(defaults.map((r) => r.rssMb)).toFixed(1)})`);
  console.log(`  npm packages loaded at idle (${loaded.length}): ${loaded.join(' ')}`);
  const all = importFloor(ALL_LIBRARIES);
  console.log(`  floor, bare node importing every library the gateway can load: ${fmtRows(all.rows)} → ${all.total.toFixed(1)} MB`);
  const atIdle = ALL_LIBRARIES.filter((l) => loaded.includes(l));
  const idle = importFloor(atIdle);
  console.log(`  floor, bare node importing the libraries loaded at idle: ${fmtRows(idle.rows)} → ${idle.total.toFixed(1)} MB`);
  return { rssMb: median(results.map((r) => r.rssMb)), defaultFlagsRssMb: median(defaults.map((r) => r.rssMb)), floorAllMb: all.total, floorIdleMb: idle.total, load: loads.join(' / ') };
}

if (import.meta.url === `file://${process.argv[1]}`) await idleBench();
