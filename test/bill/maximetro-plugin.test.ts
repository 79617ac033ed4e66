/**
 * The maxímetro through the bill plugin on real parts: LevelDB in a temp dir holding the site meter's quarter-hour
 * records, the plugin reading them, and the bill routes on a real HTTP server (Fastify listening on a free port,
 * fetched over TCP). The tester's supply (notes/breaker3.md "Maxímetro"): 3.0TD, 40 kW in every period, 32 kW all
 * January 2026 but one quarter-hour of 46 kW. On main the month's excess is 8.44 € (the quarter-hour formula) and
 * the payload has no excess_metering / max_at: this file fails there.
 */
import { existsSync, readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createBill, type BillPlugin } from '../../plugins/bill/index.js';
import { registerBillRoutes } from '../../gateway/http/bill-routes.js';
import type { HttpContext } from '../../gateway/http/context.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

const QH = 900_000;
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const TEP = 1.4064;
const at = (iso: string) => Date.parse(iso);

let ctx: TestContext | undefined;
let plugin: BillPlugin | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await plugin?.stop();
  await ctx?.close();
  app = plugin = ctx = undefined;
});

async function setup(now: string) {
  const config = testConfig('http://127.0.0.1:9', {
    energy: {
      contract: {
        tariff: '3.0TD',
        contractedKw: [40, 40, 40, 40, 40, 40],
        powerPriceEurKwYear: [19.4, 10.2, 4.3, 3.7, 2.4, 1.4],
        tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0],
        energy: { fixed: [0.14, 0.12, 0.1, 0.09, 0.08, 0.07] },
      },
      meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }],
    },
  });
  ctx = await pluginContext(config, now);
  // 8 kWh (32 kW) every quarter-hour from 1 January to 3 February local; 46 kW on 7 January 10:00 local (P1),
  // 48 kW on Monday 2 February 10:00 local (P1).
  const spikes = new Map([[at('2026-01-07T09:00:00Z'), 11.5], [at('2026-02-02T09:00:00Z'), 12]]);
  const rows: MeterQuarterHour[] = [];
  for (let t = at('2025-12-31T23:00:00Z'); t < at('2026-02-03T10:00:00Z'); t += QH) {
    const kwh = spikes.get(t) ?? 8;
    rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh, avgKw: 4 * kwh, period: periodOf('3.0TD', t), quality: 'measured' });
  }
  await writeMeterQuarterHours(ctx.store, rows);
  plugin = createBill(ctx);
  await plugin.start();
  await plugin.refresh();
  app = Fastify();
  registerBillRoutes(app, { config, clock: ctx.clock, store: ctx.store, bill: () => plugin } as unknown as HttpContext);
  // The status page's bill panel script as the gateway serves it, in a page holding only the panel.
  app.get('/ui/bill.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(readFileSync('gateway/http/status-page/bill.js', 'utf8')));
  app.get('/panel', (_req, reply) => reply.type('text/html; charset=utf-8').send('<!doctype html><html lang="en"><body><section id="bill-panel" hidden><h2 id="bill-title"></h2><div id="bill-cards"></div><div id="bill-detail"></div></section><script src="/ui/bill.js"></script></body></html>'));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const get = async (path: string) => {
    const r = await fetch(base + path);
    expect(r.status).toBe(200);
    return r;
  };
  return { ctx, plugin, get, base };
}

describe('bill plugin: a maxímetro supply', () => {
  it('January: 17.44 € by the maxímetro, explained per period, on the API and the page; the closed month never changes', async () => {
    const { ctx: c, get } = await setup('2026-02-03T10:00:00Z');
    const jan = await (await get('/api/bill/month/2026-01')).json();
    expect(jan.excess_metering).toBe('maximetro');
    expect(jan.excess_days).toBe(31);
    expect(jan.excess_tep_eur_kw).toBe(TEP);
    expect(jan.terms.excess_eur).toBe(17.44); // 2 × (46 − 40) × 1.4064 × 31 / 30 = 17.43936
    expect(jan.periods[0]).toMatchObject({ period: 1, contracted_kw: 40, max_kw: 46, max_at: '2026-01-07T09:00:00Z', max_at_local: '2026-01-07T10:00:00+01:00', excess_eur: 17.44, quarter_hours_above: 1 });
    expect(jan.periods.slice(1).map((p: { excess_eur: number }) => p.excess_eur)).toEqual([0, 0, 0, 0, 0]);
    expect(jan.periods.slice(1).map((p: { max_kw: number }) => p.max_kw)).toEqual([32, null, null, null, 32]); // January (alta) has only P1, P2 and P6
    const page = await (await get('/api/bill/month/2026-01/report?lang=en')).text();
    expect(page).toContain('Excess power by maxímetro: per period 2 × (Pmax − Pc) × 1.4064 €/kW × 31 days / 30');
    expect(page).toContain('<td>46.0</td><td>2026-01-07 10:00</td><td>17.44</td>');
    // Days carry no excess (the term is monthly) and say so.
    const days = await (await get('/api/bill/days?from=2026-01-07&to=2026-01-08')).json();
    expect(days[0]).toMatchObject({ excess_metering: null, excess_billing: 'monthly', terms: { excess_eur: null } });
    // February to date (2 days + 11 h): Pmax 48 kW so far → × (2 + 11/24) / 30; projected to the month × 28 / 30.
    const feb = (await (await get('/api/bill')).json()).month;
    expect(feb.excess_metering).toBe('maximetro');
    expect(feb.terms.excess_eur).toBe(Math.round(((2 * 8 * TEP * (2 + 11 / 24)) / 30) * 100) / 100); // 1.84
    expect(feb.projected.excess_eur).toBe(21); // 2 × 8 × 1.4064 × 28 / 30 = 21.0048
    // Weeks later the closed month is the same, to the cent.
    await c.clock.advanceTo(at('2026-03-10T12:00:00Z'));
    const again = await (await get('/api/bill/month/2026-01')).json();
    expect(again.terms).toEqual(jan.terms);
    expect(again.periods).toEqual(jan.periods);
  });

  it.skipIf(!CHROMIUM)('the status page bill panel (headless Chromium) shows the maxímetro: Pmax and when per period, and the rule', { timeout: 120_000 }, async () => {
    const { base } = await setup('2026-02-03T10:00:00Z');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/panel`);
      await page.waitForSelector('#bill-detail table', { timeout: 60_000 });
      const text = (await page.textContent('#bill-detail'))!;
      expect(text).toContain('Excess power (Pmax)');
      expect(text).toContain('(Pmax 48.0 kW 02-02 10:00)'); // February to date, P1: 48 kW on 2 February 10:00 local
      expect(text).toContain('excess by maxímetro: 2 × (Pmax − Pc) × tep × days / 30');
    } finally {
      await browser.close();
    }
  });
});
