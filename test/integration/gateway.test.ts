import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import type { FakeClock } from '../../gateway/time/clock.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer, fixture, recordedRoutes } from '../helpers/fixture-server.js';
import { startGateway, subscriber, type Collected } from '../helpers/gateway.js';

// 13:30 in Madrid on the 25-hour day of the 15-minute market: OMIE has published today, tomorrow is not there yet.
const NOW = '2025-10-26T12:30:00Z';
const omieLine = (period: number) => fixture('omie/marginalpdbc_20251026.1').split(/\r?\n/).find((l) => l.startsWith(`2025;10;26;${period};`))!.split(';');

describe('gateway end to end: fixtures → store → MQTT and HTTP', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  let clock: FakeClock;
  let sub: Collected;
  let http: string;
  let mqttUrl: string;
  const auth = { authorization: 'Bearer http-test-token' };

  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
    const config = testConfig(server.base, { sources: { esios: { enabled: false } } });
    ({ gw, clock } = await startGateway(config, NOW));
    http = gw.http!.url;
    mqttUrl = `mqtt://127.0.0.1:${gw.brokerPorts!.port}`;
    sub = await subscriber(mqttUrl, 'choco-edge/#');
  });
  afterAll(async () => {
    await sub?.client.endAsync();
    await gw?.stop();
    await server.stop();
  });

  it('publishes retained online state, bridge info and the current quarter-hour price', async () => {
    expect((await sub.waitFor('choco-edge/bridge/state')).state).toBe('online');
    const info = await sub.waitFor('choco-edge/bridge/info');
    expect(info.plugins).toContain('omie');
    const prices = await sub.waitFor('choco-edge/prices/omie_es', (p) => p.current !== null);
    // 12:30Z is 14.5 h after local midnight (22:00Z): period 59 of 100.
    expect(prices.current.value).toBe(Number(omieLine(59)[5]));
    expect(prices.current.start).toBe('2025-10-26T12:30:00Z');
    expect(prices.current.start_local).toBe('2025-10-26T13:30:00+01:00');
    expect(prices.current.value_eur_kwh).toBeCloseTo(Number(omieLine(59)[5]) / 1000, 6);
    expect(prices.horizon).toHaveLength(100 - 58);
    expect(prices.horizon_end).toBe('2025-10-26T23:00:00Z');
    expect(prices.v).toBe(1);
    expect(sub.messages.find((m) => m.topic === 'choco-edge/prices/omie_es')!.retain).toBe(true);
  });

  it('serves liveness always and readiness 503 with the reason when a critical series has no data', async () => {
    expect((await fetch(`${http}/health`)).status).toBe(200);
    const res = await fetch(`${http}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.reasons.join('\n')).toMatch(/series pvpc stale: no data stored yet \(ree: reachable; .* not published yet\)/);
    expect(body.series.find((s: { id: string }) => s.id === 'omie_es').stale).toBe(false);
    expect(body.plugins.esios.state).toBe('disabled');
  });

  it('answers /ree/prices in the prototype contract and refuses bad input with a message', async () => {
    const body = await (await fetch(`${http}/ree/prices?hours=2&series=omie_es`)).json();
    expect(body.count).toBe(8);
    expect(body.prices[0]).toMatchObject({ timestamp: '2025-10-26T12:00:00Z', timestamp_local: '2025-10-26T13:00:00+01:00', price_eur_mwh: Number(omieLine(57)[5]), source: 'omie' });
    const bad = await fetch(`${http}/ree/prices?hours=0`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/hours must be >= 1/);
    expect((await fetch(`${http}/ree/prices?series=nope`)).status).toBe(404);
  });

  it('reads any range from /api/prices, raw or hourly, with UTC timestamps', async () => {
    const { start, end } = localDayRange('2025-10-26');
    const q = `series=omie_es&from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}`;
    const raw = await (await fetch(`${http}/api/prices?${q}`)).json();
    expect(raw.slots).toHaveLength(100);
    expect(raw.unit).toBe('EUR/MWh');
    const hourly = await (await fetch(`${http}/api/prices?${q}&resolution=hourly`)).json();
    expect(hourly.slots).toHaveLength(25);
    const firstHour = [1, 2, 3, 4].map((p) => Number(omieLine(p)[5]));
    expect(hourly.slots[0].value).toBeCloseTo(firstHour.reduce((a, b) => a + b) / 4, 6);
    const naive = await fetch(`${http}/api/prices?series=omie_es&from=2025-10-26T00:00:00`);
    expect(naive.status).toBe(400);
    expect((await naive.json()).message).toMatch(/with offset or Z/);
    // A plain date is the plant's local day, as the bill's and the export's: 2025-10-26 is the 25-hour day.
    const byDate = await (await fetch(`${http}/api/prices?series=omie_es&from=2025-10-26&to=2025-10-27`)).json();
    expect(Date.parse(byDate.from)).toBe(start);
    expect(Date.parse(byDate.to)).toBe(end);
    expect(byDate.slots).toEqual(raw.slots);
    expect((await fetch(`${http}/api/prices?series=omie_es&from=2025-02-30`)).status).toBe(400);
    expect((await fetch(`${http}/api/prices?series=omie_es&resolution=weekly`)).status).toBe(400);
    expect((await fetch(`${http}/api/prices?series=BAD%20ID`)).status).toBe(400);
  });

  it('shows every job, runs one on request only with the token, and pauses and resumes', async () => {
    const status = await (await fetch(`${http}/scheduler/status`)).json();
    expect(status.jobs.map((j: { id: string }) => j.id)).toEqual(['priceIngestion', 'weatherIngestion', 'predictions', 'planning', 'health', 'backfill', 'tokenCheck', 'cleanup', 'recalibration', 'retraining', 'backup']);
    expect(status.jobs.find((j: { id: string }) => j.id === 'weatherIngestion').placeholder).toMatch(/placeholder: no weather source is enabled/);
    expect(status.jobs.find((j: { id: string }) => j.id === 'planning').placeholder).toBeNull();
    expect(status.jobs.find((j: { id: string }) => j.id === 'priceIngestion').nextRun).toBe('2025-10-26T12:45:00.000Z');
    expect((await fetch(`${http}/scheduler/jobs/cleanup/trigger`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${http}/scheduler/jobs/cleanup/trigger`, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ran = await (await fetch(`${http}/scheduler/jobs/cleanup/trigger`, { method: 'POST', headers: auth })).json();
    expect(ran.lastRun.outcome).toBe('ok');
    expect(ran.lastRun.summary).toMatch(/retention/);
    expect((await fetch(`${http}/scheduler/jobs/nope/trigger`, { method: 'POST', headers: auth })).status).toBe(404);
    expect((await (await fetch(`${http}/scheduler/jobs/health/pause`, { method: 'POST', headers: auth })).json()).paused).toBe(true);
    expect((await (await fetch(`${http}/scheduler/jobs/health/resume`, { method: 'POST', headers: auth })).json()).paused).toBe(false);
  });

  it('verifies the store: counts, latest records and gaps', async () => {
    const body = await (await fetch(`${http}/api/store/verify?days=1`)).json();
    const omie = body.series.find((s: { series: string }) => s.series === 'omie_es');
    expect(omie.total).toBe(100);
    expect(omie.latest).toHaveLength(3);
    expect(omie.gaps[0]).toMatchObject({ start: '2025-10-25T12:30:00Z', end: '2025-10-25T22:00:00Z' });
    const pvpc = body.series.find((s: { series: string }) => s.series === 'pvpc');
    expect(pvpc.total).toBe(0);
    expect((await fetch(`${http}/api/store/verify?days=0`)).status).toBe(400);
    expect((await fetch(`${http}/api/store/verify?series=nope`)).status).toBe(404);
  });

  it('lists every series with where it came from, its age and staleness', async () => {
    const series = await (await fetch(`${http}/api/series`)).json();
    const omie = series.find((s: { id: string }) => s.id === 'omie_es');
    expect(omie).toMatchObject({ unit: 'EUR/MWh', sources: ['omie'], last_source: 'omie', stale: false, age_s: 0, horizon_end: '2025-10-26T23:00:00Z' });
    expect(omie.current.start).toBe('2025-10-26T12:30:00Z');
    const pvpc = series.find((s: { id: string }) => s.id === 'pvpc');
    expect(pvpc).toMatchObject({ stale: true, stale_reason: 'no data stored yet', sources: ['ree'] });
  });

  it('publishes an OpenAPI document that lists every route', async () => {
    const doc = await (await fetch(`${http}/openapi.json`)).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/health', '/healthz', '/ree/prices', '/api/prices', '/api/series', '/scheduler/status', '/scheduler/jobs/{id}/trigger', '/api/store/verify']) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it('answers MQTT requests on bridge/request/* with the transaction echoed, and errors for bad ones', async () => {
    await sub.client.publishAsync('choco-edge/bridge/request/health', JSON.stringify({ transaction: 't-1' }));
    const ok = await sub.waitFor('choco-edge/bridge/response/health', (p) => p.transaction === 't-1');
    expect(ok.status).toBe('ok');
    expect(ok.data.state).toBe('failed');
    await sub.client.publishAsync('choco-edge/bridge/request/job/trigger', JSON.stringify({ transaction: 't-2' }));
    expect((await sub.waitFor('choco-edge/bridge/response/job/trigger', (p) => p.transaction === 't-2')).error).toMatch(/"id" \(string\) is required/);
    await sub.client.publishAsync('choco-edge/bridge/request/prices', '{not json');
    expect((await sub.waitFor('choco-edge/bridge/response/prices', (p) => p.status === 'error')).error).toMatch(/must be a JSON object/);
    await sub.client.publishAsync('choco-edge/bridge/request/prices', JSON.stringify({ transaction: 't-3', series: 'omie_es', from: '2025-10-26T12:00:00Z', to: '2025-10-26T13:00:00Z' }));
    expect((await sub.waitFor('choco-edge/bridge/response/prices', (p) => p.transaction === 't-3')).data).toHaveLength(4);
  });

  it('moves the current price at the quarter-hour boundary on the injected clock', async () => {
    await clock.advance(15 * 60_000);
    const prices = await sub.waitFor('choco-edge/prices/omie_es', (p) => p.current?.start === '2025-10-26T12:45:00Z');
    expect(prices.current.value).toBe(Number(omieLine(60)[5]));
  });

  it('goes offline by LWT when the connection dies, then comes back and republishes retained state', async () => {
    const before = sub.messages.filter((m) => m.topic === 'choco-edge/prices/omie_es').length;
    (gw.mqtt as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    await sub.waitFor('choco-edge/bridge/state', (p) => p.state === 'offline');
    const offlineAt = sub.messages.findIndex((m) => m.topic === 'choco-edge/bridge/state' && m.payload.state === 'offline');
    await vi.waitFor(() => {
      const online = sub.messages.findIndex((m, i) => i > offlineAt && m.topic === 'choco-edge/bridge/state' && m.payload.state === 'online');
      if (online < 0) throw new Error('not back online yet');
    }, { timeout: 60_000, interval: 20 });
    await sub.waitFor('choco-edge/prices/omie_es', () => sub.messages.filter((m) => m.topic === 'choco-edge/prices/omie_es').length > before);
    expect(gw.mqtt.connects).toBeGreaterThanOrEqual(2);
  });
});
