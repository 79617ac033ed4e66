import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { healthReport } from '../../gateway/core/health-report.js';
import type { StoreIntegrity } from '../../gateway/series/integrity.js';
import type { ComponentHealth } from '../../gateway/util/health.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/mosquitto.js';

// /healthz said `degraded` with `reasons: []`: a degraded plugin (here the site-load model, which has no base load:
// a site meter without data yet, no profile) made the state degraded but only a failed one gave a reason. Every part that makes the
// state degraded or failed now gives its reason, and the state is derived from those reasons.
const NOW = '2025-10-26T12:30:00Z';

describe('/healthz: every part that degrades the gateway says why (real gateway, real HTTP, recorded sources)', () => {
  const server = new FixtureServer();
  let gw: Gateway;

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    // OMIE alone (recorded): a fresh critical price series. A site meter that has no quarter-hours yet (nothing
    // listens on its port) and no energy.siteLoad.profile: the site-load model has no base load, degraded.
    const config = testConfig(server.base, { sources: { esios: { enabled: false }, ree: { enabled: false } }, energy: { meters: [{ name: 'site-main', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: await freePort() }] } });
    ({ gw } = await startGateway(config, NOW));
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('a gateway whose site-load has no base load is degraded, and a reason names site-load', async () => {
    await gw.scheduler.trigger('planning');
    const body = (await (await fetch(`${gw.http!.url}/healthz`)).json()) as { state: string; reasons: string[]; plugins: Record<string, { state: string; message: string }> };
    expect(body.plugins['site-load']!.state).toBe('degraded');
    expect(body.state).not.toBe('ok');
    expect(body.reasons.find((r) => r.startsWith('plugin site-load: ')), JSON.stringify(body.reasons)).toMatch(/^plugin site-load: base load none: .*0 kW/);
    // The invariant, over every plugin: each one not ok (degraded or failed) has its reason.
    for (const [name, h] of Object.entries(body.plugins)) if (h.state === 'degraded' || h.state === 'failed') expect(body.reasons).toContain(`plugin ${name}: ${h.message}`);
  }, 120_000);
});

describe('healthReport: the state is derived from the reasons', () => {
  const store: StoreIntegrity = { state: 'ok', message: '0 records', dir: '/tmp/x', records: 0, expectedRecords: null, losses: [], writeFailure: null, lastRepair: null };
  const price = { id: 'omie_es', critical: true, stale: false, staleReason: null, source: 'omie', sources: ['omie'], ageMs: 0, horizonEnd: null, unit: 'EUR/MWh' } as never;
  it('degraded or failed never comes without a reason; ok never comes with one', () => {
    const cases: Array<{ plugins: Record<string, ComponentHealth>; mqttConnected: boolean }> = [
      { plugins: { 'site-load': { state: 'degraded', message: 'base load none' } }, mqttConnected: true },
      { plugins: { a: { state: 'failed', message: 'down' }, b: { state: 'degraded', message: 'slow' } }, mqttConnected: true },
      { plugins: { a: { state: 'starting', message: 'starting' }, b: { state: 'disabled', message: 'off' } }, mqttConnected: true },
      { plugins: {}, mqttConnected: false },
    ];
    for (const c of cases) {
      const r = healthReport({ ...c, series: [price], store });
      expect(r.state === 'ok', JSON.stringify(r)).toBe(r.reasons.length === 0);
    }
    expect(healthReport({ ...cases[1]!, series: [price], store }).reasons).toEqual(['plugin a: down', 'plugin b: slow']);
    expect(healthReport({ ...cases[1]!, series: [price], store }).state).toBe('failed');
  });
});
