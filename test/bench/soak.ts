// npm run soak: minutes of accelerated clock at high message rates; prints memory and event-loop lag over time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { AcceleratedClock } from '../../gateway/time/clock.js';
import { loadConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/controller.js';
import { silent } from '../helpers/context.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 90);
const publishers = Number(process.env.SOAK_PUBLISHERS ?? 20);
const ratePerPublisher = Number(process.env.SOAK_RATE ?? 100);
const config = loadConfig({
  env: {},
  overrides: {
    dataDir: mkdtempSync(join(tmpdir(), 'choco-soak-')),
    log: { level: 'silent' },
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { embedded: { host: '127.0.0.1', port: 0, wsPort: 0, allowAnonymous: true } },
    sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } },
    planner: { timeLimitMs: 2000 },
  },
});
const clock = new AcceleratedClock(Date.parse('2018-03-27T10:00:00Z'), 600);
const gw = new Gateway({ config, clock, log: silent });
await gw.start();
const url = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
const clients: MqttClient[] = [];
let received = 0;
const sub = await mqtt.connectAsync(url);
sub.on('message', () => received++);
await sub.subscribeAsync(['load/#', 'choco-edge/#']);
for (let i = 0; i < publishers; i++) clients.push(await mqtt.connectAsync(url));
let sent = 0;
const payload = JSON.stringify({ v: 1, value: 42.5, padding: 'x'.repeat(150) });
const pump = setInterval(() => {
  for (const [i, c] of clients.entries()) for (let k = 0; k < ratePerPublisher / 10; k++) {
    c.publish(`load/${i}`, payload, { qos: k % 2 === 0 ? 0 : 1 });
    sent++;
  }
}, 100);
let churned = 0;
const churn = setInterval(() => {
  void mqtt.connectAsync(url, { reconnectPeriod: 0 }).then(async (c) => {
    await c.subscribeAsync('choco-edge/prices/#');
    await c.endAsync();
    churned++;
  });
}, 100);
const rows: Array<{ t: number; rss: number; heap: number; lagP99: number; sent: number; received: number }> = [];
const started = Date.now();
console.log(`soak: ${seconds} s, clock ×600, ${publishers} publishers × ${ratePerPublisher} msg/s (QoS 0/1), 10 connect/disconnect per second`);
console.log('   t s   RSS MB  heap MB  lag p99 ms     sent  received');
while (Date.now() - started < seconds * 1000) {
  gw.eventLoop.reset();
  await new Promise((r) => setTimeout(r, 5000));
  const m = process.memoryUsage();
  const row = { t: Math.round((Date.now() - started) / 1000), rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, lagP99: gw.eventLoop.percentile(99) / 1e6, sent, received };
  rows.push(row);
  console.log(`${String(row.t).padStart(6)} ${row.rss.toFixed(1).padStart(8)} ${row.heap.toFixed(1).padStart(8)} ${row.lagP99.toFixed(1).padStart(11)} ${String(sent).padStart(8)} ${String(received).padStart(9)}`);
}
clearInterval(pump);
clearInterval(churn);
const half = Math.floor(rows.length / 2);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(
  `summary: RSS ${avg(rows.slice(0, half).map((r) => r.rss)).toFixed(1)} → ${avg(rows.slice(half).map((r) => r.rss)).toFixed(1)} MB (first half → second half), heap ${avg(rows.slice(0, half).map((r) => r.heap)).toFixed(1)} → ${avg(rows.slice(half).map((r) => r.heap)).toFixed(1)} MB, event-loop lag p99 ${avg(rows.slice(0, half).map((r) => r.lagP99)).toFixed(1)} → ${avg(rows.slice(half).map((r) => r.lagP99)).toFixed(1)} ms; ${sent} sent, ${received} received, ${churned} short-lived clients; simulated ${((clock.now() - Date.parse('2018-03-27T10:00:00Z')) / 3_600_000).toFixed(1)} h; jobs run ${gw.scheduler.status().reduce((s, j) => s + j.runs, 0)}`,
);
for (const c of clients) await c.endAsync(true);
await sub.endAsync(true);
await gw.stop();
process.exit(0);
