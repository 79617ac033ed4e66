import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

describe('documented API', () => {
  let gw: Gateway;
  let http: string;
  let doc: { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string; required?: boolean; schema?: { examples?: unknown[]; default?: unknown } }>; responses?: Record<string, unknown> }>> };

  beforeAll(async () => {
    const config = testConfig('http://127.0.0.1:9', { sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } } });
    ({ gw } = await startGateway(config, '2018-04-02T10:00:00Z'));
    http = gw.http!.url;
    await vi.waitFor(() => expect(gw.scheduler.status().find((j) => j.id === 'backfill')?.lastRun).toBeTruthy(), { timeout: 60_000 });
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('predictions');
    await gw.scheduler.trigger('planning');
    doc = await (await fetch(`${http}/openapi.json`)).json();
  });
  afterAll(() => gw?.stop());

  it('publishes a valid OpenAPI document and browsable docs', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const docs = await fetch(`${http}/docs/static/index.html`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });

  it('answers every documented GET route as documented', async () => {
    const examples: Record<string, string> = { series: 'omie_es', from: '2018-04-01T00:00:00Z', to: '2018-04-03T00:00:00Z' };
    const checked: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      const get = methods.get;
      if (!get || path === '/api/events') continue;
      const query = new URLSearchParams();
      for (const p of get.parameters ?? []) if (p.in === 'query' && (p.required || examples[p.name])) query.set(p.name, examples[p.name] ?? String(p.schema?.examples?.[0] ?? p.schema?.default ?? ''));
      const res = await fetch(`${http}${path}${query.size ? `?${query}` : ''}`);
      const documented = Object.keys(get.responses ?? {});
      expect(res.status, `${path} → ${res.status}`).toBeLessThan(500);
      if (documented.length && !documented.includes('default')) expect(documented.concat(['200']), `${path} answered ${res.status}`).toContain(String(res.status));
      checked.push(path);
    }
    expect(checked).toEqual(expect.arrayContaining(['/health', '/healthz', '/ree/prices', '/api/prices', '/api/series', '/weather/current', '/models/status', '/api/plan', '/api/status', '/metrics', '/api/export']));
  });

  it('exports any stored series as CSV with UTC and local times', async () => {
    const res = await fetch(`${http}/api/export?series=omie_es&from=2018-04-01T00:00:00Z&to=2018-04-01T03:00:00Z`);
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await res.text()).trim().split('\n');
    expect(lines[0]).toBe('start_utc,end_utc,start_local,value,unit,source,fetched_at');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^2018-04-01T00:00:00Z,2018-04-01T01:00:00Z,2018-04-01T02:00:00\+02:00,[\d.]+,EUR\/MWh,replay,/);
    expect((await fetch(`${http}/api/export?series=omie_es&from=x&to=y`)).status).toBe(400);
    expect((await fetch(`${http}/api/export?series=nothing&from=2018-04-01T00:00:00Z&to=2018-04-02T00:00:00Z`)).status).toBe(404);
  });

  it('exposes Prometheus metrics with ingestion, ages, MQTT, inference, plan, memory and event-loop lag', async () => {
    const text = await (await fetch(`${http}/metrics`)).text();
    expect(text).toMatch(/^choco_edge_ingest_fetches_total\{source="replay"\} \d+$/m);
    expect(text).toMatch(/^choco_edge_series_age_seconds\{series="omie_es"\} \d+$/m);
    expect(text).toMatch(/^choco_edge_mqtt_clients \d+$/m);
    expect(text).toMatch(/^choco_edge_inference_total\{model="price-forecaster",version="1.0.0"\} [1-9]\d*$/m);
    expect(text).toMatch(/^choco_edge_plan_solve_seconds\{method="milp"\} [\d.]+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds [\d.e-]+$/m);
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[a-z_][a-z0-9_]*(\{[^}]*\})? -?[\d.e+-]+$/);
  });

  it('acknowledges an alert only with the token', async () => {
    gw.bus.emit('alert', { code: 'TEST_ACK', level: 'warning', message: 'please acknowledge', at: Date.parse('2018-04-02T10:00:00Z') });
    await vi.waitFor(() => expect(gw.alerts.recent().some((a) => a.code === 'TEST_ACK')).toBe(true), { timeout: 60_000, interval: 20 });
    const id = gw.alerts.recent().find((a) => a.code === 'TEST_ACK')!.id;
    expect((await fetch(`${http}/api/alerts/${id}/ack`, { method: 'POST' })).status).toBe(401);
    const ok = await (await fetch(`${http}/api/alerts/${id}/ack`, { method: 'POST', headers: { authorization: 'Bearer http-test-token' } })).json();
    expect(ok.ackedAt).toBe('2018-04-02T10:00:00Z');
    expect((await fetch(`${http}/api/alerts/99999/ack`, { method: 'POST', headers: { authorization: 'Bearer http-test-token' } })).status).toBe(404);
  });

  it('answers every alert time as ISO UTC (at, ackedAt, resolvedAt), and resolves an alert about a line named in Spanish', async () => {
    const at = Date.parse('2018-04-02T11:00:00Z');
    gw.bus.emit('alert', { code: 'TEST_RESOLVE', level: 'warning', message: 'línea-señal: the PLC does not answer', at });
    await vi.waitFor(() => expect(gw.alerts.recent().some((a) => a.code === 'TEST_RESOLVE')).toBe(true), { timeout: 60_000, interval: 20 });
    gw.bus.emit('alert.resolved', { code: 'TEST_RESOLVE', subject: 'línea-señal', at: at + 60_000 });
    const alerts = (await (await fetch(`${http}/api/alerts`)).json()) as Array<{ code: string; at: unknown; ackedAt: unknown; resolvedAt: unknown }>;
    const a = alerts.find((x) => x.code === 'TEST_RESOLVE')!;
    expect(a).toMatchObject({ at: '2018-04-02T11:00:00Z', ackedAt: null, resolvedAt: '2018-04-02T11:01:00Z' });
    for (const x of alerts) for (const k of ['at', 'ackedAt', 'resolvedAt'] as const) expect(x[k] === null || (typeof x[k] === 'string' && /Z$/.test(x[k] as string))).toBe(true);
  });
});
