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
 * store degrades or fails it (its message comes first).
 */
export function healthReport(parts: { plugins: Record<string, ComponentHealth>; series: SeriesStatus[]; mqttConnected: boolean; store: StoreIntegrity }): HealthReport {
  const { plugins, series, store } = parts;
  const reasons: string[] = [];
  const states: HealthState[] = [];
  for (const [name, h] of Object.entries(plugins)) {
    if (h.state === 'failed') reasons.push(`plugin ${name}: ${h.message}`);
    if (h.state === 'failed' || h.state === 'degraded') states.push(h.state);
  }
  for (const s of series) {
    if (!s.stale) continue;
    const why = s.sources.map((src) => `${src}: ${plugins[src]?.message ?? 'unknown'}`).join('; ');
    reasons.push(`series ${s.id} stale: ${s.staleReason} (${why})`);
    states.push(s.critical ? 'failed' : 'degraded');
  }
  if (!parts.mqttConnected) {
    reasons.push('MQTT broker not connected; reconnecting');
    states.push('degraded');
  }
  if (!series.some((s) => s.critical)) {
    reasons.push('no price source is enabled');
    states.push('failed');
  }
  if (store.state !== 'ok') {
    reasons.unshift(store.message);
    states.push(store.state);
  }
  return { state: states.length ? worst(states) : 'ok', reasons, plugins, series, store };
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
