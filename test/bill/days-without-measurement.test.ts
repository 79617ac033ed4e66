/**
 * A day the site meter never saw has no bill. Found on a fresh install (`start` at 08:04, a real SDM630 profile
 * served over Modbus TCP): `GET /api/bill/days?from=2026-12-05&to=2026-12-07` listed 2026-12-05, the day before the
 * gateway existed, at 29.10 € (power 22.88 €, tax, VAT on 0 kWh), and a year's range listed a year of such days
 * (the CSV an accountant would sum). The month already answers 404 for this (README "What is measured and what is
 * not"); the days now leave such a day out. Real gateway: HTTP server, aedes, LevelDB in a temp dir.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';

const QH = 900_000;

describe('daily bills: only days the site meter measured', () => {
  const server = new FixtureServer();
  let gw: Gateway;

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    const config = testConfig(server.base, {
      sources: { esios: { enabled: false } },
      energy: {
        contract: {
          tariff: '6.1TD',
          contractedKw: [100, 100, 100, 100, 100, 200],
          powerPriceEurKwYear: [30, 25, 15, 10, 5, 2],
          tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002],
          energy: { fixed: [0.2, 0.18, 0.15, 0.13, 0.11, 0.09] },
        },
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: await freePort() }],
      },
    });
    ({ gw } = await startGateway(config, '2025-10-26T12:30:00Z'));
    // Measured: the last four hours of 2025-10-24 and the 25-hour day 2025-10-26 so far; 2025-10-25 nothing.
    const rows: MeterQuarterHour[] = [];
    const q = (t: number): MeterQuarterHour => ({ meter: 'site', role: 'site', start: t, end: t + QH, kwh: 10, avgKw: 40, period: periodOf('6.1TD', t), quality: 'measured' });
    for (let t = localDayRange('2025-10-25').start - 16 * QH; t < localDayRange('2025-10-25').start; t += QH) rows.push(q(t));
    for (let t = localDayRange('2025-10-26').start; t < Date.parse('2025-10-26T12:30:00Z'); t += QH) rows.push(q(t));
    await writeMeterQuarterHours(gw.store, rows);
  }, 90_000);
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('leaves out the days without a measured quarter-hour, in JSON and CSV', async () => {
    const days = (await (await fetch(`${gw.http!.url}/api/bill/days?from=2025-10-01&to=2025-10-28`)).json()) as Array<{ from_local: string; terms: { energy_kwh: number; power_eur: number }; coverage: { measured: number } }>;
    expect(days.map((d) => d.from_local)).toEqual(['2025-10-24', '2025-10-26']);
    expect(days.map((d) => d.coverage.measured)).toEqual([16, 58]);
    for (const d of days) expect(d.terms.energy_kwh).toBeGreaterThan(0);
    const csv = await (await fetch(`${gw.http!.url}/api/bill/days.csv?from=2025-10-01&to=2025-10-28`)).text();
    expect(csv.trim().split('\n').slice(1).map((l) => l.split(',')[2])).toEqual(['2025-10-24', '2025-10-26']);
    // a range with no measured day at all is an empty list, never a bill on 0 kWh
    expect(await (await fetch(`${gw.http!.url}/api/bill/days?from=2025-01-01&to=2025-02-01`)).json()).toEqual([]);
  });
});
