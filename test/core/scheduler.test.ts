import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import { Scheduler, type JobStatus } from '../../gateway/core/scheduler.js';
import { SeriesStore } from '../../gateway/series/store.js';

const log = pino({ level: 'silent' });
const H = 3_600_000;

describe('scheduler on a fake clock', () => {
  it('runs a day of the prototype schedule in milliseconds, in Europe/Madrid', async () => {
    const clock = new FakeClock('2025-06-10T22:00:00Z'); // 00:00 local
    const s = new Scheduler(clock, log, 'Europe/Madrid');
    const runs: Record<string, string[]> = { price: [], backfill: [], health: [] };
    const job = (id: string) => async () => {
      runs[id]!.push(new Date(clock.now()).toISOString());
      return id;
    };
    s.add({ id: 'price', cron: '0 * * * *', enabled: true, run: job('price') });
    s.add({ id: 'backfill', cron: '0 1 * * *', enabled: true, run: job('backfill') });
    s.add({ id: 'health', cron: '*/15 * * * *', enabled: true, run: job('health') });
    s.add({ id: 'planning', cron: '*/30 * * * *', enabled: true, placeholder: 'planner not installed' });
    await s.start();
    await clock.advance(24 * H);
    expect(runs.price).toHaveLength(24);
    expect(runs.health).toHaveLength(96);
    expect(runs.backfill).toEqual(['2025-06-10T23:00:00.000Z']); // 01:00 Madrid (CEST)
    const planning = s.status().find((j) => j.id === 'planning')!;
    expect(planning.lastRun?.outcome).toBe('placeholder');
    expect(planning.placeholder).toBe('planner not installed');
    await s.stop();
  });

  it('runs a job after the jobs it depends on when they are due the same minute, or still running, whatever the timer order', async () => {
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const s = new Scheduler(clock, log, 'Europe/Madrid');
    const events: string[] = [];
    let releaseBackfill: () => void = () => undefined;
    // Added first, so that its timer fires first; its runs must still come after predictions'.
    s.add({ id: 'planning', cron: '*/30 * * * *', enabled: true, after: ['predictions'], run: async () => (events.push('planning'), 'p') });
    s.add({ id: 'predictions', cron: '*/30 * * * *', enabled: true, after: ['backfill'], run: async () => (events.push('predictions'), 'f') });
    s.add({ id: 'backfill', cron: '0 5 * * *', enabled: true, runOnStart: true, run: () => new Promise((resolve) => (releaseBackfill = () => (events.push('backfill'), resolve('b')))) });
    await s.start();
    await clock.advance(30 * 60_000);
    expect(events).toEqual([]); // both wait for the backfill that started with the scheduler
    releaseBackfill();
    await clock.advance(0);
    expect(events).toEqual(['backfill', 'predictions', 'planning']);
    await clock.advance(30 * 60_000);
    expect(events).toEqual(['backfill', 'predictions', 'planning', 'predictions', 'planning']);
    expect(s.status().reduce((n, j) => n + j.skippedOverlaps, 0)).toBe(0);
    await s.stop();
  });

  it('stop waits for a job that is waiting on another, and then does not start it', async () => {
    // The demo logged "predictions: FAILED model … is not loaded" and "planner: FAILED Iterator is not open" after a
    // stop: runs waiting for their `after` jobs started once those finished, on a stopped gateway.
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const s = new Scheduler(clock, log, 'Europe/Madrid');
    const events: string[] = [];
    let releaseBackfill: () => void = () => undefined;
    s.add({ id: 'planning', cron: '*/30 * * * *', enabled: true, after: ['backfill'], run: async () => (events.push('planning'), 'p') });
    s.add({ id: 'backfill', cron: '0 5 * * *', enabled: true, runOnStart: true, run: () => new Promise((resolve) => (releaseBackfill = () => (events.push('backfill'), resolve('b')))) });
    await s.start();
    await clock.advance(30 * 60_000); // planning is due, and waits for the backfill
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await clock.advance(0);
    expect(stopped).toBe(false); // the backfill is still running
    releaseBackfill();
    await stopping;
    await clock.advance(0);
    expect(events).toEqual(['backfill']);
  });

  it('never overlaps runs of the same job and counts the skipped ones', async () => {
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const s = new Scheduler(clock, log, 'Europe/Madrid');
    let active = 0;
    let maxActive = 0;
    s.add({
      id: 'slow',
      cron: '* * * * *',
      enabled: true,
      run: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await clock.sleep(150_000);
        active--;
        return 'done';
      },
    });
    await s.start();
    await clock.advance(10 * 60_000);
    const st = s.status()[0]!;
    expect(maxActive).toBe(1);
    expect(st.skippedOverlaps).toBeGreaterThanOrEqual(5);
    expect(st.runs).toBeGreaterThanOrEqual(3);
    const stopping = s.stop();
    await clock.advance(5 * 60_000);
    await stopping;
    expect(active).toBe(0);
  });

  it('pauses, resumes, triggers, records failures, and handles the DST days', async () => {
    const clock = new FakeClock('2025-03-29T23:00:00Z'); // 00:00 local on the 23-hour day
    const s = new Scheduler(clock, log, 'Europe/Madrid');
    let n = 0;
    s.add({ id: 'hourly', cron: '0 * * * *', enabled: true, run: async () => `${++n}` });
    s.add({ id: 'broken', cron: '0 3 * * *', enabled: true, run: async () => Promise.reject(new Error('upstream down')) });
    await s.start();
    await clock.advance(24 * H);
    expect(n).toBe(24); // 23 local hours on 2025-03-30 plus 00:00 of the next day
    s.pause('hourly');
    expect(s.status()[0]!.nextRun).toBeNull();
    await clock.advance(3 * H);
    expect(n).toBe(24);
    s.resume('hourly');
    await clock.advance(H);
    expect(n).toBe(25);
    await s.trigger('hourly');
    expect(s.status()[0]!.lastRun?.reason).toBe('manual');
    const broken = s.status().find((j) => j.id === 'broken')!;
    expect(broken.failures).toBe(2); // 03:00 local on both days crossed
    expect(broken.lastError?.message).toBe('upstream down');
    expect(() => s.pause('nope')).toThrow(/no job named "nope"/);
    await s.stop();
  });

  it('runs a job missed during downtime once at start', async () => {
    const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-sched-')));
    const clock = new FakeClock('2025-06-10T22:30:00Z');
    let runs = 0;
    const define = (s: Scheduler) => s.add({ id: 'backfill', cron: '0 1 * * *', enabled: true, run: async () => `${++runs}` });
    const first = new Scheduler(clock, log, 'Europe/Madrid', store);
    define(first);
    await first.start();
    await first.stop();
    expect(runs).toBe(0);
    await clock.advanceTo(Date.parse('2025-06-12T08:00:00Z')); // down across two 01:00 runs
    const second = new Scheduler(clock, log, 'Europe/Madrid', store);
    define(second);
    await second.start();
    await clock.advance(1000);
    expect(runs).toBe(1);
    expect(second.status()[0]!.lastRun?.reason).toBe('missed');
    await second.stop();
    await store.close();
  });

  it('a manual trigger while a run goes on waits for it and runs once more after it; triggers made meanwhile share that run', async () => {
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const s = new Scheduler(clock, log, 'Europe/Madrid');
    const started: number[] = [];
    let release: () => void = () => undefined;
    s.add({
      id: 'planning',
      cron: '0 * * * *',
      enabled: true,
      run: async () => {
        started.push(clock.now());
        await new Promise<void>((r) => (release = r));
        return `run ${started.length}`;
      },
    });
    await s.start();
    await clock.advance(3_600_000); // the scheduled run starts and waits
    expect(started).toHaveLength(1);
    let answered = 0;
    const triggers = [s.trigger('planning'), s.trigger('planning')].map((p) => p.then((st) => (answered++, st)));
    await clock.advance(0);
    expect(answered).toBe(0); // not answered with the run that read its inputs before the call
    release();
    await vi.waitFor(() => expect(started).toHaveLength(2), { timeout: 60_000, interval: 20 });
    expect(answered).toBe(0);
    release();
    const [a, b] = (await Promise.all(triggers)) as [JobStatus, JobStatus];
    expect(started).toHaveLength(2); // the two triggers share one run
    expect(a.lastRun).toMatchObject({ reason: 'manual', outcome: 'ok', summary: 'run 2' });
    expect(b.lastRun?.summary).toBe('run 2');
    expect(a.skippedOverlaps).toBe(0);
    await s.stop();
  });

  it('refuses an invalid cron expression', () => {
    const s = new Scheduler(new FakeClock(0), log, 'Europe/Madrid');
    expect(() => s.add({ id: 'x', cron: '61 * * * *', enabled: true })).toThrow(/invalid cron expression/);
  });
});
