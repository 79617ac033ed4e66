// OPC UA in `npm run bench` (also alone: `npm run bench -- --opcua`): start time and idle RSS of the built gateway
// without and with an OPC UA device, so that the optional node-opcua-client is seen to cost nothing when unused.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { projectPath } from '../../gateway/util/version.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';

const URI = 'urn:choco-edge:bench:plc';

/** Starts `dist/gateway/main.js start` with `config` and returns ms to its first MQTT message, and its RSS after `idleMs`. */
export async function startAndIdle(config: Record<string, unknown>, idleMs: number, main = projectPath('dist/gateway/main.js')): Promise<{ startMs: number; rssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'choco-bench-opcua-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(config));
  const port = await freePort();
  const env = { ...process.env, CHOCO_EDGE_DATA_DIR: dir, CHOCO_EDGE_HTTP_PORT: String(await freePort()), CHOCO_EDGE_HTTP_HOST: '127.0.0.1', CHOCO_EDGE_MQTT_EMBEDDED_PORT: String(port), CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0', CHOCO_EDGE_MQTT_EMBEDDED_HOST: '127.0.0.1', CHOCO_EDGE_MQTT_EMBEDDED_ALLOW_ANONYMOUS: 'true', CHOCO_EDGE_SOURCES_REE_BASE_URL: 'http://127.0.0.1:9', CHOCO_EDGE_SOURCES_OMIE_BASE_URL: 'http://127.0.0.1:9', CHOCO_EDGE_FETCH_RETRIES: '0', CHOCO_EDGE_LOG_LEVEL: 'error' };
  const t0 = performance.now();
  const child = spawn(process.execPath, [main, 'start', '--config', file], { env, stdio: 'ignore' });
  let startMs = NaN;
  for (;;) {
    try {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 });
      await new Promise<void>((resolve) => {
        c.on('message', () => resolve());
        void c.subscribeAsync('choco-edge/#');
      });
      startMs = performance.now() - t0;
      await c.endAsync();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (performance.now() - t0 > 90_000) break;
  }
  await new Promise((r) => setTimeout(r, idleMs));
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { startMs, rssMb };
}

export async function opcuaStartAndIdle(runs = 2, idleMs = 8_000): Promise<void> {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'ignore' });
  const server = new TestOpcuaServer({ port: await freePort(), pkiDir: mkdtempSync(join(tmpdir(), 'choco-bench-plc-')), namespaceUri: URI, variables: [{ id: 'Floor.Temp', dataType: 'Double', value: 21.5 }, { id: 'Floor.Rh', dataType: 'Double', value: 48 }] });
  await server.start();
  const withDevice = {
    opcua: {
      devices: [
        {
          name: 'bench-plc',
          endpointUrl: server.endpointUrl,
          security: 'None',
          points: [
            { name: 'floor_temp', nodeId: `nsu=${URI};s=Floor.Temp`, samplingMs: 1000 },
            { name: 'floor_rh', nodeId: `nsu=${URI};s=Floor.Rh`, samplingMs: 1000, unit: 'percent' },
          ],
        },
      ],
    },
  };
  const rows: string[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternated, so that a busy machine weighs on both alike.
    const a = await startAndIdle({}, idleMs);
    const b = await startAndIdle(withDevice, idleMs);
    rows.push(`run ${i + 1}: without OPC UA ${a.startMs.toFixed(0)} ms, ${a.rssMb.toFixed(1)} MB; with one OPC UA device (2 points, security None) ${b.startMs.toFixed(0)} ms, ${b.rssMb.toFixed(1)} MB`);
  }
  await server.stop();
  console.log(`OPC UA: cold start to the first MQTT message and idle RSS after ${idleMs / 1000} s (node dist/gateway/main.js start):\n  ${rows.join('\n  ')}`);
}
