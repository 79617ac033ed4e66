/**
 * The MQTT contract: every topic the gateway publishes or listens to, with its payload type.
 * Topics are relative to the configured base (default `choco-edge`). Payloads are JSON and carry `v`.
 */
import type { ComponentHealth, HealthState } from '../health.js';

export const PAYLOAD_VERSION = 1;

/** The whole plan as one message (see gateway/planner/document.ts). */
export interface PlanDocumentPayload {
  v: number;
  plan_id: string;
  version: number;
  created_at: string;
  horizon: { start: string; end: string; resolution_min: number };
  method: string;
  status: string;
  solve_ms: number;
  fallback_reason: string | null;
  infeasible: string[];
  kept_previous: boolean;
  runs: Array<{ process: string; line: string; batch: number; start: string; end: string; start_local: string; kw: number; cost_eur: number }>;
  hours: Array<{ start: string; start_local: string; price_eur_mwh: number; price_source: string; period: string; power_kw: number; running: string[]; cost_eur: number; recommendation: string; urgency: string; model_recommendation: string | null }>;
  totals: { kwh: number; cost_eur: number; baseline_eur: number | null; saved_eur: number | null };
}

export interface PriceSlotPayload {
  start: string;
  end: string;
  start_local: string;
  value: number;
}

export interface Payloads {
  'bridge/state': { v: number; state: 'online' | 'offline'; at: string };
  'bridge/info': { v: number; version: string; plugin_api: number; site: string; timezone: string; started_at: string; plugins: string[]; series: string[] };
  'bridge/health': {
    v: number;
    at: string;
    state: HealthState;
    reasons: string[];
    plugins: Record<string, ComponentHealth>;
    series: Record<string, { stale: boolean; age_s: number | null; source: string | null }>;
  };
  'prices/+': {
    v: number;
    series: string;
    unit: 'EUR/MWh';
    source: string | null;
    fetched_at: string | null;
    stale: boolean;
    current: (PriceSlotPayload & { value_eur_kwh: number }) | null;
    /** Known slots from the current one to the end of what is published. */
    horizon: PriceSlotPayload[];
    horizon_end: string | null;
  };
  'sensors/+': { v: number; point: string; device: string; value: number; unit: string; at: string; state: 'ok' };
  'weather/current': {
    v: number;
    at: string;
    stale: boolean;
    reason: string | null;
    values: Record<string, { value: number; unit: string; source: string; at: string; age_s: number }>;
  };
  'weather/forecast': {
    v: number;
    at: string;
    slots: Array<{ start: string; end: string; start_local: string; values: Record<string, { value: number; source: string }> }>;
  };
  'forecast/prices': {
    v: number;
    series: string;
    model: string;
    version: string;
    issued_at: string;
    unit: 'EUR/MWh';
    drivers_used: number;
    slots: Array<{ start: string; start_local: string; value: number; low: number; high: number; horizon_h: number }>;
  };
  'recommendation/current': {
    v: number;
    method: 'model';
    model: string;
    version: string;
    at: string;
    recommendation: string;
    urgency: string;
    hour_start: string;
    hour_start_local: string;
    probabilities: Record<string, number>;
    next: Array<{ start: string; recommendation: string; urgency: string }>;
  };
  'models/status': {
    v: number;
    at: string;
    backend: string | null;
    models: Array<{ name: string; version: string; inferences: number }>;
    accuracy: Array<{ band: string; days7: { n: number; mae: number | null }; days30: { n: number; mae: number | null } }>;
    last: { forecast: string; recommendation: string };
  };
  plan: PlanDocumentPayload;
  'lines/+/command': {
    v: number;
    plan_id: string;
    line: string;
    process: string;
    at: string;
    now: { command: 'run' | 'idle'; power_kw: number; batch: number | null; until: string };
    next: { command: 'run' | 'idle'; start: string; end: string; batch: number | null } | null;
    valid_until: string;
  };
  alerts: { v: number; code: string; level: 'info' | 'warning' | 'critical'; message: string; at: string };
  /** Only while recorded data is replayed (the demo): that it is a replay, the simulated time, the speed. */
  replay: {
    v: number;
    replay: true;
    state: 'playing' | 'ended';
    file: string;
    simulated_time: string;
    /** Plant time with offset, e.g. 2018-01-08T11:00:00+01:00. */
    simulated_local: string;
    simulated_date: string;
    /** Simulated seconds per real second; null when the clock is not an accelerated one. */
    speed: number | null;
    data_from: string;
    data_to: string;
  };
  'bridge/request/+': { transaction?: string; [key: string]: unknown };
  'bridge/response/+': { v: number; transaction: string | null; status: 'ok' | 'error'; data?: unknown; error?: string };
}

export type TopicPattern = keyof Payloads;

export const topics = {
  state: 'bridge/state',
  info: 'bridge/info',
  health: 'bridge/health',
  prices: (series: string): `prices/${string}` => `prices/${series}`,
  sensor: (point: string): `sensors/${string}` => `sensors/${point}`,
  weatherCurrent: 'weather/current',
  weatherForecast: 'weather/forecast',
  forecastPrices: 'forecast/prices',
  recommendationCurrent: 'recommendation/current',
  modelsStatus: 'models/status',
  plan: 'plan',
  lineCommand: (line: string): `lines/${string}/command` => `lines/${line}/command`,
  lineSet: (line: string) => `lines/${line}/set`,
  lineSetWildcard: 'lines/+/set',
  alerts: 'alerts',
  replay: 'replay',
  request: (name: string): `bridge/request/${string}` => `bridge/request/${name}`,
  response: (name: string): `bridge/response/${string}` => `bridge/response/${name}`,
  requestWildcard: 'bridge/request/#',
} as const;

/** Which pattern of the contract a concrete relative topic belongs to. */
export type PayloadFor<T extends string> = T extends `prices/${string}`
  ? Payloads['prices/+']
  : T extends `lines/${string}/command`
    ? Payloads['lines/+/command']
  : T extends `sensors/${string}`
    ? Payloads['sensors/+']
    : T extends `bridge/response/${string}`
    ? Payloads['bridge/response/+']
    : T extends keyof Payloads
      ? Payloads[T]
      : never;
