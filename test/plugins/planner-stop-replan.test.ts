import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner, type PlannerPlugin } from '../../plugins/planner/index.js';
import { topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import type { BusEvents } from '../../gateway/core/event-bus.js';
import { localDate, localDayRange, localParts } from '../../gateway/time/tz.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

const H = 3_600_000;
// Real OMIE day-ahead prices of November 2025 (test/fixtures/PROVENANCE.md).
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
type Run = PlanDocumentPayload['runs'][number];

/** The planner on a fake clock over real LevelDB and real prices, the line messages delivered to its own subscription. */
async function livePlanner(planner: Record<string, unknown> = {}) {
  const start = '2025-11-03T08:00:00Z';
  const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, timeLimitMs: 0, frozenMinutes: 120, ...planner } }), start);
  const slots = [...loadHourlyPrices(PRICES)].map(([s, value]) => ({ start: s, end: s + H, value }));
  await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: Date.parse(start) });
  const lineHandlers: Array<(topic: string, payload: unknown) => void> = [];
  const subscribe = ctx.mqtt.subscribe.bind(ctx.mqtt);
  ctx.mqtt.subscribe = ((filter: string, handler: (topic: string, payload: unknown) => void) => {
    if (filter === topics.lineSetWildcard) lineHandlers.push(handler);
    subscribe(filter, handler as never);
  }) as typeof ctx.mqtt.subscribe;
  const p = createPlanner(ctx);
  await p.start();
  const send = (line: string, body: unknown) => lineHandlers.at(-1)!(`test/${topics.lineSet(line)}`, body);
  return { ctx, planner: p, send };
}

async function untilRunning(ctx: TestContext, planner: PlannerPlugin, line: string): Promise<Run> {
  for (let step = 0; step < 96; step++) {
    await planner.jobs!.planning!();
    const now = ctx.clock.now();
    const run = planner.current()!.runs.find((r) => r.line === line && Date.parse(r.start) + H <= now && Date.parse(r.end) - H >= now);
    if (run) return run;
    await ctx.clock.advance(H / 2);
  }
  throw new Error(`no ${line} run in 48 h`);
}

async function nextPlan(planner: PlannerPlugin, id: string): Promise<PlanDocumentPayload> {
  await vi.waitFor(() => expect(planner.current()!.plan_id).not.toBe(id), { timeout: 60_000, interval: 20 });
  return planner.current()!;
}

const key = (r: Run) => `${r.process} #${r.batch} ${r.start}–${r.end}${r.interrupted ? ' (interrupted)' : ''}`;

const contexts: TestContext[] = [];
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

/** The runs not ended at `now`, as comparable text. */
const open = (d: PlanDocumentPayload, now: number) => d.runs.filter((r) => Date.parse(r.end) > now).map(key).sort();

describe('kept_previous means the runs are the same (planner on a fake clock, real LevelDB, real prices)', () => {
  it('a re-plan after a line stop cut a run is not "kept"; the next one that changes nothing is', async () => {
    const { ctx, planner, send } = await livePlanner();
    contexts.push(ctx);
    const running = await untilRunning(ctx, planner, 'conching');
    const before = planner.current()!;
    const now = ctx.clock.now();
    send('conching', { command: 'stop', until: new Date(now + 2 * H).toISOString() });
    const doc = await nextPlan(planner, before.plan_id);
    // The cut: conching's running run ends at the stop and runs again after it, so the runs differ from the plan in force's.
    expect(doc.runs.some((r) => r.batch === running.batch && r.process === 'conching' && r.interrupted)).toBe(true);
    expect(open(doc, now)).not.toEqual(open(before, now));
    // main said kept_previous: true here (the other runs were kept as they were).
    expect(doc.kept_previous).toBe(false);
    // The next planning run, nothing changed: the same runs, and it says so.
    await planner.jobs!.planning!();
    const again = planner.current()!;
    expect(open(again, now)).toEqual(open(doc, now));
    expect(again.kept_previous).toBe(true);
    await planner.stop();
  }, 120_000);
});

const TZ = 'Europe/Madrid';
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];
/** The batch's continuation (the run with `resumes`) in `doc`. */
const continuation = (doc: PlanDocumentPayload, run: Run) => doc.runs.find((r) => r.process === run.process && r.batch === run.batch && r.resumes);

describe('the restarted step of an interrupted run meets the hard limits (planner on a fake clock, real LevelDB, real prices)', () => {
  it('forbidden hours: a stop that ends as the evening window begins restarts the conche when the window ends, not inside it', async () => {
    const { ctx, planner, send } = await livePlanner({ forbidden: [{ weekdays: EVERY_DAY, from: '18:00', to: '21:00' }] });
    contexts.push(ctx);
    const running = await untilRunning(ctx, planner, 'conching');
    const now = ctx.clock.now();
    // Until the next 18:00 local at least an hour away: the earliest restart (the stop's end) is inside the window.
    let day = localDate(now, TZ);
    let windowStart = localDayRange(day, TZ).start + 18 * H;
    if (windowStart < now + H) {
      day = localDate(now + 24 * H, TZ);
      windowStart = localDayRange(day, TZ).start + 18 * H;
    }
    const before = planner.current()!.plan_id;
    send('conching', { command: 'stop', until: new Date(windowStart).toISOString() });
    const doc = await nextPlan(planner, before);
    const again = continuation(doc, running)!;
    expect(again, JSON.stringify(doc.runs.filter((r) => r.process === 'conching'))).toBeDefined();
    // main restarted it at 18:00 local, in the forbidden window; it starts when the window ends, whole (5 h).
    expect(again.start).toBe(new Date(windowStart + 3 * H).toISOString().replace('.000Z', 'Z'));
    expect(Date.parse(again.end) - Date.parse(again.start)).toBe(5 * H);
    for (let t = Date.parse(again.start); t < Date.parse(again.end); t += H) {
      const hour = localParts(t, TZ).hour;
      expect(hour >= 18 && hour < 21, new Date(t).toISOString()).toBe(false);
    }
    expect(doc.infeasible).toEqual([]);
    // The next planning run keeps it there (fixed), once.
    await planner.jobs!.planning!();
    expect(planner.current()!.runs.filter((r) => r.process === 'conching' && r.batch === running.batch && !r.interrupted).map((r) => r.start)).toEqual([again.start]);
    await planner.stop();
  }, 120_000);

  it('ambient limits: outdoor at the halt limit for 3 h after the stop: the conche restarts after them', async () => {
    const { ctx, planner, send } = await livePlanner();
    contexts.push(ctx);
    const running = await untilRunning(ctx, planner, 'conching');
    const now = ctx.clock.now();
    const until = Math.ceil((now + H) / H) * H;
    // The outdoor forecast: 15 °C, but 36 °C (planner.haltAtOutdoorC 35) for the 3 hours from the stop's end.
    const temps = Array.from({ length: 60 }, (_, i) => now - 6 * H + i * H).map((t) => ({ start: Math.floor(t / H) * H, end: Math.floor(t / H) * H + H, value: t >= until && t < until + 3 * H ? 36 : 15 }));
    await ctx.store.write('fc.combined.temp', 'degC', temps, { source: 'test', fetchedAt: now });
    const before = planner.current()!.plan_id;
    send('conching', { command: 'stop', until: new Date(until).toISOString() });
    const doc = await nextPlan(planner, before);
    const again = continuation(doc, running)!;
    expect(Date.parse(again.start)).toBe(until + 3 * H);
    expect(doc.infeasible).toEqual([]);
    await planner.stop();
  }, 120_000);

  it('no start in the horizon meets them: the plan says so in one sentence, PLAN_INFEASIBLE is raised', async () => {
    const { ctx, planner, send } = await livePlanner();
    contexts.push(ctx);
    const alerts: Array<BusEvents['alert']> = [];
    ctx.bus.on('alert', 'test', (a) => alerts.push(a));
    const running = await untilRunning(ctx, planner, 'conching');
    const now = ctx.clock.now();
    const until = Math.ceil((now + H) / H) * H;
    // Too hot to run from the stop's end to past the horizon.
    const temps = Array.from({ length: 80 }, (_, i) => Math.floor(now / H) * H - 6 * H + i * H).map((t) => ({ start: t, end: t + H, value: t >= until ? 37 : 15 }));
    await ctx.store.write('fc.combined.temp', 'degC', temps, { source: 'test', fetchedAt: now });
    const before = planner.current()!.plan_id;
    send('conching', { command: 'stop', until: new Date(until).toISOString() });
    const doc = await nextPlan(planner, before);
    const said = doc.infeasible.find((x) => x.startsWith(`conching #${running.batch} cannot run again after the line stop`));
    expect(said, JSON.stringify(doc.infeasible)).toMatch(/^conching #\d+ cannot run again after the line stop: no start from \S+ to the end of the horizon keeps the forbidden hours, the ambient limits and the contracted power for its 300 min, so it stays at \S+$/);
    expect(said!.split('. ').length).toBe(1);
    await vi.waitFor(() => expect(alerts.some((a) => a.code === 'PLAN_INFEASIBLE' && a.message.includes(said!))).toBe(true), { timeout: 60_000, interval: 20 });
    await planner.stop();
  }, 120_000);
});
