/**
 * Runs `demo` (simulated PLC, 3600x replay clock) for N seconds of real time and prints what the lines did:
 * verified writes and failed writes per line (from /metrics), PLC_WRITE_FAILED alerts seen on MQTT, and the
 * read-back failures and timeouts in the log. Numbers, never pass/fail.
 *   npx tsx test/bench/demo-plc.ts [seconds=60] [repo=this checkout]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

const seconds = Number(process.argv[2] ?? 60);
const repo = resolve(process.argv[3] ?? fileURLToPath(new URL('../..', import.meta.url)));
const env = {
  ...process.env,
  CHOCO_EDGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'choco-demo-plc-')),
  CHOCO_EDGE_HTTP_PORT: '0',
  CHOCO_EDGE_HTTP_HOST: '127.0.0.1',
  CHOCO_EDGE_MQTT_EMBEDDED_PORT: '0',
  CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0',
  CHOCO_EDGE_MQTT_EMBEDDED_HOST: '127.0.0.1',
  CHOCO_EDGE_LOG_PRETTY: 'false',
};
const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'gateway/main.ts'), 'demo'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stdout.on('data', (c: Buffer) => (out += c.toString()));
child.stderr.on('data', (c: Buffer) => (out += c.toString()));
let m: RegExpExecArray | null = null;
for (let i = 0; i < 600 && !(m = /"http":"(http:\/\/[^"]+)","mqtt":\{"port":(\d+)/.exec(out)); i++) await new Promise((r) => setTimeout(r, 100));
if (!m) {
  child.kill();
  throw new Error(`demo did not start:\n${out.slice(-2000)}`);
}
const [, http, port] = m;
const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
let alerts = 0;
const lineStates: Record<string, string> = {};
sub.on('message', (topic, payload) => {
  const p = JSON.parse(payload.toString()) as { code?: string; state?: string };
  if (topic.endsWith('/alerts') && p.code === 'PLC_WRITE_FAILED') alerts++;
  if (/\/lines\/[^/]+\/state$/.test(topic)) lineStates[topic] = p.state!;
});
await sub.subscribeAsync(['choco-edge/alerts', 'choco-edge/lines/+/state']);
const t0 = Date.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const metrics = await (await fetch(`${http}/metrics`)).text();
const writes = metrics.split('\n').filter((l) => /^choco_edge_modbus_write/.test(l));
console.log(
  JSON.stringify(
    { repo, realSeconds: Math.round((Date.now() - t0) / 1000), writes, plcWriteFailedAlertsOnMqtt: alerts, lineStates, readBackFailuresInLog: (out.match(/read-back of register/g) ?? []).length, timeoutsInLog: (out.match(/Timed out/g) ?? []).length },
    null,
    1,
  ),
);
await sub.endAsync();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
