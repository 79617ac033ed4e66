import { describe, expect, it, vi } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner } from '../../plugins/planner/index.js';
import { MAX_OVERRIDE_DAYS } from '../../plugins/planner/override-limits.js';
import { topics } from '../../gateway/mqtt/topics.js';
import { pluginContext, testConfig } from '../helpers/context.js';

const H = 3_600_000;
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;

describe('planner: line overrides are bounded and an ended one is not shown as in force (tester5 fault 9)', () => {
  it('refuses a stop until 2099 with one sentence, and /api/lines drops a stop once its until has passed', async () => {
    const start = '2025-11-03T08:00:00Z';
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, timeLimitMs: 2000 } }), start);
    const slots = [...loadHourlyPrices(PRICES)].map(([s, value]) => ({ start: s, end: s + H, value }));
    await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: Date.parse(start) });
    // No broker: the planner's own subscription handler gets the message as the broker would deliver it.
    const handlers: Array<(topic: string, payload: unknown) => void> = [];
    const subscribe = ctx.mqtt.subscribe.bind(ctx.mqtt);
    ctx.mqtt.subscribe = ((filter: string, handler: (topic: string, payload: unknown) => void) => {
      if (filter === topics.lineSetWildcard) handlers.push(handler);
      subscribe(filter, handler as never);
    }) as typeof ctx.mqtt.subscribe;
    const warnings: Array<{ line?: string; reason?: string }> = [];
    vi.spyOn(ctx.log, 'warn').mockImplementation(((obj: { line?: string; reason?: string }) => void warnings.push(obj)) as never);
    const planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    const send = (line: string, body: unknown) => handlers.at(-1)!(`test/${topics.lineSet(line)}`, body);
    const override = (line: string) => planner.lines().find((l) => l.line === line)!.override;

    // A typo'd year: refused, nothing stops.
    send('mixing', { command: 'stop', until: '2099-01-01T00:00:00Z' });
    expect(override('mixing')).toBeNull();
    expect(warnings.at(-1)).toEqual({ line: 'mixing', reason: `"until" "2099-01-01T00:00:00Z" is more than ${MAX_OVERRIDE_DAYS} days ahead: a stop ends at most ${MAX_OVERRIDE_DAYS} days from now (send it again to extend it)` });
    expect(planner.current()!.overrides ?? []).toEqual([]);
    // Just inside the bound: accepted.
    const within = new Date(ctx.clock.now() + MAX_OVERRIDE_DAYS * 24 * H - H).toISOString();
    send('refining', { command: 'stop', until: within });
    expect(override('refining')?.until).toBe(Date.parse(within));
    send('refining', { command: 'resume' });

    // A one-hour stop: in force for the hour, then no longer shown, as the plan's overrides say.
    send('mixing', { command: 'stop', until: '2025-11-03T09:00:00Z' });
    expect(override('mixing')).toMatchObject({ command: 'stop', until: Date.parse('2025-11-03T09:00:00Z') });
    await vi.waitFor(() => expect(planner.current()!.overrides?.some((o) => o.line === 'mixing')).toBe(true), { timeout: 60_000, interval: 20 });
    await ctx.clock.advanceTo(Date.parse('2025-11-05T09:00:00Z'));
    await planner.jobs!.planning!();
    expect(planner.current()!.overrides ?? []).toEqual([]);
    expect(override('mixing')).toBeNull();
    expect(override('refining')).toBeNull();
    await ctx.close();
  }, 180_000);
});
