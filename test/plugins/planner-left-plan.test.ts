import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { DEMO_CONTRACT } from '../../plugins/replay/demo-contract.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;

/**
 * A demo run (×600, embedded defaults, test/fixtures/planner/demo-2018-01-09-replan.json): at 01:01 UTC on 9 January
 * 2018 the re-plan moved batch 6 nine hours later "to save 3.99 € against keeping the plan in force"; its conching
 * then ended at the horizon's end, its tempering (planned 15:00) no longer fitted and left the plan, and no plan said
 * why. The 3.99 € were the tempering run the new plan no longer did in its horizon, not a saving.
 */
interface Fixture {
  now: string;
  plan_in_force: PlanDocumentPayload;
  started: Array<{ process: string; batch: number; start: string; end: string }>;
  prices: Array<{ start: string; price_eur_mwh: number; source: 'published' | 'forecast' }>;
  main_next_plan_runs: Array<{ process: string; batch: number; start: string }>;
}
const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/planner/demo-2018-01-09-replan.json', import.meta.url), 'utf8')) as Fixture;

describe('a step of a batch that leaves the plan', () => {
  it('is not taken out for the cost alone, and whatever takes a step out is said in every plan until it is back', async () => {
    // The demo's configuration: the embedded defaults and the demo's contract (plugins/replay/demo-contract.ts).
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { energy: { contract: DEMO_CONTRACT } }), FIXTURE.now);
    const slot = (p: Fixture['prices'][number]) => ({ start: Date.parse(p.start), end: Date.parse(p.start) + H, value: p.price_eur_mwh });
    await ctx.store.write('omie_es', 'EUR/MWh', FIXTURE.prices.filter((p) => p.source === 'published').map(slot), { source: 'test', fetchedAt: Date.parse(FIXTURE.now) });
    await ctx.store.write('forecast.omie_es', 'EUR/MWh', FIXTURE.prices.filter((p) => p.source === 'forecast').map(slot), { source: 'test', fetchedAt: Date.parse(FIXTURE.now) });
    const doc = FIXTURE.plan_in_force;
    const startMs = Date.parse(doc.horizon.start);
    const created = Date.parse(doc.created_at);
    const inForce = doc.runs.filter((r) => Date.parse(r.start) > created).map((r) => ({ process: r.process, batch: r.batch, startSlot: (Date.parse(r.start) - startMs) / H, slots: (Date.parse(r.end) - Date.parse(r.start)) / H }));
    await ctx.store.setValue('planner.current', { doc, runs: inForce, startMs, resolutionMs: H });
    await ctx.store.setValue('planner.started', FIXTURE.started.map((r) => ({ process: r.process, batch: r.batch, start: Date.parse(r.start), end: Date.parse(r.end) })));
    await ctx.store.setValue('planner.nextBatch', Math.max(...FIXTURE.started.map((r) => r.batch)) + 1);
    // No broker in this test: the handler the planner subscribes is called with the message as the broker would.
    const lineHandlers: Array<(topic: string, payload: unknown) => void> = [];
    const subscribe = ctx.mqtt.subscribe.bind(ctx.mqtt);
    ctx.mqtt.subscribe = ((filter: string, handler: (topic: string, payload: unknown) => void) => {
      if (filter === topics.lineSetWildcard) lineHandlers.push(handler);
      subscribe(filter, handler as never);
    }) as typeof ctx.mqtt.subscribe;
    const planner = createPlanner(ctx);
    await planner.start();

    // The re-plan the demo made at that instant (no line stop, no operator change: a re-plan for the cost alone).
    await planner.jobs!.planning!();
    const next = planner.current()!;
    const now = ctx.clock.now();
    const horizonEnd = Date.parse(next.horizon.end);
    const has = (d: PlanDocumentPayload, process: string, batch: number) => d.runs.some((r) => r.process === process && r.batch === batch);
    const gone = doc.runs.filter((r) => Date.parse(r.start) > now && Date.parse(r.end) <= horizonEnd && !has(next, r.process, r.batch)).map((r) => `${r.process} #${r.batch}`);
    expect(gone, `${next.fallback_reason}`).toEqual([]);
    expect(has(next, 'tempering', 6)).toBe(true);

    // Then a line stop on conching for 20 h (a forced re-plan): whatever leaves the plan is in left_plan, with the
    // rule and the hours, in that plan and every later one until it is back.
    const before = planner.current()!;
    lineHandlers.at(-1)!(`test/${topics.lineSet('conching')}`, { command: 'stop', until: new Date(now + 20 * H).toISOString() });
    await until(() => planner.current()!.version > before.version);
    const left = (d: PlanDocumentPayload) => before.runs.filter((r) => Date.parse(r.start) > Date.parse(d.created_at) && !has(d, r.process, r.batch));
    const out = left(planner.current()!);
    expect(out.length, 'the stop takes some step out of the plan').toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) {
      const d = planner.current()!;
      for (const r of left(d)) {
        const why = d.left_plan?.find((l) => l.process === r.process && l.batch === r.batch);
        expect(why, `${d.created_at}: ${r.process} #${r.batch} left the plan without a reason`).toBeDefined();
        expect(why!.reason).toMatch(/line conching: stop/);
        expect(why!.reason).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
      }
      await ctx.clock.advance(H / 2);
      await planner.jobs!.planning!();
    }
    await planner.stop();
    await ctx.close();
  }, 300_000);
});

async function until(ok: () => unknown, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
