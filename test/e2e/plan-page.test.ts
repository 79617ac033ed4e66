import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../../gateway/time/clock.js';
import type { Gateway } from '../../gateway/controller.js';
import { SIMULATED_POINTS, startSimulatedSensor } from '../../plugins/replay/simulated-sensor.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, subscriber } from '../helpers/gateway.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const H = 3_600_000;
const SLOW = { timeout: 60_000 };
/** This run's screenshots (printed, to be looked at): a fresh directory per run. */
const OUT = mkdtempSync(join(tmpdir(), 'choco-plan-page-'));
const ORDER = ['mixing', 'refining', 'conching', 'tempering'];
const VIEWPORTS = [
  { name: 'desktop', width: 1366, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

// The plan as the floor reads it: the replayed demo data, a real Modbus TCP floor sensor (the demo's simulated one,
// a modbus-serial ServerTCP on a free port), a few hours of re-plans on the fake clock, the page in headless Chromium.
describe.skipIf(!CHROMIUM)('the plan on the status page', { timeout: 240_000 }, () => {
  let gw: Gateway;
  let clock: FakeClock;
  let browser: Browser;
  let http: string;
  let sensor: Awaited<ReturnType<typeof startSimulatedSensor>>;

  beforeAll(async () => {
    let store: Gateway['store'] | undefined;
    const sensorClock = { now: () => clock?.now() ?? Date.parse('2018-01-08T09:00:00Z') };
    sensor = await startSimulatedSensor(() => store, sensorClock as never);
    const config = testConfig('http://127.0.0.1:9', {
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } },
      modbus: { devices: [{ name: 'floor', host: '127.0.0.1', port: sensor.port, pollMs: 200, timeoutMs: 5000, points: SIMULATED_POINTS }] },
      ui: { language: 'en' },
    });
    ({ gw, clock } = await startGateway(config, '2018-01-08T09:00:00Z'));
    store = gw.store;
    http = gw.http!.url;
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), SLOW);
    for (const job of gw.scheduler.status()) gw.scheduler.pause(job.id);
    await vi.waitFor(() => expect(gw.scheduler.status().filter((j) => j.running)).toEqual([]), SLOW);
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('predictions');
    // Five hours of re-plans every half hour: batches in progress, lines running and waiting.
    for (let i = 0; i < 10; i++) {
      await gw.scheduler.trigger('planning');
      await clock.advance(H / 2);
    }
    await gw.scheduler.trigger('predictions');
    await gw.scheduler.trigger('planning');
    // The refining line's PLC acknowledges the plan and the batch it runs (a real MQTT client on the embedded broker).
    const plc = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/lines/+/command');
    const command = await plc.waitFor('choco-edge/lines/refining/command', (p) => p.plan_id === gw.planner()!.current()!.plan_id);
    await plc.client.publishAsync('choco-edge/lines/refining/set', JSON.stringify({ command: 'ack', plan_id: command.plan_id, batch: command.now.batch ?? command.next.batch }));
    await vi.waitFor(async () => expect((await (await fetch(`${http}/api/lines`)).json()).find((l: { line: string }) => l.line === 'refining').ack).toMatchObject({ plan_id: command.plan_id, batch_in_plan: true }), SLOW);
    await plc.client.endAsync();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await sensor?.stop();
    console.log(`plan page screenshots: ${OUT}`);
  });

  const open = async (lang: 'es' | 'en', viewport: { width: number; height: number }): Promise<Page> => {
    const page = await browser.newPage({ viewport });
    await page.goto(`${http}/?lang=${lang}`);
    await page.waitForSelector('body[data-loaded]', SLOW);
    return page;
  };

  it('gives /api/status the plant floor from the floor sensors, and the page a floor card', async () => {
    const status = await vi.waitFor(async () => {
      const s = await (await fetch(`${http}/api/status`)).json();
      expect(s.floor.floor_temp?.value).toEqual(expect.any(Number));
      expect(s.floor.floor_rh?.value).toEqual(expect.any(Number));
      return s;
    }, SLOW);
    expect(status.floor.floor_temp).toMatchObject({ unit: 'degC', state: 'ok', stale: false });
    const page = await open('en', VIEWPORTS[0]);
    try {
      const text = (await page.textContent('#card-floor .value'))!;
      expect(text).toContain(status.floor.floor_temp.value.toFixed(1));
      expect(text).toMatch(new RegExp(`${Math.round(status.floor.floor_rh.value)}\\s%$`));
    } finally {
      await page.close();
    }
  });

  it("shows one recommendation, the plan's for this hour, with the model's class only as a labelled input", async () => {
    const status = await (await fetch(`${http}/api/status`)).json();
    const hour = status.plan.hours.find((h: { start: string }) => Date.parse(h.start) <= clock.now() && Date.parse(h.start) + H > clock.now());
    expect(status.recommendation).toMatchObject({ source: 'plan', recommendation: hour.recommendation, plan_id: status.plan.plan_id });
    expect(status.model_recommendation.recommendation).toEqual(expect.any(String));
    const page = await open('en', VIEWPORTS[0]);
    try {
      expect(await page.textContent('#card-rec .value')).toBe(hour.recommendation);
      expect(await page.textContent('#card-rec .meta')).toContain('from the plan');
      expect(await page.textContent('#rec-model')).toBe(`model input: ${status.model_recommendation.recommendation} (v${status.model_recommendation.version})`);
    } finally {
      await page.close();
    }
    // In Spanish the running processes (config identifiers) follow a translated phrase, never "según el plan (refining)".
    const es = await open('es', VIEWPORTS[0]);
    try {
      const running: string[] = status.recommendation.running ?? [];
      const meta = (await es.textContent('#card-rec .meta'))!;
      expect(meta).toContain(running.length ? `según el plan · en marcha: ${running.join(', ')}` : 'según el plan');
      expect(meta).not.toMatch(/según el plan \(/);
    } finally {
      await es.close();
    }
  });

  // A figure shown is measured or labelled planned: the plan's cost and saving are the plan's (published and forecast
  // prices), beside the bill panel's measured savings; on main they read "cost" and "saved against the fixed shift".
  it('labels the plan\'s cost and saving as planned, in both languages', async () => {
    for (const [lang, cost, saved] of [
      ['en', 'planned cost: ', 'planned saving against the fixed shift: '],
      ['es', 'coste previsto: ', 'ahorro previsto frente a turno fijo: '],
    ] as const) {
      const page = await open(lang, VIEWPORTS[0]);
      try {
        const summary = (await page.textContent('#plan p'))!;
        expect(summary).toContain(`${cost}${await page.textContent('#plan-cost')}`);
        expect(summary).toContain(`${saved}${await page.textContent('#plan-saved')}`);
      } finally {
        await page.close();
      }
    }
  });

  for (const lang of ['es', 'en'] as const) {
    for (const vp of VIEWPORTS) {
      it(`reads at ${vp.width}×${vp.height} in ${lang}: time axis, rows in line order, whole batch numbers, a lines table that fits and says now or next`, async () => {
        const status = await (await fetch(`${http}/api/status`)).json();
        const page = await open(lang, vp);
        try {
          await page.screenshot({ path: join(OUT, `plan-${vp.name}-${lang}.png`), fullPage: true });
          // The parts this test is about, close up, to look at.
          await page.locator('#now').screenshot({ path: join(OUT, `cards-${vp.name}-${lang}.png`) });
          await page.locator('#plan').locator('xpath=..').screenshot({ path: join(OUT, `timeline-${vp.name}-${lang}.png`) });
          await page.locator('#lines').locator('xpath=..').screenshot({ path: join(OUT, `lines-${vp.name}-${lang}.png`) });
          expect(await page.$$eval('#plan .tl-row[data-process]', (rows) => rows.map((r) => (r as HTMLElement).dataset.process))).toEqual(ORDER);
          const ticks = await page.$$eval('#plan .tl-tick', (els) => els.map((e) => e.textContent));
          expect(ticks.length).toBeGreaterThanOrEqual(3);
          for (const tick of ticks) expect(tick).toMatch(/^(\d{2}:\d{2}|\d{1,2}\/\d{1,2})$/);
          // A run shows its whole batch id or nothing (the tooltip has it): never a cut fragment.
          const runs = await page.$$eval('#plan .tl-run', (els) => els.map((e) => ({ text: e.textContent, narrow: e.classList.contains('narrow'), fits: e.scrollWidth <= e.clientWidth + 1, title: e.getAttribute('title') })));
          expect(runs).toHaveLength(status.plan.runs.length);
          for (const r of runs) expect(r.narrow || r.fits, JSON.stringify(r)).toBe(true);
          expect(runs.every((r) => /^\d+$/.test(r.text!))).toBe(true);
          // The lines table fits its card and says whether the batch runs now or is next.
          const fit = await page.$eval('#lines', (el) => ({ scroll: el.scrollWidth, client: el.clientWidth, panel: el.parentElement!.scrollWidth - el.parentElement!.clientWidth }));
          expect(fit.scroll, JSON.stringify(fit)).toBeLessThanOrEqual(fit.client + 1);
          expect(fit.panel).toBeLessThanOrEqual(1);
          const states = await page.$$eval('#lines [data-state]', (els) => els.map((e) => `${(e as HTMLElement).dataset.state}:${e.textContent}`));
          expect(states.length).toBe(status.lines.filter((l: { command: unknown }) => l.command).length);
          for (const s of states) expect(s).toMatch(lang === 'es' ? /^(running:en marcha|next:siguiente)$/ : /^(running:running now|next:next)$/);
          expect(states.some((s) => s.startsWith('running'))).toBe(true);
          // Stability (issue #23): the frozen window and the day's batch moves against the limit, as the plan says.
          expect(await page.locator('#plan-moves').textContent()).toBe(`${status.plan.stability.moves_today}/${status.plan.stability.max_moves_per_day}`);
          // Where the plan is on forecast prices, the saving's 10-90 % range (gateway/planner/band.ts).
          const fb = status.plan.forecast_band;
          expect(await page.locator('#plan-band').count()).toBe(fb ? 1 : 0);
          if (fb) expect(await page.locator('#plan-band').textContent()).toMatch(lang === 'es' ? /^precios previstos desde .+: ahorro? .+–.+ € \(10–90 %\)$/ : /^forecast prices from .+: (saved?|planned saving) .+–.+ € \(10–90 %\)$/);
          expect(await page.locator('#plan-stability').textContent()).toMatch(lang === 'es' ? /^plan fijo hasta \d{2}:\d{2} · cambios de lote hoy: \d+\/2$/ : /^plan frozen until \d{2}:\d{2} · batch moves today: \d+\/2$/);
        } finally {
          await page.close();
        }
      });
    }
  }

  it('pre-fills the daily-batches form with the configured values; Preview unchanged changes nothing; Apply spells out the change and asks first', async () => {
    const page = await open('en', VIEWPORTS[0]);
    try {
      await page.fill('#token', 'http-test-token');
      await page.dispatchEvent('#token', 'change');
      await page.waitForSelector('body.authed');
      const values = await page.$$eval('#quota-fields input', (els) => els.map((e) => `${(e as HTMLInputElement).name}=${(e as HTMLInputElement).value}`));
      expect(values).toEqual(ORDER.map((p) => `${p}=2`));
      const posts: string[] = [];
      page.on('request', (r) => r.method() === 'POST' && posts.push(new URL(r.url()).pathname));
      await page.click('#preview');
      expect(await page.textContent('#preview-result')).toMatch(/^no change: this is the plan in force/);
      await page.click('#apply');
      expect(await page.textContent('#preview-result')).toBe('no change: this is the plan in force');
      expect(posts).toEqual([]);
      // The API agrees: a preview of the configured values is the plan in force.
      const before = await (await fetch(`${http}/api/plan`)).json();
      const same = await (await fetch(`${http}/api/plan/preview`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ quota: Object.fromEntries(ORDER.map((p) => [p, 2])) }) })).json();
      expect(same.plan_id).toBe(before.plan_id);
      expect(same.totals).toEqual(before.totals);
      // A change: Apply shows it and waits; Cancel restores the form; Confirm applies it.
      await page.fill('#quota-fields input[name="mixing"]', '3');
      await page.click('#apply');
      expect(await page.textContent('#preview-result')).toBe('This will apply: mixing 2 → 3 per day. Confirm Cancel');
      expect(posts).toEqual([]);
      await page.click('#apply-cancel');
      expect(await page.inputValue('#quota-fields input[name="mixing"]')).toBe('2');
      await page.fill('#quota-fields input[name="mixing"]', '3');
      await page.click('#apply');
      await page.click('#apply-confirm');
      await page.waitForFunction(() => /✓/.test(document.getElementById('preview-result')?.textContent ?? ''), undefined, SLOW);
      expect(posts).toEqual(['/api/plan/apply']);
      const lines = await (await fetch(`${http}/api/lines`)).json();
      expect(lines.find((l: { process: string }) => l.process === 'mixing').batches_per_day).toBe(3);
      await page.waitForFunction(() => (document.querySelector('#quota-fields input[name="mixing"]') as HTMLInputElement | null)?.dataset.configured === '3', undefined, SLOW);
    } finally {
      await page.close();
    }
  });

  it('wrote a screenshot per viewport and language in this run', () => {
    for (const vp of VIEWPORTS) for (const lang of ['es', 'en']) expect(statSync(join(OUT, `plan-${vp.name}-${lang}.png`)).size).toBeGreaterThan(10_000);
  });
});
