import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import { Gateway } from '../../gateway/controller.js';
import { createLogger } from '../../gateway/util/log.js';
import { Scheduler } from '../../gateway/core/scheduler.js';
import { testConfig } from '../helpers/context.js';

/** A pino logger at info writing JSON lines into an array, as journald would get them. */
function capture(): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', pretty: false, modules: {} }, sink) };
}

describe('logs a plant engineer can read', () => {
  it('HTTP: at most one line per request at info; alerts at their real level; the start line names only enabled plugins', async () => {
    const { lines, log } = capture();
    const gw = new Gateway({ config: testConfig('http://127.0.0.1:9', { log: { level: 'info' } }), clock: new FakeClock('2025-01-15T10:00:00Z'), log });
    await gw.start();
    try {
      const started = lines.find((l) => l.msg === 'choco-edge started')!;
      const enabled = Object.entries(gw.pluginHealth()).filter(([, h]) => h.state !== 'disabled').map(([n]) => n);
      expect(started.plugins).toEqual(expect.arrayContaining(enabled));
      expect(started.plugins).not.toContain('sparkplug');
      expect((started.plugins as string[]).length).toBeLessThan(gw.plugins.size);

      const before = lines.length;
      for (let i = 0; i < 3; i++) expect((await fetch(`${gw.http!.url}/health`)).status).toBe(200);
      expect((await fetch(`${gw.http!.url}/no-such-page`)).status).toBe(404);
      const http = lines.slice(before).filter((l) => l.module === 'http');
      expect(http.filter((l) => String(l.url ?? (l.req as { url?: string } | undefined)?.url).includes('/health'))).toEqual([]);
      expect(http).toHaveLength(1);
      expect(http[0]).toMatchObject({ level: 30, status: 404, url: '/no-such-page' });

      gw.bus.emit('alert', { code: 'PLC_WRITE_FAILED', level: 'critical', message: 'line-1: test alert', at: Date.parse('2025-01-15T10:00:00Z') });
      gw.bus.emit('alert', { code: 'STALE_INPUT', level: 'warning', message: 'omie_es: test alert', at: Date.parse('2025-01-15T10:00:00Z') });
      const critical = lines.find((l) => l.msg === 'line-1: test alert');
      const warning = lines.find((l) => l.msg === 'omie_es: test alert');
      expect(critical).toMatchObject({ level: 50, severity: 'critical', code: 'PLC_WRITE_FAILED' });
      expect(warning).toMatchObject({ level: 40, severity: 'warning' });
    } finally {
      await gw.stop();
    }
  });

  it('a job that overruns logs its skipped runs once when the first is skipped and once when it ends', async () => {
    const { lines, log } = capture();
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const s = new Scheduler(clock, log, 'Europe/Madrid');
    s.add({ id: 'slow', cron: '* * * * *', enabled: true, run: async () => { await clock.sleep(30 * 60_000); return 'done'; } });
    await s.start();
    await clock.advance(12 * 60_000);
    const stopping = s.stop();
    await clock.advance(20 * 60_000);
    await stopping;
    const skipped = s.status()[0]!.skippedOverlaps;
    expect(skipped).toBeGreaterThanOrEqual(8);
    expect(lines.filter((l) => String(l.msg).startsWith('job still running'))).toHaveLength(1);
    const summary = lines.filter((l) => String(l.msg).includes('runs were skipped while it ran'));
    expect(summary).toHaveLength(1);
    expect(summary[0]!.skipped).toBeGreaterThanOrEqual(8);
  });

  it('npm start, demo and check-config say that they are compiling before the build', async () => {
    const { scripts } = (await import('../../package.json', { with: { type: 'json' } })).default as { scripts: Record<string, string> };
    for (const name of ['start', 'demo', 'check-config']) {
      const pre = scripts[`pre${name}`] ?? '';
      expect(pre.indexOf('compiling'), name).toBeGreaterThanOrEqual(0);
      expect(pre.indexOf('compiling')).toBeLessThan(pre.indexOf('npm run build'));
    }
  });
});
