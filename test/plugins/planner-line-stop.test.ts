import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { createPlanner, type PlannerPlugin } from '../../plugins/planner/index.js';
import { createModbusLines } from '../../plugins/modbus-lines/index.js';
import { lineStateAt } from '../../gateway/lines/line-state.js';
import { localDate } from '../../gateway/time/tz.js';
import { topics, type PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const H = 3_600_000;
const TZ = 'Europe/Madrid';
// Real OMIE day-ahead prices of November 2025 (test/fixtures/PROVENANCE.md).
const PRICES = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
const KW: Record<string, number> = { mixing: 30, refining: 42, conching: 48, tempering: 36 };
const kwOf = (p: string) => KW[p] ?? 0;

type Run = PlanDocumentPayload['runs'][number];

/** The planner on a fake clock over real LevelDB and real prices, the line messages delivered to its own subscription. */
async function livePlanner(timeLimitMs: number, processes?: unknown) {
  const start = '2025-11-03T08:00:00Z';
  const ctx = await pluginContext(testConfig('http://127.0.0.1:9', { planner: { horizonHours: 48, timeLimitMs, frozenMinutes: 120, ...(processes ? { processes } : {}) } }), start);
  const slots = [...loadHourlyPrices(PRICES)].map(([s, value]) => ({ start: s, end: s + H, value }));
  await ctx.store.write('omie_es', 'EUR/MWh', slots, { source: 'test', fetchedAt: Date.parse(start) });
  // No broker in this test: the handler the planner subscribes is called with the message as the broker would.
  const lineHandlers: Array<(topic: string, payload: unknown) => void> = [];
  const subscribe = ctx.mqtt.subscribe.bind(ctx.mqtt);
  ctx.mqtt.subscribe = ((filter: string, handler: (topic: string, payload: unknown) => void) => {
    if (filter === topics.lineSetWildcard) lineHandlers.push(handler);
    subscribe(filter, handler as never);
  }) as typeof ctx.mqtt.subscribe;
  const planner = createPlanner(ctx);
  await planner.start();
  const send = (line: string, body: unknown) => lineHandlers.at(-1)!(`test/${topics.lineSet(line)}`, body);
  return { ctx, planner, send };
}

/** Plans every 30 minutes until a run of `line` has been running for at least an hour and has an hour or more left. */
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

/** Waits for the plan made after plan `id` (the re-plan a line message causes). */
async function nextPlan(planner: PlannerPlugin, id: string): Promise<PlanDocumentPayload> {
  await vi.waitFor(() => expect(planner.current()!.plan_id).not.toBe(id), { timeout: 60_000, interval: 20 });
  return planner.current()!;
}

/** Every batch's steps in the order mixing → refining → conching → tempering, each after the one before (its last piece) ended. */
function orderProblems(doc: PlanDocumentPayload): string[] {
  const order = ['mixing', 'refining', 'conching', 'tempering'];
  const out: string[] = [];
  const batches = new Set(doc.runs.map((r) => r.batch));
  for (const b of batches) {
    const steps = order.map((p) => doc.runs.filter((r) => r.batch === b && r.process === p && !r.interrupted));
    for (const s of steps) if (s.length > 1) out.push(`batch ${b}: ${s[0]!.process} ${s.length} times`);
    for (let i = 1; i < order.length; i++) {
      const prev = steps[i - 1]![0];
      const cur = steps[i]![0];
      if (prev && cur && Date.parse(cur.start) < Date.parse(prev.end)) out.push(`batch ${b}: ${cur.process} at ${cur.start} before ${prev.process} ends ${prev.end}`);
    }
  }
  return out;
}

const contexts: TestContext[] = [];
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

describe('lineStateAt: a line under an operator stop runs nothing (safety layer independent of the runs)', () => {
  it('is idle until the stop ends even while its run says run, and follows the plan again after', () => {
    const now = Date.parse('2025-06-02T10:00:00Z');
    const doc = { ...planDocument(now, [{ ...lineRun('conching', now - H, now + 4 * H, 48), batch: 7 }]), overrides: [{ line: 'conching', command: 'stop' as const, at: new Date(now).toISOString(), until: new Date(now + H).toISOString() }] };
    expect(lineStateAt(doc, 'conching', now + 60_000, kwOf)).toEqual({ command: 'idle', powerKw: 0, validUntil: now + H, batch: null });
    // Another line is not touched; before the stop was given and after it ends the run says run.
    expect(lineStateAt(doc, 'conching', now - 60_000, kwOf).command).toBe('run');
    expect(lineStateAt(doc, 'conching', now + H, kwOf)).toEqual({ command: 'run', powerKw: 48, validUntil: now + 4 * H, batch: 7 });
    // A resume is no stop.
    expect(lineStateAt({ ...doc, overrides: [{ ...doc.overrides[0]!, command: 'resume' as const }] }, 'conching', now + 60_000, kwOf).command).toBe('run');
  });
});

describe('a line stop interrupts the run the line runs (planner on a fake clock, real LevelDB, real prices)', () => {
  it.each([
    ['the greedy planner', 0],
    ['the solver', 5000],
  ])('ends the running run at the stop and runs the step again after it, same batch, quotas and order kept (%s)', async (_, timeLimitMs) => {
    const { ctx, planner, send } = await livePlanner(timeLimitMs);
    contexts.push(ctx);
    const running = await untilRunning(ctx, planner, 'conching');
    const before = planner.current()!;
    const now = ctx.clock.now();
    const until = now + 90 * 60_000 + 7 * 60_000; // off the slot grid on purpose
    send('conching', { command: 'stop', until: new Date(until).toISOString() });
    // Layer 2 at once (before the re-plan): the plan in force carries the stop, the line is idle.
    expect(lineStateAt(planner.current(), 'conching', now, kwOf).command).toBe('idle');
    const doc = await nextPlan(planner, before.plan_id);
    expect(doc.overrides).toEqual([{ line: 'conching', command: 'stop', at: new Date(now).toISOString().replace('.000Z', 'Z'), until: new Date(until).toISOString().replace('.000Z', 'Z') }]);
    const mine = doc.runs.filter((r) => r.process === 'conching' && r.batch === running.batch);
    // The interrupted piece ends at the stop, marked with the reason; the step runs again (in full: conching is
    // uninterrupted) from the first slot after the stop, keeping the batch id.
    const piece = mine.find((r) => r.interrupted);
    expect(piece, JSON.stringify(mine)).toBeDefined();
    expect(Date.parse(piece!.end)).toBe(now);
    expect(piece!.start).toBe(running.start);
    expect(piece!.interrupted_reason).toMatch(/line conching stopped/);
    const again = mine.find((r) => !r.interrupted)!;
    expect(again.resumes).toBe('full');
    expect(Date.parse(again.start)).toBe(Math.ceil(until / H) * H);
    expect(Date.parse(again.end) - Date.parse(again.start)).toBe(5 * H);
    // Nothing runs on the stopped line until the stop ends, by the runs alone (layer 1), not only by the override.
    const { overrides: _overrides, ...runsOnly } = doc;
    for (let t = now; t < until; t += 15 * 60_000) expect(lineStateAt(runsOnly, 'conching', t, kwOf).command, new Date(t).toISOString()).toBe('idle');
    expect(lineStateAt(runsOnly, 'conching', Date.parse(again.start), kwOf)).toMatchObject({ command: 'run', batch: running.batch });
    // The batches are the same ones (no batch lost, none added), each step once, in order.
    const ids = (d: PlanDocumentPayload) => [...new Set(d.runs.filter((r) => !r.interrupted).map((r) => `${r.process} #${r.batch}`))].sort();
    const startedBefore = (d: PlanDocumentPayload) => d.runs.filter((r) => Date.parse(r.start) <= now);
    expect(ids({ ...doc, runs: doc.runs.filter((r) => Date.parse(r.start) < Date.parse(doc.horizon.end) - 12 * H) })).toEqual(expect.arrayContaining(ids({ ...before, runs: startedBefore(before) })));
    expect(orderProblems(doc)).toEqual([]);
    // The day's quota: the batches entering the line today are the same number as before the stop.
    const today = localDate(now, TZ);
    const mixingToday = (d: PlanDocumentPayload) => d.runs.filter((r) => r.process === 'mixing' && !r.interrupted && localDate(Date.parse(r.start), TZ) === today).length;
    expect(mixingToday(doc)).toBe(mixingToday(before));
    // The next planning runs keep the continuation where it is (one conching run of the batch, not two) and, once
    // it started, count it as the same started run.
    await planner.jobs!.planning!();
    expect(planner.current()!.runs.filter((r) => r.process === 'conching' && r.batch === running.batch && !r.interrupted).map((r) => r.start)).toEqual([again.start]);
    await ctx.clock.advanceTo(Date.parse(again.start) + H);
    await planner.jobs!.planning!();
    const later = planner.current()!;
    expect(later.runs.filter((r) => r.process === 'conching' && r.batch === running.batch && !r.interrupted).map((r) => [r.start, r.end])).toEqual([[again.start, again.end]]);
    expect(lineStateAt(later, 'conching', ctx.clock.now(), kwOf)).toMatchObject({ command: 'run', batch: running.batch });
    expect(orderProblems(later)).toEqual([]);
    await planner.stop();
  }, 300_000);

  it('resumes a step of a process that is not uninterrupted for its remaining duration, and a resume brings it forward', async () => {
    const processes = [
      { name: 'mixing', kw: 30, minutes: 60, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'mixing', maxWaitMinutes: 240, holdKw: 4 },
      { name: 'refining', kw: 42, minutes: 240, batchesPerDay: 2, uninterrupted: false, minGapMinutes: 0, line: 'refining', maxWaitMinutes: 240, holdKw: 4 },
      { name: 'conching', kw: 48, minutes: 300, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'conching', maxWaitMinutes: 240, holdKw: 4 },
      { name: 'tempering', kw: 36, minutes: 120, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, maxPlantTempC: 24, line: 'tempering', maxWaitMinutes: 240, holdKw: 4 },
    ];
    const live = await livePlanner(0, processes);
    const { ctx, send } = live;
    let { planner } = live;
    contexts.push(ctx);
    const running = await untilRunning(ctx, planner, 'refining');
    const now = ctx.clock.now();
    const left = Date.parse(running.end) - now;
    const first = planner.current()!;
    send('refining', { command: 'stop', until: new Date(now + 3 * H).toISOString() });
    const doc = await nextPlan(planner, first.plan_id);
    const again = doc.runs.find((r) => r.process === 'refining' && r.batch === running.batch && !r.interrupted)!;
    expect(again.resumes).toBe('remainder');
    expect(Date.parse(again.start)).toBe(now + 3 * H);
    expect(Date.parse(again.end) - Date.parse(again.start)).toBe(left);
    // A restart keeps the interruption (LevelDB): the planner after it plans the same continuation, once.
    await planner.stop();
    const restarted = createPlanner(ctx);
    await restarted.start();
    await restarted.jobs!.planning!();
    const afterRestart = restarted.current()!;
    expect(afterRestart.runs.filter((r) => r.process === 'refining' && r.batch === running.batch).map((r) => [r.start, r.end, r.interrupted ?? false])).toEqual([
      [running.start, new Date(now).toISOString().replace('.000Z', 'Z'), true],
      [again.start, again.end, false],
    ]);
    await restarted.stop();
    planner = createPlanner(ctx);
    await planner.start();
    await planner.jobs!.planning!();
    // The operator resumes the line after an hour: the step runs again from then.
    await ctx.clock.advance(H);
    const stopped = planner.current()!.plan_id;
    send('refining', { command: 'resume' });
    const resumed = await nextPlan(planner, stopped);
    const moved = resumed.runs.find((r) => r.process === 'refining' && r.batch === running.batch && !r.interrupted)!;
    expect(Date.parse(moved.start)).toBe(ctx.clock.now());
    expect(lineStateAt(resumed, 'refining', ctx.clock.now(), kwOf)).toMatchObject({ command: 'run', batch: running.batch });
    expect(orderProblems(resumed)).toEqual([]);
    await planner.stop();
  }, 300_000);
});

describe('the PLC of a stopped line (real Modbus TCP server, planner on a fake clock)', () => {
  it('goes from run (1) to idle (0) within one write cycle of the stop, and back to run after a resume', async () => {
    const { ctx, planner, send } = await livePlanner(0);
    contexts.push(ctx);
    await untilRunning(ctx, planner, 'conching');
    const plc = new FakePlc(await freePort());
    await plc.start();
    const registers = { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104, batch: 105 };
    // The line's configuration as the schema completes it (defaults filled in), on the planner's context.
    const lineCfg = testConfig('http://127.0.0.1:9', { lines: [{ line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 100, timeoutMs: 1000, maxBackoffMs: 400, registers }] }).lines;
    const lines = createModbusLines({ ...ctx, config: { ...ctx.config, lines: lineCfg } });
    await lines.start();
    try {
      ctx.bus.emit('plan.updated', { version: planner.current()!.version, planId: planner.current()!.plan_id, doc: planner.current()! });
      await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(1), { timeout: 30_000 });
      const plan = planner.current()!.plan_id;
      const mark = plc.writes.length;
      send('conching', { command: 'stop', until: new Date(ctx.clock.now() + 2 * H).toISOString() });
      await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(0), { timeout: 30_000 });
      // Within one write cycle: at most the write of a cycle already under way says run, then idle.
      const commands = () => plc.writes.slice(mark).filter((w) => w.address === registers.command).map((w) => w.value);
      expect(commands().indexOf(0)).toBeLessThanOrEqual(1);
      expect(plc.holding.get(registers.powerSetpoint)).toBe(0);
      // Through the re-plan and many heartbeats it stays idle.
      await nextPlan(planner, plan);
      const beat = plc.holding.get(registers.heartbeat)!;
      await vi.waitFor(() => expect(plc.holding.get(registers.heartbeat)).toBeGreaterThan(beat + 3), { timeout: 30_000 });
      expect(commands().slice(commands().indexOf(0))).not.toContain(1);
      // The operator resumes: the line runs its batch again at the next write.
      const stopped = planner.current()!.plan_id;
      send('conching', { command: 'resume' });
      await nextPlan(planner, stopped);
      await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(1), { timeout: 30_000 });
      expect(plc.holding.get(registers.powerSetpoint)).toBe(480);
    } finally {
      await lines.stop();
      await plc.stop();
      await planner.stop();
    }
  }, 300_000);
  it('goes back to the plan after the stop ends: the step runs again from the first slot after until', async () => {
    const { ctx, planner, send } = await livePlanner(0);
    contexts.push(ctx);
    const running = await untilRunning(ctx, planner, 'conching');
    const plc = new FakePlc(await freePort());
    await plc.start();
    const registers = { command: 100, powerSetpoint: 101, validUntil: 102, heartbeat: 104, batch: 105 };
    const lineCfg = testConfig('http://127.0.0.1:9', { lines: [{ line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: 100, timeoutMs: 1000, maxBackoffMs: 400, registers }] }).lines;
    const lines = createModbusLines({ ...ctx, config: { ...ctx.config, lines: lineCfg } });
    await lines.start();
    try {
      ctx.bus.emit('plan.updated', { version: planner.current()!.version, planId: planner.current()!.plan_id, doc: planner.current()! });
      await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(1), { timeout: 30_000 });
      const until = ctx.clock.now() + H;
      const plan = planner.current()!.plan_id;
      send('conching', { command: 'stop', until: new Date(until).toISOString() });
      await nextPlan(planner, plan);
      await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(0), { timeout: 30_000 });
      // The PLC is told how long the idle holds: until the stop ends (seconds, uint32 over two registers).
      expect(plc.holding.get(registers.validUntil)! * 65536 + plc.holding.get(registers.validUntil + 1)!).toBe(Math.floor(until / 1000));
      // The stop ends (the gateway's clock passes until; the planning job runs as it does every 30 minutes).
      await ctx.clock.advanceTo(Math.ceil(until / H) * H);
      await planner.jobs!.planning!();
      await vi.waitFor(() => expect(plc.holding.get(registers.command)).toBe(1), { timeout: 30_000 });
      expect(plc.holding.get(registers.batch)! * 65536 + plc.holding.get(registers.batch + 1)!).toBe(running.batch);
    } finally {
      await lines.stop();
      await plc.stop();
      await planner.stop();
    }
  }, 300_000);
});
