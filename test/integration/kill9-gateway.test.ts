import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { localDate, localDayRange } from '../../gateway/time/tz.js';
import { FixtureServer, fixture } from '../helpers/fixture-server.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';


/**
 * The real gateway process killed with SIGKILL while it ingests prices (the server answers slowly so that the kill
 * lands mid-ingestion, mid-plan or between the two), then restarted: the store opens, each stored day is all-or-nothing
 * with no duplicate slot, and the restarted gateway completes what was missing.
 * The OMIE file is the recorded 2025-10-01 file re-dated to the days the gateway asks for (the durability is under test, not the prices).
 */
describe('kill -9 of the real gateway process', () => {
  it('loses nothing acknowledged, duplicates nothing, and recovers after three kills at random moments', async () => {
    const server = await new FixtureServer().start();
    const template = fixture('omie/marginalpdbc_20251001.1');
    server.routes = [
      (_req, url) => {
        const m = /marginalpdbc_(\d{4})(\d{2})(\d{2})\.1/.exec(url.searchParams.get('filename') ?? '');
        if (!m) return undefined;
        const [, y, mo, d] = m;
        const hours = (localDayRange(`${y}-${mo}-${d}`).end - localDayRange(`${y}-${mo}-${d}`).start) / 3_600_000;
        if (hours !== 24) return { status: 404, body: '' };
        return { delayMs: 30 + Math.floor(Math.random() * 60), headers: { 'content-type': 'application/octet-stream' }, body: template.replace(/^2025;10;01;/gm, `${y};${mo};${d};`) };
      },
    ];
    const env = gatewayEnv({
      CHOCO_EDGE_SOURCES_REE_ENABLED: 'false',
      CHOCO_EDGE_SOURCES_OMIE_BASE_URL: server.base,
      CHOCO_EDGE_SOURCES_OMIE_BACKFILL_DAYS: '20',
      CHOCO_EDGE_SOURCES_OMIE_BACKFILL_INTERVAL_MS: '0',
      CHOCO_EDGE_LOG_LEVEL: 'error',
    });
    const dataDir = env.CHOCO_EDGE_DATA_DIR!;
    const runAndKill = async (afterMs: number) => {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], { env, stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, afterMs));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    };
    for (const ms of [2500, 3200, 4100]) await runAndKill(ms + Math.floor(Math.random() * 400));
    const check = async () => {
      const store = await SeriesStore.open(join(dataDir, 'store'));
      try {
        const slots = await store.read('omie_es', 0, Date.now() + 3 * 86_400_000);
        const starts = slots.map((s) => s.start);
        expect(new Set(starts).size).toBe(starts.length);
        const byDay = new Map<string, number>();
        for (const s of slots) byDay.set(localDate(s.start), (byDay.get(localDate(s.start)) ?? 0) + 1);
        return { total: slots.length, partial: [...byDay.entries()].filter(([, n]) => n !== 96) };
      } finally {
        await store.close();
      }
    };
    const afterKills = await check();
    expect(afterKills.partial).toEqual([]);
    // A clean run completes the backfill: wait for its backfill job to finish (seen over HTTP), not for a fixed time.
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], { env: { ...env, CHOCO_EDGE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const http = await vi.waitFor(() => /"http":"(http:\/\/[^"]+)".*"msg":"choco-edge started"/.exec(out)![1]!, { timeout: 120_000, interval: 100 });
    await vi.waitFor(
      async () => {
        const jobs = (await (await fetch(`${http}/api/status`)).json()).health.jobs as Array<{ id: string; lastRun: { outcome: string } | null }>;
        expect(jobs.find((j) => j.id === 'backfill')?.lastRun?.outcome).toBe('ok');
      },
      { timeout: 120_000, interval: 250 },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const final = await check();
    expect(final.partial).toEqual([]);
    expect(final.total).toBeGreaterThanOrEqual(afterKills.total);
    expect(final.total).toBeGreaterThanOrEqual(96 * 15);
    await server.stop();
  }, 300_000);
});
