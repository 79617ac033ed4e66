import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../../gateway/time/clock.js';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const NOW = '2018-04-02T10:00:00Z';
const H = 3_600_000;
const SLOW = { timeout: 60_000 };
/** This run's screenshots: a fresh directory, so that no assertion can pass on a file an earlier run left. */
const OUT = mkdtempSync(join(tmpdir(), 'choco-status-page-'));
const RUN_STARTED = Date.now();

type Dictionaries = { TEXT: Record<string, Record<string, string>>; VALUES: Record<string, Record<string, Record<string, string>>>; CODES: Record<string, Record<string, string>> };

/** Every string of one language's dictionaries that the other language spells differently. */
function wordsOnlyIn(d: Dictionaries, lang: 'es' | 'en'): string[] {
  const other = lang === 'es' ? 'en' : 'es';
  const pairs = [
    ...Object.keys(d.TEXT[lang]!).map((k) => [d.TEXT[lang]![k]!, d.TEXT[other]![k]!]),
    ...Object.values(d.VALUES).flatMap((kind) => Object.values(kind).map((x) => [x[lang]!, x[other]!])),
    ...Object.values(d.CODES).map((x) => [x[lang]!, x[other]!]),
  ];
  return [...new Set(pairs.filter(([a, b]) => a !== b && a!.length >= 3).map(([a]) => a!))];
}

/** Visible text of the page without identifiers (marked translate="no"), plus the chart axis labels drawn on canvas. */
async function visibleText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const clone = document.body.cloneNode(true) as HTMLElement;
    for (const el of clone.querySelectorAll('[translate="no"], script, [hidden], details:not([open]) > :not(summary), .auth-only')) el.remove();
    const axes = Object.values((window as unknown as { chocoCharts: Record<string, { axes: Array<{ _values?: string[] }> }> }).chocoCharts).flatMap((u) => u.axes.flatMap((a) => a._values ?? []));
    // Text node by text node: a detached clone has no layout, and its textContent would glue "Reducido" to "urgencia".
    const walker = document.createTreeWalker(clone, NodeFilter.SHOW_TEXT);
    const parts: string[] = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) parts.push(n.textContent ?? '');
    for (const el of clone.querySelectorAll('[placeholder], [aria-label]')) parts.push(el.getAttribute('placeholder') ?? '', el.getAttribute('aria-label') ?? '');
    return `${parts.join('\n')}\n${axes.join('\n')}`;
  });
}

// Needs Debian's chromium (.ci/run installs it); `npm test` alone skips this file.
// Generous budgets: a busy two-core machine renders slowly; nothing here measures speed.
describe.skipIf(!CHROMIUM)('status page in headless Chromium', { timeout: 180_000 }, () => {
  let gw: Gateway;
  let clock: FakeClock;
  let browser: Browser;
  let page: Page;
  let http: string;
  const transferred: number[] = [];
  const cspViolations: string[] = [];
  let firstRenderMs = 0;

  beforeAll(async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true, file: 'plugins/replay/sample/omie_es_2018-03.csv' } }, ui: { language: 'en' } });
    ({ gw, clock } = await startGateway(config, NOW));
    http = gw.http!.url;
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), SLOW);
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('predictions');
    await gw.scheduler.trigger('planning');
    // A recalibration result (on this short sample: skipped for too little history) so its line is on the page too.
    await gw.scheduler.trigger('recalibration');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    page.on('response', async (r) => {
      const size = Number(r.headers()['content-length'] ?? (await r.body().catch(() => Buffer.alloc(0))).length);
      transferred.push(size);
    });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    const started = Date.now();
    await page.goto(http);
    await page.waitForSelector('body[data-loaded]', SLOW);
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
    await page.screenshot({ path: join(OUT, 'status-page.png'), fullPage: true });
    console.log(`status page: ${(transferred.reduce((a, b) => a + b, 0) / 1024).toFixed(1)} KB transferred in ${transferred.length} responses, first render in ${firstRenderMs} ms`);
  });

  it('runs under its Content-Security-Policy (no framing, no inline code): chart and timeline drawn, nothing blocked', async () => {
    const res = await fetch(http);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.locator('#chart-prices canvas').count()).toBeGreaterThan(0);
    const left = await page.locator('.tl-run').first().evaluate((el) => (el as HTMLElement).style.left);
    expect(left).toMatch(/%$/);
    expect(cspViolations).toEqual([]);
  });

  it('switches language', async () => {
    await page.selectOption('#lang', 'es');
    expect(await page.textContent('#card-price .label')).toBe('Precio ahora');
    expect(new URL(page.url()).searchParams.get('lang')).toBe('es');
    await page.selectOption('#lang', 'en');
    expect(await page.textContent('#card-price .label')).toBe('Price now');
  });

  for (const lang of ['es', 'en'] as const) {
    it(`?lang=${lang} shows one language only: words, chart axes, dates and numbers`, async () => {
      const other = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
      try {
        await other.goto(`${http}/?lang=${lang}`);
        await other.waitForSelector('body[data-loaded]', SLOW);
        await other.waitForFunction(() => Object.keys((window as unknown as { chocoCharts: object }).chocoCharts).length === 3, undefined, SLOW);
        expect(await other.getAttribute('html', 'lang')).toBe(lang);
        const dictionaries = await other.evaluate(() => (window as unknown as { CHOCO_I18N: Dictionaries }).CHOCO_I18N);
        const text = await visibleText(other);
        const foreign = wordsOnlyIn(dictionaries, lang === 'es' ? 'en' : 'es').filter((w) => new RegExp(`(^|[^\\p{L}])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}])`, 'u').test(text));
        expect(foreign, text).toEqual([]);
        // Chart axes: 24-hour clock and day/month dates in both languages; no am/pm.
        const ticks = await other.evaluate(() => (window as unknown as { chocoCharts: Record<string, { axes: Array<{ _values?: string[] }> }> }).chocoCharts['chart-prices']!.axes[0]!._values ?? []);
        expect(ticks.length).toBeGreaterThan(0);
        for (const tick of ticks) expect(tick).toMatch(/^(\d{2}:\d{2}|\d{1,2}\/\d{1,2})$/);
        expect(text).not.toMatch(/\b\d{1,2}(am|pm)\b/i);
        // The price with four decimals: decimal comma in Spanish, point in English.
        const price = await other.textContent('#card-price .value');
        expect(price).toMatch(lang === 'es' ? /^\d+,\d{4} €\/kWh$/ : /^\d+\.\d{4} €\/kWh$/);
        // The clock: es-ES d/m/yyyy (2/4/2018), en-GB dd/mm/yyyy, both 24-hour.
        expect(await other.textContent('#clock')).toBe(lang === 'es' ? '2/4/2018, 12:00' : '02/04/2018, 12:00');
        expect(await other.textContent('#card-rec .meta')).toMatch(lang === 'es' ? /^urgencia: (baja|media|alta|crítica) ·/ : /^urgency: (low|medium|high|critical) ·/);
        // The recalibration line: status and reason in the page's language, the English summary folded as technical detail.
        const recalibration = (await other.textContent('#accuracy .recalibration > p'))!;
        expect(recalibration).toMatch(lang === 'es' ? /^Recalibración diaria: omitida · .* · poco historial de precios \(hacen falta \d+ días o más\)/ : /^Daily recalibration: skipped · .* · too little price history \(needs \d+ days or more\)/);
        expect(await other.getAttribute('#accuracy .recalibration details .log', 'lang')).toBe('en');
        expect(await other.textContent('#accuracy .recalibration details .log')).toMatch(/^recalibration skipped: cannot calibrate on prices up to 2018-0\d-\d\d: too little history/);
        await other.screenshot({ path: join(OUT, `status-page-${lang}.png`), fullPage: true });
      } finally {
        await other.close();
      }
    });
  }

  it('groups repeated alerts by kind and subject, bounds the list, and translates them', async () => {
    const at = clock.now();
    for (let i = 0; i < 12; i++) gw.bus.emit('alert', { code: 'PLC_WRITE_FAILED', level: 'critical', message: `line tempering: write failed (read-back of register 402 gave ${100 + i}, wrote ${101 + i}); retrying in 500 ms`, at: at + i * H + 1 });
    for (let i = 0; i < 8; i++) gw.bus.emit('alert', { code: 'STALE_INPUT', level: 'warning', message: `series_${i}: no data stored yet`, at: at + i });
    const status = await (await fetch(`${http}/api/status`)).json();
    const plc = status.alert_groups.find((g: { code: string }) => g.code === 'PLC_WRITE_FAILED');
    expect(plc).toMatchObject({ subject: 'line tempering', count: 12 });
    expect(Date.parse(plc.last) - Date.parse(plc.first)).toBe(11 * H);
    const p = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    try {
      await p.goto(`${http}/?lang=es`);
      await p.waitForSelector('body[data-loaded]', SLOW);
      expect(await p.locator('#alerts .alert-group').count()).toBe(5);
      const first = p.locator('#alerts .alert-group').first();
      expect(await first.textContent()).toContain('×12');
      expect(await first.textContent()).toContain('línea tempering: la escritura falló; reintento en 500 ms');
      expect(await first.textContent()).toMatch(/primera \d{1,2}\/\d{1,2}\/2018, \d{2}:\d{2} · última/);
      await p.click('#alerts-more');
      expect(await p.locator('#alerts .alert-group').count()).toBe(Math.min(15, status.alert_groups.length));
      expect(status.alert_groups.length).toBeGreaterThanOrEqual(9);
      expect(await p.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
      const icon = await fetch(`${http}/favicon.svg`);
      expect(icon.status).toBe(200);
      expect(icon.headers.get('content-type')).toContain('image/svg+xml');
      expect(await p.getAttribute('#live', 'data-state')).toBe('live');
      // A startup STALE_INPUT about an input that has data now: the health job resolves it, the page dims it.
      gw.bus.emit('alert', { code: 'STALE_INPUT', level: 'warning', message: 'omie_es: no data stored yet', at: clock.now() });
      await vi.waitFor(async () => expect((await (await fetch(`${http}/api/status`)).json()).alert_groups.some((g: { subject: string }) => g.subject === 'omie_es')).toBe(true), SLOW);
      await gw.scheduler.trigger('health');
      const after = await (await fetch(`${http}/api/status`)).json();
      const omie = after.alert_groups.find((g: { subject: string }) => g.subject === 'omie_es');
      expect(omie.resolved_at).toBe(after.now);
      expect(after.alert_groups.find((g: { subject: string }) => g.subject === 'series_0').resolved_at).toBeNull();
      await p.reload();
      await p.waitForSelector('body[data-loaded]', SLOW);
      await p.click('#alerts-more');
      const row = p.locator('#alerts .alert-group.resolved', { hasText: 'omie_es' });
      expect(await row.count()).toBe(1);
      expect(await p.locator('#alerts .alert-group.resolved', { hasText: 'series_0' }).count()).toBe(0);
      expect(await row.textContent()).toMatch(/resuelta \d{1,2}\/\d{1,2}\/2018, \d{2}:\d{2}/);
    } finally {
      await p.close();
    }
  });

  it('updates live when a new price arrives, without reloading', async () => {
    const hour = Math.floor(clock.now() / H) * H;
    const before = await page.evaluate(() => document.body.dataset.loaded);
    await gw.store.write('omie_es', 'EUR/MWh', [{ start: hour, end: hour + H, value: 321.5 }], { source: 'replay', fetchedAt: clock.now() });
    gw.bus.emit('series.updated', { series: 'omie_es', source: 'replay', from: hour, to: hour + H, count: 1, fetchedAt: clock.now() });
    await page.waitForFunction((b) => document.body.dataset.loaded !== b, before, SLOW);
    // A reload the SSE of an earlier event started may land first (a busy machine): wait for the one with the new price.
    const expected = (0.3215 + (await (await fetch(`${http}/api/status`)).json()).price.adder_eur_kwh).toFixed(4);
    await page.waitForFunction((x) => (document.querySelector('#card-price .value')?.textContent ?? '').includes(x), expected, SLOW);
    expect(await page.textContent('#card-price .value')).toContain(expected);
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
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'health')!.runs).toBe(runs + 1), SLOW);
    await page.click('#preview');
    await page.waitForFunction(() => /€/.test(document.getElementById('preview-result')?.textContent ?? ''), undefined, SLOW);
  });

  it('marks a source stale when its data stops arriving, and the live badge with it', async () => {
    // Six simulated days without data: the jobs are paused so that moving the clock costs no work at all.
    for (const job of gw.scheduler.status()) gw.scheduler.pause(job.id);
    await clock.advanceTo(Date.parse('2018-04-08T12:00:00Z'));
    const before = await page.evaluate(() => document.body.dataset.loaded);
    gw.bus.emit('job.finished', { job: 'health', ok: true, durationMs: 0 });
    await page.waitForFunction((b) => document.body.dataset.loaded !== b, before, SLOW);
    await page.waitForSelector('#card-price.stale', SLOW);
    expect(await page.textContent('#card-price .meta')).toContain('STALE');
    expect(await page.textContent('#card-outdoor .meta')).toContain('STALE');
    expect(await page.getAttribute('#live', 'data-state')).toBe('dataStale');
    expect(await page.textContent('#live')).toBe('data stale');
    expect(await page.textContent('#card-outdoor .meta')).not.toMatch(/-\d/);
    await page.screenshot({ path: join(OUT, 'status-page-stale.png'), fullPage: true });
  });

  it('wrote its screenshots in this run, and nothing was blocked by the Content-Security-Policy', () => {
    // After live updates over SSE, a job run with the token and the stale view: still nothing blocked by the policy.
    expect(cspViolations).toEqual([]);
    for (const name of ['status-page.png', 'status-page-es.png', 'status-page-en.png', 'status-page-stale.png']) {
      const st = statSync(join(OUT, name));
      expect(st.size, name).toBeGreaterThan(10_000);
      expect(st.mtimeMs, name).toBeGreaterThanOrEqual(RUN_STARTED - 1000);
    }
  });
});
