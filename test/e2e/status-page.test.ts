import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../../gateway/clock.js';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const NOW = '2018-04-02T10:00:00Z';
const H = 3_600_000;

// Needs Debian's chromium (.ci/run installs it); `npm test` alone skips this file.
describe.skipIf(!CHROMIUM)('status page in headless Chromium', () => {
  let gw: Gateway;
  let clock: FakeClock;
  let browser: Browser;
  let page: Page;
  let http: string;
  const transferred: number[] = [];
  let firstRenderMs = 0;

  beforeAll(async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true, file: 'plugins/replay/sample/omie_es_2018-03.csv' } }, ui: { language: 'en' } });
    ({ gw, clock } = await startGateway(config, NOW));
    http = gw.http!.url;
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), { timeout: 10_000 });
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('predictions');
    await gw.scheduler.trigger('planning');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    page.on('response', async (r) => {
      const size = Number(r.headers()['content-length'] ?? (await r.body().catch(() => Buffer.alloc(0))).length);
      transferred.push(size);
    });
    const started = Date.now();
    await page.goto(http);
    await page.waitForSelector('body[data-loaded]', { timeout: 15_000 });
    firstRenderMs = Date.now() - started;
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  it('shows the current price with its colour and the recommendation, from no CDN', async () => {
    const status = await (await fetch(`${http}/api/status`)).json();
    const price = await page.textContent('#card-price .value');
    expect(price).toContain(status.price.total_eur_kwh.toFixed(4));
    const cls = await page.getAttribute('#card-price', 'class');
    const t = status.price.total_eur_kwh;
    expect(cls).toContain(t < 0.15 ? 'green' : t < 0.25 ? 'yellow' : 'red');
    expect(await page.textContent('#card-rec .value')).toBe(status.recommendation.recommendation);
    expect(await page.textContent('#card-period .value')).toBe(status.price.period);
    expect(await page.locator('#chart-prices canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('.tl-run').count()).toBe(status.plan.runs.length);
    const external = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => !n.startsWith(location.origin)));
    expect(external).toEqual([]);
    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/status-page.png', fullPage: true });
    console.log(`status page: ${(transferred.reduce((a, b) => a + b, 0) / 1024).toFixed(1)} KB transferred in ${transferred.length} responses, first render in ${firstRenderMs} ms`);
  });

  it('switches language', async () => {
    await page.selectOption('#lang', 'es');
    expect(await page.textContent('#card-price .label')).toBe('Precio ahora');
    await page.selectOption('#lang', 'en');
    expect(await page.textContent('#card-price .label')).toBe('Price now');
  });

  it('updates live when a new price arrives, without reloading', async () => {
    const hour = Math.floor(clock.now() / H) * H;
    const before = await page.evaluate(() => document.body.dataset.loaded);
    await gw.store.write('omie_es', 'EUR/MWh', [{ start: hour, end: hour + H, value: 321.5 }], { source: 'replay', fetchedAt: clock.now() });
    gw.bus.emit('series.updated', { series: 'omie_es', source: 'replay', from: hour, to: hour + H, count: 1, fetchedAt: clock.now() });
    await page.waitForFunction((b) => document.body.dataset.loaded !== b, before, { timeout: 5000 });
    expect(await page.textContent('#card-price .value')).toContain((0.3215 + (await (await fetch(`${http}/api/status`)).json()).price.adder_eur_kwh).toFixed(4));
    expect(await page.getAttribute('#card-price', 'class')).toContain('red');
  });

  it('lets an authenticated user run a job and refuses the anonymous one', async () => {
    expect(await page.locator('button[data-job="health"][data-action="trigger"]').isVisible()).toBe(false);
    const anonymous = await page.evaluate(async () => (await fetch('/scheduler/jobs/health/trigger', { method: 'POST' })).status);
    expect(anonymous).toBe(401);
    const runs = gw.scheduler.status().find((j) => j.id === 'health')!.runs;
    await page.fill('#token', 'http-test-token');
    await page.dispatchEvent('#token', 'change');
    await page.waitForSelector('body.authed');
    const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/scheduler/jobs/health/trigger'));
    await page.click('button[data-job="health"][data-action="trigger"]');
    expect((await (await posted).response())!.status()).toBe(200);
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'health')!.runs).toBe(runs + 1), { timeout: 5000 });
    await page.click('#preview');
    await page.waitForFunction(() => /€/.test(document.getElementById('preview-result')?.textContent ?? ''), undefined, { timeout: 10_000 });
  });

  it('marks a source stale when its data stops arriving', async () => {
    await clock.advanceTo(Date.parse('2018-04-08T12:00:00Z'));
    const before = await page.evaluate(() => document.body.dataset.loaded);
    gw.bus.emit('job.finished', { job: 'health', ok: true, durationMs: 0 });
    await page.waitForFunction((b) => document.body.dataset.loaded !== b, before, { timeout: 10_000 });
    await page.waitForSelector('#card-price.stale', { timeout: 10_000 });
    expect(await page.textContent('#card-price .meta')).toContain('STALE');
    expect(await page.textContent('#card-outdoor .meta')).toContain('STALE');
    await page.screenshot({ path: 'test-output/status-page-stale.png', fullPage: true });
  });

  it('leaves screenshots under test-output (docs/status-page.png in the README is one of them)', () => {
    expect(existsSync('test-output/status-page.png')).toBe(true);
    expect(existsSync('test-output/status-page-stale.png')).toBe(true);
  });
});
