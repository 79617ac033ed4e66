import { join } from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { advisePower } from '../../gateway/contract/advise-power.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { registerEnergyRoutes } from '../../gateway/http/energy-routes.js';
import type { HttpContext } from '../../gateway/http/context.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { testConfig } from '../helpers/context.js';

const QH = 900_000;
const contractCfg = { tariff: '6.1TD', contractedKw: [300, 300, 300, 300, 300, 300], powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4], tollsAndChargesEurKwh: [0, 0, 0, 0, 0, 0], energy: { indexed: { marginEurMwh: 0 } } };
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A real Fastify app with the energy routes over a real LevelDB store; the rest of the HTTP context is not used by them. */
async function app(energy: Record<string, unknown>) {
  const config = testConfig('http://127.0.0.1:9', { energy });
  const store = await SeriesStore.open(join(config.dataDir, 'store'));
  const clock = new FakeClock('2025-03-10T10:00:00Z');
  const health: Record<string, unknown> = {};
  const fastify = Fastify();
  registerEnergyRoutes(fastify, { config, store, clock, pluginHealth: () => health } as unknown as HttpContext);
  close = async () => {
    await fastify.close();
    await store.close();
  };
  return { fastify, store, config, health };
}

describe('GET /api/energy/advice', () => {
  it('advises on the stored site-meter quarter-hours, as the CLI does on the same quarter-hours', async () => {
    const { fastify, store } = await app({ contract: contractCfg, meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: 1502 }] });
    const from = localDayRange('2025-01-01').start;
    const to = localDayRange('2025-03-10').start;
    const rows: MeterQuarterHour[] = [];
    for (let t = from, i = 0; t < to; t += QH, i++) {
      const kw = 150 + ((i * 37) % 97) + (i % 500 === 0 ? 250 : 0);
      const missing = i % 1000 === 999;
      rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh: missing ? null : kw / 4, avgKw: missing ? null : kw, period: null, quality: missing ? 'missing' : 'measured' });
    }
    await writeMeterQuarterHours(store, rows);
    const res = await fastify.inject({ method: 'GET', url: '/api/energy/advice?months=12' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const expected = advisePower(resolveContract(contractCfg as never), rows.filter((r) => r.kwh !== null).map((r) => ({ start: r.start, kwh: r.kwh! })));
    expect(body.advised_kw).toEqual(expected.advisedKw);
    expect(body.current.total_eur).toBeCloseTo(expected.current.totalEur, 2);
    expect(body.quarter_hours.missing).toBeGreaterThan(0);
    expect(body.note).toMatch(/left out/);
    // 68 days of readings: the API says the advice is on less than a year, and counts each period's quarter-hours.
    expect(body.warnings[0]).toMatch(/^the readings cover 68 days \(3 months\), less than a full year/);
    expect(body.period_quarter_hours).toHaveLength(6);
    expect(body.period_quarter_hours.reduce((a: number, b: number) => a + b, 0)).toBe(body.quarter_hours.used);
  });

  it('refuses a grid step that would never end (a tester froze the whole gateway with stepKw=1e-300), on the API and in advisePower itself', async () => {
    const { fastify, store } = await app({ contract: contractCfg, meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: 1502 }] });
    const from = localDayRange('2025-03-01').start;
    const rows: MeterQuarterHour[] = Array.from({ length: 96 * 7 }, (_, i) => ({ meter: 'site', role: 'site', start: from + i * QH, end: from + (i + 1) * QH, kwh: (200 + (i % 50)) / 4, avgKw: 200 + (i % 50), period: null, quality: 'measured' }));
    await writeMeterQuarterHours(store, rows);
    for (const step of ['1e-300', '0.0000001', '5e-324']) {
      const res = await fastify.inject({ method: 'GET', url: `/api/energy/advice?stepKw=${step}` });
      expect(res.statusCode, `${step}: ${res.body}`).toBe(400);
      expect(res.json().message).toMatch(/stepKw/);
    }
    // The finest step the API takes still answers (1 W on a 250 kW peak: 250,000 grid points, a ternary search).
    const fine = await fastify.inject({ method: 'GET', url: '/api/energy/advice?stepKw=0.001' });
    expect(fine.statusCode, fine.body).toBe(200);
    expect(fine.json().advised_kw.every((kw: number) => Math.abs(kw * 1000 - Math.round(kw * 1000)) < 1e-6)).toBe(true);
    // The function itself (the CLI's path, --step-kw) refuses too, in one sentence, instead of searching forever.
    const quarterHours = rows.map((r) => ({ start: r.start, kwh: r.kwh! }));
    const contract = resolveContract(contractCfg as never);
    expect(() => advisePower(contract, quarterHours, { stepKw: 1e-300 })).toThrow(/must be between 0.001 kW \(1 W, the resolution a contract is written in\) and 100 kW, got 1e-300/);
    expect(() => advisePower(contract, quarterHours, { stepKw: 0.001, minKw: -1e12 })).toThrow(/is more than 100000000 grid points: use a coarser step/);
  });

  it('says in one sentence what it misses', async () => {
    const { fastify } = await app({});
    const res = await fastify.inject({ method: 'GET', url: '/api/energy/advice' });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toMatch(/no energy.contract/);
    expect((await fastify.inject({ method: 'GET', url: '/api/energy/guard' })).statusCode).toBe(404);
  });
});
