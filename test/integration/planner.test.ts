import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, subscriber } from '../helpers/gateway.js';

// Replayed real OMIE prices and Seville weather (the demo samples): 12:00 Madrid on 2 April 2018.
const NOW = '2018-04-02T10:00:00Z';

describe('planner through the whole gateway', () => {
  let gw: Gateway;
  let http: string;
  let mqttUrl: string;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } } });
    ({ gw } = await startGateway(config, NOW));
    http = gw.http!.url;
    mqttUrl = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), { timeout: 60_000 });
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('predictions');
    const run = await gw.scheduler.trigger('planning');
    expect(run.lastRun?.outcome, run.lastRun?.error ?? '').toBe('ok');
  });
  afterAll(() => gw?.stop());

  it('plans the rest of today on published prices and tomorrow on the forecast, cheaper than the fixed shift', async () => {
    const plan = await (await fetch(`${http}/api/plan`)).json();
    expect(plan.horizon.start).toBe('2018-04-02T10:00:00Z');
    expect(plan.infeasible).toEqual([]);
    expect(plan.method).toBe('milp');
    const processes = new Set(plan.runs.map((r: { process: string }) => r.process));
    expect([...processes].sort()).toEqual(['conching', 'mixing', 'refining', 'tempering']);
    expect(plan.hours.some((h: { price_source: string }) => h.price_source === 'forecast')).toBe(true);
    expect(plan.hours[0].price_source).toBe('published');
    expect(plan.totals.cost_eur).toBeLessThanOrEqual(plan.totals.baseline_eur);
    expect(plan.totals.saved_eur).toBeCloseTo(plan.totals.baseline_eur - plan.totals.cost_eur, 2);
    for (const h of plan.hours) expect(['Optimal', 'Moderate', 'Reduced', 'Halt']).toContain(h.recommendation);
    // The model's view sits beside the plan's for the hours the predictions job covered.
    expect(['Optimal', 'Moderate', 'Reduced', 'Halt']).toContain(plan.hours[0].model_recommendation);
  });

  it('publishes the plan and one command per line, retained for subscribers that come later', async () => {
    const sub = await subscriber(mqttUrl, 'choco-edge/#');
    const plan = await sub.waitFor('choco-edge/plan');
    expect(plan.v).toBe(1);
    const cmd = await sub.waitFor('choco-edge/lines/conching/command');
    expect(cmd).toMatchObject({ line: 'conching', process: 'conching', plan_id: plan.plan_id });
    expect(['run', 'idle']).toContain(cmd.now.command);
    expect(sub.messages.find((m) => m.topic === 'choco-edge/lines/conching/command')!.retain).toBe(true);
    await sub.client.endAsync();
  });

  it('a quarter-hour guard deferral republishes the line command with the deferred start, as the PLC lines write it', async () => {
    const plan = await (await fetch(`${http}/api/plan`)).json();
    const now = gw.clock.now();
    const next = plan.runs.filter((r: { line: string; start: string }) => r.line === 'tempering' && Date.parse(r.start) > now).sort((a: { start: string }, b: { start: string }) => Date.parse(a.start) - Date.parse(b.start))[0];
    expect(next).toBeTruthy();
    const sub = await subscriber(mqttUrl, 'choco-edge/lines/tempering/command');
    const shiftMs = 30 * 60_000;
    gw.bus.emit('power.guard', { shifts: [{ line: 'tempering', runStart: Date.parse(next.start), shiftMs, reason: 'test: P1 limit' }], loadsOff: [], projectedKw: 470, limitKw: 450, period: 1, at: now });
    const deferred = new Date(Date.parse(next.start) + shiftMs).toISOString().replace('.000Z', 'Z');
    const cmd = await sub.waitFor('choco-edge/lines/tempering/command', (p) => p.next?.start === deferred);
    expect(cmd).toMatchObject({ line: 'tempering', plan_id: plan.plan_id, next: { command: 'run', start: deferred, batch: next.batch } });
    // Lifted: the planned start again.
    gw.bus.emit('power.guard', { shifts: [], loadsOff: [], projectedKw: 300, limitKw: 450, period: 1, at: now });
    await sub.waitFor('choco-edge/lines/tempering/command', (p) => p.next?.start === next.start);
    await sub.client.endAsync();
  });

  it('keeps the plan when re-planning gains nothing, and previews a quota change without applying it', async () => {
    const before = await (await fetch(`${http}/api/plan`)).json();
    await gw.scheduler.trigger('planning');
    const again = await (await fetch(`${http}/api/plan`)).json();
    expect(again.kept_previous).toBe(true);
    expect(again.runs.map((r: { start: string }) => r.start)).toEqual(before.runs.map((r: { start: string }) => r.start));
    const preview = await (await fetch(`${http}/api/plan/preview`, { method: 'POST', headers: json, body: JSON.stringify({ quota: { conching: 1, tempering: 1, refining: 1, mixing: 1 } }) })).json();
    expect(preview.plan_id).toBe('preview');
    expect(preview.runs.filter((r: { process: string }) => r.process === 'conching').length).toBeLessThan(again.runs.filter((r: { process: string }) => r.process === 'conching').length);
    expect((await (await fetch(`${http}/api/plan`)).json()).plan_id).toBe(again.plan_id);
    expect((await fetch(`${http}/api/plan/preview`, { method: 'POST', headers: json, body: JSON.stringify({ quota: { melting: 2 } }) })).status).toBe(400);
    expect((await fetch(`${http}/api/plan/apply`, { method: 'POST', headers: json, body: JSON.stringify({ quota: { conching: 1 } }) })).status).toBe(401);
  });

  it('respects a line controller that stops its line, and records acknowledgements', async () => {
    const sub = await subscriber(mqttUrl, 'choco-edge/#');
    const until = '2018-04-03T06:00:00Z';
    await sub.client.publishAsync('choco-edge/lines/conching/set', JSON.stringify({ command: 'stop', until }));
    await vi.waitFor(async () => {
      const plan = await (await fetch(`${http}/api/plan`)).json();
      const conching = plan.runs.filter((r: { process: string; start: string }) => r.process === 'conching' && Date.parse(r.start) >= Date.parse(NOW));
      if (!conching.length || conching.some((r: { start: string }) => Date.parse(r.start) < Date.parse(until))) throw new Error('plan does not respect the stop yet');
    }, { timeout: 60_000, interval: 100 });
    // The acknowledgement names the plan in force (one it never published is refused: issue #26).
    const planId = ((await (await fetch(`${http}/api/plan`)).json()) as { plan_id: string }).plan_id;
    await sub.client.publishAsync('choco-edge/lines/mixing/set', JSON.stringify({ command: 'ack', plan_id: planId }));
    await vi.waitFor(async () => {
      const lines = await (await fetch(`${http}/api/lines`)).json();
      expect(lines.find((l: { line: string }) => l.line === 'mixing').ack.plan_id).toBe(planId);
      expect(lines.find((l: { line: string }) => l.line === 'conching').override).toMatchObject({ command: 'stop', until: '2018-04-03T06:00:00Z' });
    }, { timeout: 60_000 });
    const alerts = await (await fetch(`${http}/api/alerts`)).json();
    expect(alerts.some((a: { code: string }) => a.code === 'FORECAST_PRICES')).toBe(true);
    await sub.client.endAsync();
  });
});
