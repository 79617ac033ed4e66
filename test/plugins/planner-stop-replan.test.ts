import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner, type PlannerPlugin } from '../../plugins/planner/index.js';
import { topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
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
