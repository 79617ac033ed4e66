/**
 * Every month or date in a bill route's path or query is checked to exist and to lie in the supported range, with a
 * one-sentence 400 (tester5 fault 8: /api/bill/month/9999-12 and /0000-01 answered 500 "expected a date as
 * YYYY-MM-DD, got \"10000-01-01\""). Real bill plugin on LevelDB in a temp dir, the FakeClock, the bill's Fastify
 * routes.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBillRoutes } from '../../gateway/http/bill-routes.js';
import type { HttpContext } from '../../gateway/http/context.js';
import { checkDateParam, parseTimeParam } from '../../gateway/http/time-params.js';
import { createBill, type BillPlugin } from '../../plugins/bill/index.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
let plugin: BillPlugin;
const app = Fastify();

beforeAll(async () => {
  const config = testConfig('http://127.0.0.1:9', {
    energy: {
      contract: { tariff: '6.1TD', contractedKw: [100, 100, 100, 100, 100, 100], powerPriceEurKwYear: [30, 25, 15, 10, 5, 2], tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002], energy: { fixed: [0.2, 0.18, 0.15, 0.13, 0.11, 0.09] } },
      meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1' }],
    },
  });
  ctx = await pluginContext(config, '2026-01-08T10:00:00Z');
  plugin = createBill(ctx);
  await plugin.start();
  await plugin.refresh();
  registerBillRoutes(app, { config, clock: ctx.clock, store: ctx.store, bill: () => plugin } as unknown as HttpContext);
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await plugin.stop();
  await ctx.close();
});

describe('bill routes: months and dates outside the supported range', () => {
  it('answer 400 with one sentence, never 500', async () => {
    for (const [url, message] of [
      ['/api/bill/month/9999-12', 'month: 9999-12 is outside the supported months 1970-01 to 2199-12'],
      ['/api/bill/month/0000-01', 'month: 0000-01 is outside the supported months 1970-01 to 2199-12'],
      ['/api/bill/month/9999-12/report', 'month: 9999-12 is outside the supported months 1970-01 to 2199-12'],
      ['/api/bill/days?from=9999-12-30&to=9999-12-31', 'from: 9999-12-30 is outside the supported dates 1970-01-01 to 2199-12-31'],
      ['/api/bill/days.csv?from=2026-01-01&to=9999-12-31', 'to: 9999-12-31 is outside the supported dates 1970-01-01 to 2199-12-31'],
      ['/api/bill/days?from=2026-02-30&to=2026-03-01', 'from: no such date: 2026-02-30'],
      ['/api/savings?from=0000-01-01', 'from: 0000-01-01 is outside the supported dates 1970-01-01 to 2199-12-31'],
      ['/api/savings/days.csv?from=0001-01-01&to=0001-01-02', 'from: 0001-01-01 is outside the supported dates 1970-01-01 to 2199-12-31'],
      ['/api/savings/day/9999-12-31', 'date: 9999-12-31 is outside the supported dates 1970-01-01 to 2199-12-31'],
      ['/api/savings/day/2026-13-01', 'date: no such date: 2026-13-01'],
    ] as const) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message, url).toBe(message);
    }
    // the edges of the range are served (404: no bill, not an error)
    expect((await app.inject('/api/bill/month/2199-12')).statusCode).toBe(404);
    expect((await app.inject('/api/bill/month/1970-01')).statusCode).toBe(404);
  });

  it('checkDateParam accepts real dates and months in range', () => {
    expect(checkDateParam('from', '2024-02-29')).toBe('2024-02-29');
    expect(checkDateParam('month', '2026-01')).toBe('2026-01');
    expect(() => checkDateParam('from', '2025-02-29')).toThrow('from: no such date: 2025-02-29');
    expect(() => checkDateParam('month', '26-01')).toThrow('month: expected a month as YYYY-MM, got "26-01"');
  });
});

describe('the store routes\' from/to (parseTimeParam, GET /api/prices and /api/export): the same range', () => {
  it('a local date or a timestamp outside it is a one-sentence 400 (a default `to` after 9999-12-30 was a 500)', () => {
    const refused = (text: string) => {
      try {
        parseTimeParam('from', text, 'Europe/Madrid');
      } catch (error) {
        expect((error as { statusCode?: number }).statusCode).toBe(400);
        return (error as Error).message;
      }
      throw new Error(`accepted ${text}`);
    };
    expect(refused('9999-12-30')).toBe('from: 9999-12-30 is outside the supported dates 1970-01-01 to 2199-12-31');
    expect(refused('0000-01-01')).toBe('from: 0000-01-01 is outside the supported dates 1970-01-01 to 2199-12-31');
    expect(refused('9999-12-30T00:00:00Z')).toBe('from: 9999-12-30T00:00:00Z is outside the supported dates 1970-01-01 to 2199-12-31');
    expect(parseTimeParam('from', '2025-10-26', 'Europe/Madrid')).toBe(Date.parse('2025-10-25T22:00:00Z'));
    expect(parseTimeParam('from', '2025-10-26T00:00:00+02:00', 'Europe/Madrid')).toBe(Date.parse('2025-10-25T22:00:00Z'));
  });
});
