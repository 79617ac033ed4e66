import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { subscriber } from '../helpers/gateway.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

// The demo with its simulated PLC speaking OPC UA (demo.plc: opcua, here CHOCO_EDGE_DEMO_PLC): floor points by
// subscription and line commands over Basic256Sha256 SignAndEncrypt, the client PKI inside the demo directory.
describe('npm run demo with demo.plc: opcua', { timeout: 300_000 }, () => {
  it('reads the simulated floor and commands the lines over OPC UA, and the page says which protocol each device speaks', async () => {
    const env = gatewayEnv({ CHOCO_EDGE_DEMO_PLC: 'opcua' });
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const { http, port } = await vi.waitFor(
        () => {
          const m = /"http":"(http:\/\/[^"]+)","mqtt":\{"port":(\d+)/.exec(out);
          if (!m) throw new Error(`demo not started:\n${out.slice(-2000)}`);
          return { http: m[1]!, port: Number(m[2]) };
        },
        { timeout: 150_000, interval: 100 },
      );
      expect(out).toContain('with a simulated OPC UA floor sensor and a simulated OPC UA PLC');
      const sub = await subscriber(`mqtt://127.0.0.1:${port}`, 'choco-edge/#');
      expect(await sub.waitFor('choco-edge/sensors/floor_temp', (p) => p.state === 'ok')).toMatchObject({ point: 'floor_temp', device: 'simulated-floor', unit: 'degC' });
      // With the OPC UA PLC the demo has its simulated site meter too (its power follows the commands that PLC received).
      expect(await sub.waitFor('choco-edge/meters/site-main', (p) => typeof p.kw === 'number' && p.kw > 0)).toMatchObject({ meter: 'site-main', role: 'site', provenance: expect.stringMatching(/^simulated: /) });
      await sub.client.endAsync();
      const sensors = await (await fetch(`${http}/api/sensors`)).json();
      expect(sensors.points.find((p: { name: string }) => p.name === 'floor_temp')).toMatchObject({ protocol: 'opcua', state: 'ok' });
      expect(sensors.devices['simulated-floor']).toMatchObject({ protocol: 'opcua', security: 'Basic256Sha256 SignAndEncrypt', state: 'ok' });
      const status = await vi.waitFor(
        async () => {
          const s = await (await fetch(`${http}/api/status`)).json();
          const line = s.devices.find((d: { role: string }) => d.role === 'line');
          if (!line || line.state !== 'ok') throw new Error(`no line written yet: ${JSON.stringify(s.devices)}`);
          return s;
        },
        { timeout: 60_000, interval: 500 },
      );
      expect(status.devices.find((d: { name: string }) => d.name === 'simulated-floor')).toMatchObject({ protocol: 'opcua', role: 'sensors', state: 'ok' });
      expect(status.devices.every((d: { protocol: string }) => d.protocol === 'opcua')).toBe(true);
      // The OPC UA lines' verified writes are in /metrics too (it once counted the Modbus lines only).
      const metrics = await (await fetch(`${http}/metrics`)).text();
      expect(metrics).toMatch(/^choco_edge_line_writes_total\{line="[^"]+",protocol="opcua"\} [1-9]\d*$/m);
      const demoDir = join(env.CHOCO_EDGE_DATA_DIR!, 'demo');
      expect(existsSync(join(demoDir, 'opcua-pki', 'own', 'certs', 'client_certificate.pem'))).toBe(true);
      expect(readdirSync(join(demoDir, 'opcua-pki', 'rejected'))).toHaveLength(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
