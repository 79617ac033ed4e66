import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';

type Sample = { labels?: Record<string, string>; value: number };

function family(name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const lines = samples
    .filter((s) => Number.isFinite(s.value))
    .map((s) => {
      const labels = s.labels && Object.keys(s.labels).length ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
      return `${name}${labels} ${s.value}`;
    });
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join('\n');
}

/** Prometheus text exposition of the gateway's own numbers. */
export async function metricsText(gw: HttpContext): Promise<string> {
  const plugins = gw.pluginHealth();
  const detail = (name: string, key: string) => Number((plugins[name]?.details as Record<string, unknown> | undefined)?.[key] ?? NaN);
  const sources = Object.keys(plugins).filter((n) => !Number.isNaN(detail(n, 'fetches')));
  const series = await gw.seriesStatuses();
  const predictions = gw.predictions();
  const plan = (gw.planner())?.current();
  const lines = (plugins['modbus-lines']?.details ?? {}) as Record<string, { writes: number; failures: number }>;
  // Every PLC line, Modbus and OPC UA alike (both plugins report { writes, failures } per line through gateway/lines).
  const allLines = (['modbus', 'opcua'] as const).flatMap((protocol) =>
    Object.entries((plugins[`${protocol}-lines`]?.details ?? {}) as Record<string, { writes?: number; failures?: number }>)
      .filter(([, w]) => typeof w?.writes === 'number')
      .map(([line, w]) => ({ line, protocol, writes: w.writes!, failures: w.failures ?? 0 })),
  );
  const mem = process.memoryUsage();
  const lag = gw.eventLoop;
  return (
    [
      family('choco_edge_ingest_fetches_total', 'counter', 'Fetches attempted per source', sources.map((s) => ({ labels: { source: s }, value: detail(s, 'fetches') }))),
      family('choco_edge_ingest_errors_total', 'counter', 'Failed fetches per source', sources.map((s) => ({ labels: { source: s }, value: detail(s, 'errors') }))),
      family('choco_edge_plugin_up', 'gauge', '1 when the plugin is ok, 0 otherwise (disabled plugins are left out)', Object.entries(plugins).filter(([, h]) => h.state !== 'disabled').map(([n, h]) => ({ labels: { plugin: n, state: h.state }, value: h.state === 'ok' ? 1 : 0 }))),
      family('choco_edge_series_age_seconds', 'gauge', 'Seconds since the series was last fetched', series.filter((s) => s.ageMs !== null).map((s) => ({ labels: { series: s.id }, value: Math.round(s.ageMs! / 1000) }))),
      family('choco_edge_series_stale', 'gauge', '1 when the series is stale', series.map((s) => ({ labels: { series: s.id }, value: s.stale ? 1 : 0 }))),
      family('choco_edge_mqtt_clients', 'gauge', 'Clients connected to the embedded broker', gw.broker ? [{ value: gw.broker.connectedClients }] : []),
      family('choco_edge_mqtt_messages_published_total', 'counter', 'Messages the gateway published', [{ value: gw.mqtt.published }]),
      family('choco_edge_mqtt_messages_received_total', 'counter', 'Messages the gateway received', [{ value: gw.mqtt.received }]),
      family('choco_edge_mqtt_broker_messages_total', 'counter', 'Client publishes through the embedded broker', gw.broker ? [{ value: gw.broker.published }] : []),
      family('choco_edge_modbus_writes_total', 'counter', 'Verified Modbus line writes', Object.entries(lines).map(([l, w]) => ({ labels: { line: l }, value: w.writes }))),
      family('choco_edge_modbus_write_failures_total', 'counter', 'Failed Modbus line writes', Object.entries(lines).map(([l, w]) => ({ labels: { line: l }, value: w.failures }))),
      family('choco_edge_line_writes_total', 'counter', 'Verified PLC line writes (Modbus and OPC UA)', allLines.map((l) => ({ labels: { line: l.line, protocol: l.protocol }, value: l.writes }))),
      family('choco_edge_line_write_failures_total', 'counter', 'Failed PLC line write cycles (Modbus and OPC UA)', allLines.map((l) => ({ labels: { line: l.line, protocol: l.protocol }, value: l.failures }))),
      family('choco_edge_inference_total', 'counter', 'Inferences per model', (predictions?.registry.loaded() ?? []).map((m) => ({ labels: { model: m.name, version: m.version }, value: m.inferences }))),
      family('choco_edge_inference_last_seconds', 'gauge', 'Duration of the last inference', (predictions?.registry.loaded() ?? []).filter((m) => m.lastInferenceMs !== null).map((m) => ({ labels: { model: m.name }, value: m.lastInferenceMs! / 1000 }))),
      family('choco_edge_plan_solve_seconds', 'gauge', 'Solve time of the current plan', plan ? [{ labels: { method: plan.method }, value: plan.solve_ms / 1000 }] : []),
      family('choco_edge_plan_cost_eur', 'gauge', 'Expected cost of the current plan', plan ? [{ value: plan.totals.cost_eur }] : []),
      family('choco_edge_job_runs_total', 'counter', 'Scheduler job runs', gw.scheduler.status().map((j) => ({ labels: { job: j.id }, value: j.runs }))),
      family('choco_edge_job_failures_total', 'counter', 'Scheduler job failures', gw.scheduler.status().map((j) => ({ labels: { job: j.id }, value: j.failures }))),
      family('process_resident_memory_bytes', 'gauge', 'Resident set size', [{ value: mem.rss }]),
      family('nodejs_heap_used_bytes', 'gauge', 'V8 heap used', [{ value: mem.heapUsed }]),
      family('nodejs_heap_total_bytes', 'gauge', 'V8 heap reserved', [{ value: mem.heapTotal }]),
      family('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JS (buffers, LevelDB, WASM)', [{ value: mem.external }]),
      family('nodejs_array_buffers_bytes', 'gauge', 'ArrayBuffers and Buffers (part of external)', [{ value: mem.arrayBuffers }]),
      family('nodejs_eventloop_lag_p99_seconds', 'gauge', 'Event-loop delay, 99th percentile since start', [{ value: lag.percentile(99) / 1e9 }]),
      family('nodejs_eventloop_lag_mean_seconds', 'gauge', 'Event-loop delay, mean since start', [{ value: lag.mean / 1e9 }]),
      family('choco_edge_uptime_seconds', 'gauge', 'Uptime on the gateway clock', [{ value: Math.round(gw.uptimeMs / 1000) }]),
    ].join('\n') + '\n'
  );
}

export function registerMetrics(app: FastifyInstance, gw: HttpContext): void {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (_req, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(await metricsText(gw)));
}
