// npx tsx test/bench/attack-flood.ts: issue #28's login storm and oversized CONNECTs against the embedded broker,
// with a real Modbus TCP server recording the line's heartbeat writes (period 500 ms). Prints numbers, never
// pass/fail: the longest heartbeat gap, writes per second, /health latency and the process's RSS.
// ATTACK_LOGINS (400), ATTACK_ADDRESSES (40), ATTACK_OVERSIZED (10), ATTACK_MB (20).
import { connect as netConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { FakeClock } from '../../gateway/time/clock.js';
import { Gateway } from '../../gateway/controller.js';
import { hashPassword } from '../../gateway/mqtt/auth.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';

const logins = Number(process.env.ATTACK_LOGINS ?? 400);
const addresses = Number(process.env.ATTACK_ADDRESSES ?? 40);
const oversized = Number(process.env.ATTACK_OVERSIZED ?? 10);
const megabytes = Number(process.env.ATTACK_MB ?? 20);
const HEARTBEAT = 104;

const plc = new FakePlc(await freePort());
await plc.start();
const beats: number[] = [];
const set = plc.holding.set.bind(plc.holding);
plc.holding.set = (address: number, value: number) => {
  if (address === HEARTBEAT) beats.push(performance.now());
  return set(address, value);
};
const config = testConfig('http://127.0.0.1:9', {
  mqtt: { embedded: { allowAnonymous: false, users: [{ username: 'conching-plc', passwordHash: hashPassword('plc-pass'), role: 'line', lines: ['conching'] }] } },
  sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } },
  lines: [{ line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 500, timeoutMs: 300, maxBackoffMs: 400, registers: { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: HEARTBEAT } }],
});
const gw = new Gateway({ config, clock: new FakeClock('2025-10-26T12:30:00Z'), log: silent });
await gw.start();
while (beats.length < 4) await new Promise((r) => setTimeout(r, 50));
const port = gw.brokerPorts!.port;
const rssBefore = process.memoryUsage().rss;
let rssMax = rssBefore;
const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 100);
const healthMs: number[] = [];
let flooding = true;
const probe = (async () => {
  while (flooding) {
    const t = performance.now();
    await fetch(`${gw.http!.url}/health`).then((r) => r.text());
    healthMs.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 200));
  }
})();
const since = performance.now();
// Reads (and drops) whatever the gateway answers, so its close is seen.
const closed = (s: ReturnType<typeof netConnect>) => new Promise<void>((resolve) => s.on('close', () => resolve()).on('error', () => undefined).resume());
// Connected first, then every CONNECT sent at once: the broker finds them all in one turn of its event loop.
const sockets = Array.from({ length: logins }, (_, i) => netConnect({ port, host: '127.0.0.1', localAddress: `127.0.1.${2 + (i % addresses)}` }));
const storm = sockets.map((s) => closed(s));
await Promise.all(sockets.map((s) => new Promise<void>((r) => (s.once('connect', () => r()), s.once('close', () => r())))));
for (const [i, s] of sockets.entries()) {
  s.on('data', () => s.end());
  s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `a-${i}`, keepalive: 30, username: 'conching-plc', password: Buffer.from(`wrong-${i}`) }));
}
const claimed = megabytes * 1024 * 1024;
const big = Array.from({ length: oversized }, async (_, i) => {
  const s = netConnect({ port, host: '127.0.0.1', localAddress: `127.0.2.${2 + i}` });
  const done = closed(s);
  let open = true;
  void done.then(() => (open = false));
  await new Promise<void>((r) => s.on('connect', () => r()));
  const length = Buffer.from([0x10, ...[0, 7, 14, 21].map((shift, k) => ((claimed >> shift) & 0x7f) | (k < 3 ? 0x80 : 0))]);
  s.write(length);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  while (open && sent < claimed) {
    sent += chunk.length;
    if (!s.write(chunk)) await new Promise<void>((r) => (s.once('drain', r), s.once('close', r)));
  }
  s.end();
  await done;
  return sent;
});
await Promise.all(storm);
const sent = await Promise.all(big);
const stormMs = performance.now() - since;
await new Promise((r) => setTimeout(r, 1500));
flooding = false;
await probe;
clearInterval(rssTimer);
const during = beats.filter((t) => t >= since);
const gap = during.slice(1).reduce((m, t, i) => Math.max(m, t - during[i]!), 0);
const mb = (b: number) => Math.round(b / 1048576);
console.log(`login storm: ${logins} wrong passwords from ${addresses} addresses + ${oversized} CONNECTs claiming ${megabytes} MB, over ${Math.round(stormMs)} ms`);
console.log(`heartbeat: longest gap ${Math.round(gap)} ms (period 500 ms), ${during.length} writes in ${Math.round(performance.now() - since)} ms`);
console.log(`/health: ${healthMs.length} probes, slowest ${Math.round(Math.max(...healthMs))} ms`);
console.log(`oversized CONNECT: at most ${mb(Math.max(...sent))} MB sent before the broker closed it (of ${megabytes} MB)`);
console.log(`RSS: ${mb(rssBefore)} MB before, ${mb(rssMax)} MB at most`);

// HTTP: half-sent bodies from 20 addresses; the port admits 64 per address, 256 in all; the rest wait for nothing.
const halfSent = Number(process.env.ATTACK_HTTP ?? 2000);
const httpPort = Number(new URL(gw.http!.url).port);
const beatsBefore = beats.length;
const httpSince = performance.now();
let openMax = 0;
const openTimer = setInterval(() => (openMax = Math.max(openMax, gw.http!.gate.openConnections)), 20);
const bodies = Array.from({ length: halfSent }, (_, i) => {
  const s = netConnect({ port: httpPort, host: '127.0.0.1', localAddress: `127.0.3.${2 + (i % 20)}` });
  s.on('connect', () => s.write(`POST /api/alerts/1/ack HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"a":"`));
  return closed(s);
});
let left = halfSent;
for (const b of bodies) void b.then(() => left--);
const leftTimer = setInterval(() => process.env.ATTACK_DEBUG && console.log(`open clients ${left}, gate open ${gw.http!.gate.openConnections}`), 5000);
await Promise.all(bodies);
clearInterval(leftTimer);
const httpMs = performance.now() - httpSince;
clearInterval(openTimer);
const httpBeats = beats.slice(beatsBefore);
const httpGap = httpBeats.slice(1).reduce((m, t, i) => Math.max(m, t - httpBeats[i]!), 0);
const refused = gw.http!.gate.refused;
console.log(`HTTP: ${halfSent} half-sent bodies from 20 addresses: at most ${openMax} open at once, ${refused.address + refused.total + refused.rate} refused at accept (${JSON.stringify(refused)}), all closed after ${Math.round(httpMs)} ms (request timeout 30 s); heartbeat gap ${Math.round(httpGap)} ms`);
await gw.stop();
await plc.stop();
process.exit(0);
