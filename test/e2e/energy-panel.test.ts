import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import modbusSerial from 'modbus-serial';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { SHIPPED_PROFILES } from '../../gateway/meters/profile.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { serveMeterProfile, type MeterServer } from '../../plugins/replay/simulated-meter.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

const { ServerTCP } = modbusSerial as unknown as { ServerTCP: typeof import('modbus-serial').ServerTCP };
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SLOW = { timeout: 60_000 };
const OUT = mkdtempSync(join(tmpdir(), 'choco-energy-panel-'));
const NOW = '2018-03-20T10:00:00Z'; // a Tuesday in March: P2 from 09:00 local on 6.1TD

/** A real Modbus TCP server holding one coil: the cold room's enable (true = on). */
async function coilServer(state: { on: boolean }) {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const server = new ServerTCP({ getCoil: () => state.on, setCoil: (_a: number, v: boolean) => void (state.on = v) } as never, { host: '127.0.0.1', port, unitID: 1 });
  await new Promise<void>((r) => server.on('initialized', () => r()));
  return { port, stop: () => new Promise<void>((r) => { for (const s of server.socks.keys()) s.destroy(); server.close(() => r()); }) };
}

// Needs Debian's chromium; skipped without it.
describe.skipIf(!CHROMIUM)('contract panel on the status page (real gateway, real Modbus meter and coil, headless Chromium)', { timeout: 180_000 }, () => {
  let gw: Gateway;
  let browser: Browser;
  let meter: MeterServer;
  let coil: Awaited<ReturnType<typeof coilServer>>;
  const coldRoom = { on: true };

  beforeAll(async () => {
    let counter = 5000;
    meter = await serveMeterProfile(SHIPPED_PROFILES['eastron-sdm630']!, () => ({ kw: 140, importKwh: (counter += 0.01) }));
    coil = await coilServer(coldRoom);
    const config = testConfig('http://127.0.0.1:9', {
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true, file: 'plugins/replay/sample/omie_es_2018-03.csv' } },
      energy: {
        contract: { tariff: '6.1TD', contractedKw: [120, 120, 120, 120, 120, 150], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002], energy: { indexed: { marginEurMwh: 6 } } },
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: meter.port, pollMs: 200 }],
        siteLoad: { profile: { workday: 90, saturday: 70, sunday: 60 } },
        powerGuard: { enabled: true, marginKw: 5, checkEverySeconds: 1, interruptible: [{ name: 'cold-room', kw: 25, host: '127.0.0.1', port: coil.port, coil: 0, maxOffMinutes: 10, minOnMinutes: 0 }] },
      },
    });
    ({ gw } = await startGateway(config, NOW));
    // Two months of site quarter-hours for the advice: 100 kW, 160 kW at 10:00 on weekdays.
    const rows: MeterQuarterHour[] = [];
    for (let t = Date.parse('2018-01-01T00:00:00+01:00'); t < Date.parse('2018-03-01T00:00:00+01:00'); t += 900_000) {
      const kw = new Date(t).getUTCHours() === 9 && new Date(t).getUTCDay() % 6 !== 0 ? 160 : 100;
      rows.push({ meter: 'site', role: 'site', start: t, end: t + 900_000, kwh: kw / 4, avgKw: kw, period: null, quality: 'measured' });
    }
    await writeMeterQuarterHours(gw.store, rows);
    await gw.scheduler.trigger('planning');
    // The meter reads 140 kW against 120 − 5 kW in P2: the guard switches the cold room off through its coil.
    await vi.waitFor(() => expect(coldRoom.on).toBe(false), SLOW);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await meter?.stop();
    await coil?.stop();
  });

  for (const lang of ['es', 'en'] as const) {
    it(`shows the guard's projection, limit and what it switched off and why, the base load and the advice (${lang})`, async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
      const csp: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
      });
      await page.goto(`${gw.http!.url}/?lang=${lang}`);
      await page.waitForSelector('#energy-panel:not([hidden])', SLOW);
      await page.waitForFunction(() => (document.getElementById('energy-cards')?.textContent ?? '').includes('/'), undefined, SLOW);
      const cards = await page.textContent('#energy-cards');
      expect(cards).toMatch(lang === 'es' ? /Maxímetro/ : /Quarter-hour guard/);
      expect(cards).toMatch(/P2: 115 kW/);
      expect(cards).toMatch(lang === 'es' ? /perfil configurado/ : /configured profile/);
      expect(cards).toMatch(lang === 'es' ? /Potencia aconsejada/ : /Advised contracted power/);
      // Two months of readings, P3-P5 without any: the advice shows the API's warnings and is never green
      // (tester5 fault 7: "0 / 178 / … kW", green, without a word).
      const advice = page.locator('#energy-cards .card', { hasText: lang === 'es' ? 'Potencia aconsejada' : 'Advised contracted power' });
      expect(await advice.textContent()).toMatch(lang === 'es' ? /Atención, no cambie el contrato sin leer estos avisos:/ : /Caution, do not change the contract before reading these warnings:/);
      expect(await advice.textContent()).toMatch(/the readings cover 59 days \(2 months\), less than a full year/);
      expect(await advice.textContent()).toMatch(/P3, P4, P5 have no quarter-hours in the readings: they keep their current contracted power/);
      expect(await advice.getAttribute('class')).toMatch(/yellow/);
      expect(await advice.locator('.value').textContent()).not.toMatch(/^0 /);
      expect(await page.textContent('#energy-detail')).toMatch(/cold-room .*off until/);
      expect(await page.textContent('#energy-detail')).toMatch(/projected 14[01]\.\d kW over 120 kW contracted − 5 kW margin/);
      expect(csp).toEqual([]);
      const file = join(OUT, `energy-panel-${lang}.png`);
      await page.locator('#energy-panel').screenshot({ path: file });
      expect(statSync(file).size).toBeGreaterThan(5_000);
      await page.close();
    });
  }
});
