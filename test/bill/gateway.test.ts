/**
 * The bill in the running gateway: real embedded broker (aedes), real HTTP server, LevelDB, recorded OMIE answers.
 * The meter's quarter-hours are written as the meters plugin writes them and announced on the bus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { periodOf } from '../../gateway/contract/calendar.js';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber, type Collected } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';

const QH = 900_000;

describe('bill in the gateway (25-hour day, 2025-10-26)', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  let sub: Collected;

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
        // a meter nobody answers for (a closed port): the bill works from the stored quarter-hours
        meters: [{ name: 'site', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: await freePort() }],
      },
    });
    ({ gw } = await startGateway(config, '2025-10-26T12:30:00Z'));
    sub = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/#');
  }, 90_000);
  afterAll(async () => {
    await sub?.client.endAsync();
    await gw?.stop();
    await server.stop();
  });

  it('publishes bill/today retained and serves the same figures on /api/bill', async () => {
    // Sunday 26 October 2025 (25 hours): 00:00 local = 2025-10-25T22:00Z (CEST); 12:30Z is 13:30 CET: 13.5 clock
    // hours but 14.5 real ones (02:00-03:00 happened twice) → 58 quarter-hours closed
    const { start } = localDayRange('2025-10-26');
    const rows: MeterQuarterHour[] = [];
    for (let t = start; t < Date.parse('2025-10-26T12:30:00Z'); t += QH) rows.push({ meter: 'site', role: 'site', start: t, end: t + QH, kwh: 10, avgKw: 40, period: periodOf('6.1TD', t), quality: 'measured' });
    await writeMeterQuarterHours(gw.store, rows);
    gw.bus.emit('meter.quarterHour', rows.at(-1)!);
    // 58 × 10 kWh = 580 kWh, all P6 (Sunday) at 0.09 €/kWh = 52.20 €
    const today = await sub.waitFor('choco-edge/bill/today', (p) => p.terms.energy_kwh === 580);
    expect(today).toMatchObject({ kind: 'day', from_local: '2025-10-26', measured: 'measured', energy_pricing: 'fixed' });
    expect(today.coverage).toMatchObject({ expected: 58, measured: 58, missing: 0 });
    expect(today.terms.energy_eur).toBe(52.2);
    expect(sub.messages.find((m) => m.topic === 'choco-edge/bill/today')).toBeDefined();
    const month = await sub.waitFor('choco-edge/bill/month');
    expect(month.projected.label).toBe('forecast');
    const api = await (await fetch(`${gw.http!.url}/api/bill`)).json();
    expect(api.today.terms).toEqual(today.terms);
    // a late subscriber gets the retained bill
    const late = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/bill/today');
    const retained = await late.waitFor('choco-edge/bill/today');
    expect(retained.terms.energy_kwh).toBe(580);
    expect(late.messages[0]!.retain).toBe(true);
    await late.client.endAsync();
  }, 90_000);
});
