import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import { Gateway } from '../../gateway/controller.js';
import { PLUGIN_API_VERSION, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { BUILTIN_PLUGINS } from '../../gateway/builtin-plugins.js';
import { silent, testConfig } from '../helpers/context.js';
import { FixtureServer } from '../helpers/fixture-server.js';
import { startGateway, subscriber } from '../helpers/gateway.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

describe('without internet', () => {
  const closed = new FixtureServer();
  let base: string;
  beforeAll(async () => {
    await closed.start();
    base = closed.base;
    await closed.stop();
  });

  it('keeps running, says why in health, and publishes offline state on a clean stop', async () => {
    const { gw } = await startGateway(testConfig(base, { sources: { esios: { enabled: false } } }), '2025-10-26T12:30:00Z');
    const sub = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/bridge/#');
    const res = await fetch(`${gw.http!.url}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.plugins.omie.message).toMatch(/^unreachable, retrying: \d{4}-\d\d-\d\d: GET .* unreachable \(ECONNREFUSED\)/);
    expect(body.reasons.some((r: string) => /series omie_es stale: no data stored yet/.test(r))).toBe(true);
    const jobs = await (await fetch(`${gw.http!.url}/scheduler/status`)).json();
    expect(jobs.jobs.find((j: { id: string }) => j.id === 'priceIngestion').lastRun.outcome).toBe('failed');
    await sub.waitFor('choco-edge/bridge/state', (p) => p.state === 'online');
    const alerts = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/alerts');
    gw.bus.emit('alert', { code: 'PROBE', level: 'info', message: 'subscriber ready', at: 0 });
    await alerts.waitFor('choco-edge/alerts', (p) => p.code === 'PROBE');
    (gw.alerts as unknown as { lastRaisedAt: Map<string, number> }).lastRaisedAt.clear();
    await gw.scheduler.trigger('health');
    const stale = await alerts.waitFor('choco-edge/alerts', (p) => p.code === 'STALE_INPUT');
    expect(stale).toMatchObject({ level: 'warning', message: expect.stringMatching(/^omie_es: no data stored yet/) });
    await alerts.client.endAsync();
    await gw.stop();
    expect((await sub.waitFor('choco-edge/bridge/state', (p) => p.state === 'offline')).state).toBe('offline');
    await sub.client.endAsync(true);
  });
});

describe('plugins', () => {
  const server = new FixtureServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('one plugin failing to start is reported and does not take the gateway down; external plugins load by API version', async () => {
    const broken: PluginFactory = {
      name: 'broken',
      apiVersion: PLUGIN_API_VERSION,
      enabled: () => true,
      create: () => ({
        name: 'broken',
        start: async () => Promise.reject(new Error('serial port /dev/ttyUSB9 missing')),
        stop: async () => undefined,
        health: () => ({ state: 'ok', message: '' }),
      }),
    };
    const dir = mkdtempSync(join(tmpdir(), 'choco-plugins-'));
    writeFileSync(
      join(dir, 'hello.mjs'),
      `export default { name: 'hello', apiVersion: ${PLUGIN_API_VERSION}, enabled: () => true, create: (ctx) => ({ name: 'hello', started: false,
        async start() { this.started = true; }, async stop() {}, health() { return { state: this.started ? 'ok' : 'starting', message: 'hello from outside' }; },
        jobs: { weatherIngestion: async () => ({ summary: 'hello weather' }) } }) };\n`,
    );
    writeFileSync(join(dir, 'old.mjs'), `export default { name: 'old', apiVersion: 0, enabled: () => true, create: () => ({}) };\n`);
    const config = testConfig(server.base, { plugins: { dir }, sources: { esios: { enabled: false } } });
    const { gw } = await startGateway(config, '2025-10-26T12:30:00Z');
    try {
      const health = gw.pluginHealth();
      expect(health.hello).toMatchObject({ state: 'ok', message: 'hello from outside' });
      const old = Object.entries(health).find(([k]) => k.endsWith('old.mjs'))!;
      expect(old[1]).toMatchObject({ state: 'failed', message: expect.stringMatching(/built for plugin API 0/) });
      const weather = await gw.scheduler.trigger('weatherIngestion');
      expect(weather.lastRun?.summary).toBe('hello weather');
      expect(weather.placeholder).toBeNull();
    } finally {
      await gw.stop();
    }

    const g = new Gateway({ config: testConfig(server.base, { sources: { esios: { enabled: false } } }), clock: new FakeClock('2025-10-26T12:30:00Z'), log: silent, plugins: [...BUILTIN_PLUGINS, broken] });
    await g.start();
    try {
      expect(g.pluginHealth().broken).toMatchObject({ state: 'failed', message: 'failed to start: serial port /dev/ttyUSB9 missing' });
      const body = await (await fetch(`${g.http!.url}/healthz`)).json();
      expect(body.reasons).toContain('plugin broken: failed to start: serial port /dev/ttyUSB9 missing');
      expect((await fetch(`${g.http!.url}/health`)).status).toBe(200);
    } finally {
      await g.stop();
    }
  });
});

describe('the real process', () => {
  it('starts from the CLI, answers HTTP, and exits 0 on SIGTERM after a graceful stop', async () => {
    const env = gatewayEnv();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no start line:\n${out}`)), 120_000);
      child.stdout.on('data', () => {
        const m = /"http":"(http:\/\/[^"]+)".*"msg":"choco-edge started"/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toMatch(/"msg":"choco-edge stopped"/);
    expect(out).not.toMatch(/http-test-token/);
  });

  it('check-config reports a bad setting with its path and exits 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'check-config'], { env: { ...process.env, CHOCO_EDGE_HTTP_PORT: '99999' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/\/http\/port: expected integer to be less or equal to 65535, got 99999/);
  });
});
