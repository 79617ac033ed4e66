import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_MARKER } from '../../plugins/replay/demo.js';
import { describe, expect, it, vi } from 'vitest';
import { subscriber } from '../helpers/gateway.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

// Generous budgets: the demo runs in real time and a busy machine starts it slowly; nothing here measures speed.
describe('npm run demo', { timeout: 300_000 }, () => {
  it('shows recorded prices, weather and a simulated floor sensor on HTTP and MQTT within seconds, offline', async () => {
    // The demo's own speed (a simulated hour every 6 s); the data directory already holds something the demo must leave alone.
    const env = gatewayEnv();
    const data = env.CHOCO_EDGE_DATA_DIR!;
    writeFileSync(join(data, 'keep-me.txt'), 'not the demo\'s');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const { http, port } = await vi.waitFor(
        () => {
          const m = /"http":"(http:\/\/[^"]+)","mqtt":\{"port":(\d+)/.exec(out);
          if (!m) throw new Error(`demo not started:\n${out}`);
          return { http: m[1]!, port: Number(m[2]) };
        },
        { timeout: 120_000, interval: 50 },
      );
      const sub = await subscriber(`mqtt://127.0.0.1:${port}`, 'choco-edge/#');
      const first = await sub.waitFor('choco-edge/prices/omie_es', (p) => p.current !== null);
      // The accelerated clock moves an hour every 6 s: the current slot changes while we watch.
      const later = await vi.waitFor(
        () => {
          const m = sub.messages.find((x) => x.topic === 'choco-edge/prices/omie_es' && x.payload.current !== null && x.payload.current.start !== first.current.start);
          if (!m) throw new Error('the simulated hour has not changed yet');
          return m.payload;
        },
        { timeout: 60_000, interval: 100 },
      );
      expect(Date.parse(later.current.start)).toBeGreaterThan(Date.parse(first.current.start));
      expect(later.current.start >= '2018-01-08').toBe(true);
      const replay = await sub.waitFor('choco-edge/replay');
      expect(replay).toMatchObject({ replay: true, state: 'playing', speed: 600, data_from: '2017-12-31T23:00:00Z', data_to: '2018-12-31T23:00:00Z' });
      expect(replay.simulated_date >= '2018-01-08').toBe(true);
      expect(sub.messages.find((m) => m.topic === 'choco-edge/replay')!.retain).toBe(true);
      const prices = await (await fetch(`${http}/ree/prices?hours=6`)).json();
      expect(prices.series).toBe('omie_es');
      expect(prices.count).toBeGreaterThan(0);
      expect(prices.prices[0].source).toBe('replay');
      const sensor = await sub.waitFor('choco-edge/sensors/floor_temp');
      expect(sensor).toMatchObject({ point: 'floor_temp', device: 'simulated-floor', unit: 'degC', state: 'ok' });
      expect((await sub.waitFor('choco-edge/weather/current', (p) => p.values.temp)).values.temp.source).toBe('replay/kaggle-seville');
      // The recording is the simulated future: it is also the (labelled) weather forecast, so the forecast is never empty.
      const wxForecast = await sub.waitFor('choco-edge/weather/forecast', (p) => p.slots.some((s: { values: { temp?: unknown } }) => s.values.temp));
      expect(wxForecast.slots.find((s: { values: { temp?: { source: string } } }) => s.values.temp).values.temp.source).toBe('replay/kaggle-seville (recorded, perfect forecast)');
      await sub.client.endAsync();
      const weather = await vi.waitFor(
        async () => {
          const w = await (await fetch(`${http}/weather/current`)).json();
          if (!w.values.temp) throw new Error('no replayed weather yet');
          return w;
        },
        { timeout: 60_000, interval: 100 },
      );
      expect(weather.values.temp.source).toBe('replay/kaggle-seville');
      const sensors = await vi.waitFor(
        async () => {
          const s = await (await fetch(`${http}/api/sensors`)).json();
          if (s.points.find((p: { name: string; state: string }) => p.name === 'floor_temp')?.state !== 'ok') throw new Error('sensor not read yet');
          return s;
        },
        { timeout: 60_000, interval: 100 },
      );
      const plan = await vi.waitFor(
        async () => {
          const res = await fetch(`${http}/api/plan`);
          if (res.status !== 200) throw new Error('no plan yet');
          return res.json();
        },
        { timeout: 60_000, interval: 200 },
      );
      expect(plan.runs.length, `plan ${plan.plan_id} ${plan.status}: ${plan.infeasible.join('; ')}`).toBeGreaterThan(0);
      const health = await vi.waitFor(
        async () => {
          const h = await (await fetch(`${http}/healthz`)).json();
          const lines = h.plugins['modbus-lines'];
          const writers = Object.values(lines?.details ?? {}) as Array<{ writes: number }>;
          if (writers.length < 4 || writers.some((w) => !w.writes) || lines.state !== 'ok') throw new Error('the simulated PLC has not been written for every line yet');
          return lines;
        },
        { timeout: 60_000, interval: 200 },
      );
      expect(health.state).toBe('ok');
      // The line watchdog runs on device time: under the 3600x clock the simulated PLC is written like a healthy one.
      expect((Object.values(health.details) as Array<{ failures: number }>).map((w) => w.failures)).toEqual([0, 0, 0, 0]);
      const floor = sensors.points.find((p: { name: string }) => p.name === 'floor_temp');
      expect(floor.value).toBeGreaterThan(10);
      expect(floor.value).toBeLessThan(30);
      const status = await (await fetch(`${http}/api/status`)).json();
      expect(status.replay).toMatchObject({ replay: true, speed: 600 });
      expect(status.charts.temp_forecast.length).toBeGreaterThan(0);
      const healthz = await (await fetch(`${http}/healthz`)).json();
      expect((healthz.reasons as string[]).filter((r) => /^series fc\.combined/.test(r))).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    const infeasible = out.split('\n').filter((l) => /no plan meets every constraint|PLAN_INFEASIBLE/.test(l));
    expect(infeasible, infeasible.join('\n')).toEqual([]);
    expect(readFileSync(join(data, 'keep-me.txt'), 'utf8')).toBe("not the demo's");
    expect(existsSync(join(data, 'demo', DEMO_MARKER))).toBe(true);
  });

  it('ends cleanly (exit 0) when the recording ends, and says why', async () => {
    const env = gatewayEnv({ CHOCO_EDGE_DEMO_START_AT: '2018-12-31T21:00:00Z', CHOCO_EDGE_DEMO_SPEED: '3600' });
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(out).toContain('the replay reached the end of its recorded data');
    expect(out).toContain('"dataEnd":"2018-12-31T23:00:00.000Z"');
    expect(code, out.slice(-2000)).toBe(0);
  });
});
