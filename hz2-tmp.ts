import { Gateway } from './gateway/controller.js';
import { testConfig, silent } from './test/helpers/context.js';
import { FakePlc } from './test/helpers/plc.js';
import { freePort } from './test/helpers/mosquitto.js';
const plcs = []; const devices = [];
for (let d = 0; d < 10; d++) { const plc = new FakePlc(await freePort()); for (let i = 0; i < 500; i++) plc.holding.set(i, i); await plc.start(); plcs.push(plc);
  devices.push({ name: `dev${d}`, host: '127.0.0.1', port: plc.port, pollMs: 1000, timeoutMs: 2000, publish: 'device', points: Array.from({ length: 500 }, (_, i) => ({ name: `d${d}_p${i}`, address: i, type: 'int16' })) }); }
const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false } }, modbus: { devices } });
const gw = new Gateway({ config, log: silent });
await gw.start();
await new Promise((r) => setTimeout(r, 4000));
const cpu = async (name, f) => { const c = process.cpuUsage(); const w = performance.now(); const r = await f(); const u = process.cpuUsage(c); return `${name} cpu ${((u.user + u.system) / 1000).toFixed(1)} wall ${(performance.now() - w).toFixed(1)}`; };
for (let i = 0; i < 6; i++) {
  const out = [];
  out.push(await cpu('plugins', () => gw.pluginHealth()));
  out.push(await cpu('statuses', () => gw.seriesStatuses()));
  out.push(await cpu('health', () => gw.health()));
  out.push(await cpu('healthz', async () => (await fetch(`${gw.http!.url}/healthz`)).text()));
  out.push(await cpu('metrics', async () => (await fetch(`${gw.http!.url}/metrics`)).text()));
  console.log(out.join(' | '));
}
await gw.stop(); for (const p of plcs) await p.stop();
process.exit(0);
