import type { ComponentHealth, HealthState } from '../util/health.js';
import { worst } from '../util/health.js';
import type { Payloads } from '../mqtt/topics.js';
import type { SeriesStatus } from '../series/status.js';
import type { StoreIntegrity } from '../series/integrity.js';

/** The gateway's health: the worst state of its parts, with a line for each part that is not ok. */
export interface HealthReport {
  state: HealthState;
  reasons: string[];
  plugins: Record<string, ComponentHealth>;
  series: SeriesStatus[];
  store: StoreIntegrity;
}

/**
 * Judges the parts: a failed plugin fails the gateway, a degraded one degrades it; a stale critical series fails it,
 * another stale series degrades it; a lost MQTT connection degrades it; no price source at all fails it; a damaged
 * store degrades or fails it (its message comes first). Each part that is not ok gives one finding, its state and
 * its reason together, and the gateway's state is the worst of the findings: a state other than ok never comes
 * without the reasons that make it (a degraded plugin once degraded the gateway with `reasons: []`).
 */
export function healthReport(parts: { plugins: Record<string, ComponentHealth>; series: SeriesStatus[]; mqttConnected: boolean; store: StoreIntegrity }): HealthReport {
  const { plugins, series, store } = parts;
  const findings: Array<{ state: 'degraded' | 'failed'; reason: string }> = [];
  const find = (state: HealthState, reason: string) => {
    if (state === 'degraded' || state === 'failed') findings.push({ state, reason });
  };
  if (store.state !== 'ok') find(store.state, store.message);
  for (const [name, h] of Object.entries(plugins)) find(h.state, `plugin ${name}: ${h.message}`);
  for (const s of series) {
    if (!s.stale) continue;
    const why = s.sources.map((src) => `${src}: ${plugins[src]?.message ?? 'unknown'}`).join('; ');
    find(s.critical ? 'failed' : 'degraded', `series ${s.id} stale: ${s.staleReason} (${why})`);
  }
  if (!parts.mqttConnected) find('degraded', 'MQTT broker not connected; reconnecting');
  if (!series.some((s) => s.critical)) find('failed', 'no price source is enabled');
  return { state: findings.length ? worst(findings.map((f) => f.state)) : 'ok', reasons: findings.map((f) => f.reason), plugins, series, store };
}

/** The report as published on `<base>/bridge/health` and answered to the `health` bridge request. */
export function healthPayload(report: HealthReport, now: number): Omit<Payloads['bridge/health'], 'v'> {
  return {
    at: new Date(now).toISOString(),
    state: report.state,
    reasons: report.reasons,
    plugins: report.plugins,
    series: Object.fromEntries(report.series.map((s) => [s.id, { stale: s.stale, age_s: s.ageMs === null ? null : Math.round(s.ageMs / 1000), source: s.source }])),
    store: report.store,
  };
}
