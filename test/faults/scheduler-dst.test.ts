import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import { Scheduler } from '../../gateway/core/scheduler.js';
import { LocalCron, dstHourWarnings } from '../../gateway/core/cron-local.js';
import { loadConfig } from '../../gateway/config/load.js';
import { localDayRange } from '../../gateway/time/tz.js';

/**
 * Issue #27 fault 4: jobs in the DST hour. A job runs once per local occurrence, as Vixie cron does: a fixed-time job
 * whose local time is skipped runs once right after the jump, one whose local time repeats runs once; wildcard jobs
 * follow real time. Driven on a fake clock over both DST Sundays of 2026 in Europe/Madrid.
 */
const log = pino({ level: 'silent' });
const H = 3_600_000;

async function runsOver(from: string, to: string, jobs: Record<string, string>): Promise<Record<string, string[]>> {
  const clock = new FakeClock(from);
  const s = new Scheduler(clock, log, 'Europe/Madrid');
  const runs: Record<string, string[]> = {};
  for (const [id, cron] of Object.entries(jobs)) {
    runs[id] = [];
    s.add({ id, cron, enabled: true, run: async () => (runs[id]!.push(new Date(clock.now()).toISOString()), id) });
  }
  await s.start();
  await clock.advanceTo(Date.parse(to));
  await s.stop();
  return runs;
}

describe('cron jobs across DST in Europe/Madrid (Vixie cron semantics)', () => {
  it('fall-back Sunday 2026-10-25: the weekly cleanup and a daily 02:30 job run once, in the first 02:xx; wildcard jobs follow real time', async () => {
    const runs = await runsOver('2026-10-23T22:00:00Z', '2026-10-26T23:00:00Z', { cleanup: '0 2 * * 0', daily: '30 2 * * *', quarter: '*/15 * * * *', hourly: '5 * * * *', three: '0 3 * * *' });
    expect(runs.cleanup).toEqual(['2026-10-25T00:00:00.000Z']); // 02:00 CEST; not again at 02:00 CET (01:00Z)
    expect(runs.daily).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    expect(runs.three).toEqual(['2026-10-24T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-26T02:00:00.000Z']);
    const { start, end } = localDayRange('2026-10-25');
    const on = (list: string[]) => list.filter((t) => Date.parse(t) >= start && Date.parse(t) < end);
    expect(on(runs.quarter!)).toHaveLength(100); // the 25-hour day
    expect(on(runs.hourly!)).toHaveLength(25);
    expect(on(runs.hourly!)).toContain('2026-10-25T00:05:00.000Z');
    expect(on(runs.hourly!)).toContain('2026-10-25T01:05:00.000Z');
  });

  it('spring-forward Sunday 2026-03-29: a job in 02:00-02:59 runs once right after the jump, not a week or a day later', async () => {
    const runs = await runsOver('2026-03-27T23:00:00Z', '2026-03-30T22:00:00Z', { cleanup: '0 2 * * 0', daily: '30 2 * * *', quarter: '*/15 * * * *', hourly: '5 * * * *', three: '0 3 * * *', twoAndThree: '15 2,3 * * *' });
    expect(runs.cleanup).toEqual(['2026-03-29T01:00:00.000Z']); // 03:00 CEST, the first minute after 01:59:59 CET
    expect(runs.daily).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(runs.three).toEqual(['2026-03-28T02:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T01:00:00.000Z']);
    // 02:15 (skipped) runs at the jump, 03:15 at its own time: once each.
    expect(runs.twoAndThree!.filter((t) => t.startsWith('2026-03-29'))).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-29T01:15:00.000Z']);
    const { start, end } = localDayRange('2026-03-29');
    const on = (list: string[]) => list.filter((t) => Date.parse(t) >= start && Date.parse(t) < end);
    expect(on(runs.quarter!)).toHaveLength(92); // the 23-hour day: no run for minutes that did not happen
    expect(on(runs.hourly!)).toHaveLength(23);
  });

  it('a restart inside the repeated hour neither repeats the run nor counts it as missed; next runs are reported right', () => {
    const cleanup = new LocalCron('0 2 * * 0', 'Europe/Madrid');
    expect(cleanup.previous(Date.parse('2026-10-25T01:30:00Z'))).toBe(Date.parse('2026-10-25T00:00:00Z'));
    expect(cleanup.next(Date.parse('2026-10-25T00:00:00Z'))).toBe(Date.parse('2026-11-01T01:00:00Z'));
    expect(cleanup.next(Date.parse('2026-03-22T12:00:00Z'))).toBe(Date.parse('2026-03-29T01:00:00Z'));
    expect(cleanup.previous(Date.parse('2026-03-29T01:30:00Z'))).toBe(Date.parse('2026-03-29T01:00:00Z'));
    expect(new LocalCron('*/15 * * * *', 'Europe/Madrid').fixedTime).toBe(false);
    expect(new LocalCron('0 2 * * 0', 'Europe/Madrid').fixedTime).toBe(true);
    void H;
  });

  it('check-config warns about jobs in 02:00-02:59 Europe/Madrid: none of the defaults (the weekly cleanup at 03:00), a cleanup moved to 02:00', () => {
    const config = loadConfig({ env: {} });
    const jobs = Object.entries(config.scheduler.jobs).map(([id, j]) => ({ id, cron: j.cron, enabled: j.enabled }));
    expect(dstHourWarnings(jobs, 'Europe/Madrid', Date.parse('2026-01-01T00:00:00Z'))).toEqual([]);
    const warnings = dstHourWarnings(jobs.map((j) => (j.id === 'cleanup' ? { ...j, cron: '0 2 * * 0' } : j)), 'Europe/Madrid', Date.parse('2026-01-01T00:00:00Z'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(
      'job cleanup ("0 2 * * 0") is scheduled in a local hour that daylight saving time changes in Europe/Madrid: 02:00-02:59 is skipped on 2026-03-29 (it runs once right after the jump); 02:00-02:59 is repeated on 2026-10-25 (it runs once, in the first pass); a time outside that hour avoids it',
    );
    expect(dstHourWarnings([{ id: 'x', cron: '30 2 15 * *', enabled: true }, { id: 'y', cron: '30 2 * * *', enabled: false }], 'Europe/Madrid', Date.parse('2026-01-01T00:00:00Z'))).toHaveLength(1);
    expect(dstHourWarnings([{ id: 'x', cron: '30 2 * * *', enabled: true }], 'UTC', Date.parse('2026-01-01T00:00:00Z'))).toEqual([]);
  });
});
