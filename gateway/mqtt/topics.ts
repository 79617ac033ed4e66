import type { StoreIntegrity } from '../series/integrity.js';
import type { BillAmounts } from '../bill/bill.js';
import type { BillPayload, SavingsPayload } from '../bill/payloads.js';
import { MAX_TOPIC_BYTES, topicFilterProblem, topicLevelProblem, topicNameProblem } from '../config/topic-names.js';
/**
 * The MQTT contract: every topic the gateway publishes or listens to, with its payload type.
 * Topics are relative to the configured base (default `choco-edge`). Payloads are JSON and carry `v`.
 */
import type { ComponentHealth, HealthState } from '../util/health.js';

export const PAYLOAD_VERSION = 1;

/** The whole plan as one message (see gateway/planner/document.ts). */
export interface PlanDocumentPayload {
  v: number;
  plan_id: string;
  version: number;
  created_at: string;
  horizon: { start: string; end: string; resolution_min: number };
  /** `milp`, `milp-time-limit` (HiGHS's best incumbent when its time limit stopped it) or `greedy`. */
  method: string;
  status: string;
  solve_ms: number;
  /** With `milp-time-limit`: HiGHS's relative gap between that plan and its lower bound (0.012 = 1.2 %); else null. */
  mip_gap?: number | null;
  fallback_reason: string | null;
  infeasible: string[];
  /**
   * True only when this plan runs what the plan in force ran: every run not ended is there unchanged and no other
   * run starts before that plan's horizon ended (plugins/planner/kept-previous.ts); a line stop's cut makes it false.
   */
  kept_previous: boolean;
  /**
   * `batch`: the batch id, unique for the life of the plant, the same in every step of one batch (mixing to
   * tempering), in every re-plan and after a restart. `waited_min`: how long the batch waits before this step
   * after its previous step ended (null for the step that enters the line, or a batch waiting since before the
   * plan's history); `max_wait_min`: the holding limit of this step as configured (`maxWaitMinutes`, e.g. 20 on
   * hourly slots, where the plan allows no wait at all; null: none). A wait is a breach when `waited_min` > `max_wait_min`.
   * `wait_reason`: why, for a wait longer than an hour (gateway/planner/wait-reasons.ts: what rules out each earlier
   * start, or the € it would cost more).
   *
   * `interrupted`: the run was running when an operator's line stop (`lines/<line>/set`) took effect; it ends at the
   * stop, `interrupted_reason` says which, and the batch's step runs again after the stop (same batch id) as a run
   * with `resumes: 'remainder'` (the remaining duration) or `'full'` (the step again in full: an `uninterrupted`
   * process, README "Line stops"). Absent on ordinary runs.
   */
  runs: Array<{ process: string; line: string; batch: number; start: string; end: string; start_local: string; kw: number; cost_eur: number; waited_min: number | null; max_wait_min: number | null; wait_reason?: string; interrupted?: boolean; interrupted_reason?: string; resumes?: 'remainder' | 'full' }>;
  hours: Array<{ start: string; start_local: string; price_eur_mwh: number; price_source: string; period: string; power_kw: number; running: string[]; cost_eur: number; recommendation: string; urgency: string; model_recommendation: string | null }>;
  /** The waits between steps longer than their limit, in words (empty when every limit holds). */
  holding_breaches: string[];
  /**
   * Steps of batches an earlier plan placed, not started, that this plan does not hold, each with the rule that took
   * it out and the hours involved (`reason`), in every plan until it is back in a plan, starts, or is two days old
   * (plugins/planner/left-plan.ts). Absent when there is none.
   */
  left_plan?: Array<{ process: string; line: string; batch: number; was_start: string; left_at: string; plan_id: string; reason: string }>;
  /**
   * The chance constraint on the ambient limits (gateway/planner/ambient-margin.ts): the halt, maxPlantTempC and the
   * cooling in the contracted-power cap were checked at the temperature forecast + `margin_c` (°C per slot, 0 on
   * observed hours) = z × σ × √(1 − ρ^(2 × hours since `anchor`, the last observed hour; null: none, full σ)).
   * `relaxed`: why the margin was 0 for this plan (it alone left a process no feasible placement). `stake_eur`: the
   * € each run's chance of meeting a limit was priced at when the solvers chose (gateway/planner/ambient-risk.ts; 0:
   * not priced). `sigma_from`: where σ comes from, in words: the RMS error of the day-ahead temperature forecast
   * measured on this box over the last 28 days (gateway/weather/forecast-skill.ts) once 14 days are stored, else
   * `planner.ambientRisk.sigmaC` and why. Absent when both are off.
   */
  ambient_margin?: { z: number; sigma_c: number; sigma_from: string | null; rho: number; anchor: string | null; margin_c: number[]; stake_eur: number; summary: string; relaxed: string | null };
  /**
   * `cost_eur`: runs (started and planned, cooling included) plus holding, in the horizon; `holding_kwh`/`holding_eur`
   * the holding part. `baseline_eur`: the fixed shift doing the same work, priced the same way. `saved_reason`: why
   * `saved_eur` is negative, in words (null when it is not).
   */
  totals: { kwh: number; cost_eur: number; holding_kwh: number; holding_eur: number; excess_eur: number | null; baseline_eur: number | null; saved_eur: number | null; saved_reason: string | null };
  /** With energy.contract (gateway/planner/contract-view.ts): the site as the bill sees the plan; null without a contract. */
  site: PlanSiteView | null;
  /**
   * How sure the plan is where it was made on forecast prices (gateway/planner/band.ts): the slots planned on the
   * forecast, and the saving against the fixed shift at the point forecast and over price scenarios drawn from the
   * forecaster's 10-90 % band (mean, 10th and 90th percentile), €. Absent when no hour is forecast with a band.
   */
  forecast_band?: { forecast_slots: number; first_forecast: string; saved_point_eur: number; saved_expected_eur: number; saved_p10_eur: number; saved_p90_eur: number; scenarios: number };
  /**
   * Stability (issue #23, gateway/planner/frozen.ts, moves.ts): `frozen_until` the end of the frozen window (UTC ISO;
   * null when this plan kept none: the first plan, or a line stop, an operator change or the guard released it),
   * `released` why it was released; `moves_today` the batch moves of the local day so far (forced ones included)
   * against `max_moves_per_day`; `moves` this plan's moves and the day's earlier ones, each with its reason.
   * Absent from previews.
   */
  stability?: { frozen_until: string | null; released: string | null; moves_today: number; max_moves_per_day: number; moves: Array<{ at: string; day: string; batch: number; steps: Array<{ process: string; from: string; to: string | null }>; reason: string; forced: boolean; plan_id: string }> };
  /**
   * The operators' line overrides in force when the plan was made or last changed (`lines/<line>/set`): a line under
   * a `stop` until `until` (UTC ISO) runs nothing whatever its runs say (gateway/lines/line-state.ts `lineStateAt`,
   * the second safety layer for the PLC writers and Sparkplug). Absent in previews and older plans.
   */
  overrides?: Array<{ line: string; command: 'stop' | 'resume'; at: string; until: string }>;
}

/**
 * The plan seen by the bill (issue #22). `quarter_hours`: per quarter-hour of the horizon, the base load (forecast),
 * the planned load (runs + their cooling), their sum and the contracted power of the quarter-hour's power period,
 * kW; `above_kw` = max(0, site − contracted). `expected_bill` (label `forecast`: planning prices and a forecast base
 * load): the bill terms of the horizon's quarter-hours with the plan and with the fixed shift (null when there is
 * none), as gateway/bill prices them (energy, power pro rata by days, excess of the horizon only, tax, VAT; €).
 * `totals.excess_eur` is the part of `cost_eur` that is excess power (exact formula, over what the month already holds).
 * `excess_rule`: the excess the planner weighs is always the quarter-hour formula; `excess_note` says so in words when
 * the contract's bill charges the maxímetro instead (Contract.excessMetering), else null.
 */
export interface PlanSiteView {
  base_source: string;
  tariff: string;
  excess_rule: 'quarter-hour';
  excess_note: string | null;
  quarter_hours: Array<{ start: string; start_local: string; period: string; base_kw: number; planned_kw: number; site_kw: number; contracted_kw: number; above_kw: number }>;
  expected_bill: { label: 'forecast'; plan: PlanBillTerms; fixed_shift: PlanBillTerms | null };
}

/**
 * The expected bill of a schedule under the contract, term by term: the bill's own amounts (gateway/bill/bill.ts
 * `BillAmounts`, one type for every bill the gateway shows) and the quarter-hours above the contracted power.
 */
export interface PlanBillTerms extends BillAmounts {
  excess_quarter_hours: number;
}

export interface PriceSlotPayload {
  start: string;
  end: string;
  start_local: string;
  value: number;
}

export interface Payloads {
  /** `at`: when the gateway connected (online) or stopped (offline); null in the will, which the broker sends at a time the gateway cannot know. */
  'bridge/state': { v: number; state: 'online' | 'offline'; at: string | null };
  'bridge/info': { v: number; version: string; plugin_api: number; site: string; timezone: string; started_at: string; plugins: string[]; series: string[] };
  'bridge/health': {
    v: number;
    at: string;
    state: HealthState;
    reasons: string[];
    plugins: Record<string, ComponentHealth>;
    series: Record<string, { stale: boolean; age_s: number | null; source: string | null }>;
    /** The store's integrity: losses found at open, the last failed write (see gateway/series/integrity.ts). */
    store?: StoreIntegrity;
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
  /** A point's last reading (retained); `failed` when its device stopped answering, `value`/`at` then the last good one. */
  'sensors/+': { v: number; point: string; device: string; value: number | null; unit: string; at: string | null; state: 'ok' | 'failed'; error?: string };
  /** Every point of a device as last reported (report by exception), retained; sent when at least one point is due and as soon as a point or the device fails (`state: failed` with its `error`; `value: null`, `at: null` for a point that never got a value). */
  'devices/+/sensors': { v: number; device: string; at: string; points: Record<string, { value: number | null; unit: string; at: string | null; state: 'ok' | 'failed'; error?: string }> };
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
  /**
   * The one answer to "what should the floor do now": the plan's class for the current hour (published by the
   * planner with every plan). `model_recommendation` is the production-recommender's class for the same hour, an
   * input the plan was made with (its full view is `recommendation/model`); null without models.
   */
  'recommendation/current': {
    v: number;
    method: 'plan';
    plan_id: string;
    at: string;
    recommendation: string;
    urgency: string;
    hour_start: string;
    hour_start_local: string;
    running: string[];
    model_recommendation: string | null;
    next: Array<{ start: string; recommendation: string; urgency: string }>;
  };
  /** The production-recommender model's view (an input of the plan, not the recommendation): class, urgency, probabilities. */
  'recommendation/model': {
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
  /** The site's bill of today so far (retained; plugins/bill, README "The bill"). */
  'bill/today': BillPayload;
  /** The site's bill of the month to date, with its projection to the month's end (retained). */
  'bill/month': BillPayload;
  /** Measured savings of the closed days, by day, ISO week and month (retained; README "Measured savings"). */
  savings: SavingsPayload;
  /**
   * An energy meter's last poll (retained, every poll; plugins/meters, README "Connecting a meter"): values in kW,
   * kWh, kvarh; `quality: failed` with the last good values when the meter stops answering; `fault` names a counter
   * fault (reset, rollback, jump, frozen, gap); `quarter_hour` is its last closed local quarter-hour.
   */
  'meters/+': {
    v: number;
    meter: string;
    role: 'site' | 'line';
    line: string | null;
    provenance: string;
    at: string | null;
    kw: number | null;
    import_kwh: number | null;
    import_kvarh: number | null;
    quality: 'good' | 'suspect' | 'failed';
    fault: string | null;
    quarter_hour: { start: string; end: string; kwh: number | null; avg_kw: number | null; quality: 'measured' | 'interpolated' | 'missing'; period: number | null } | null;
  };
  'lines/+/command': {
    v: number;
    plan_id: string;
    line: string;
    process: string;
    at: string;
    /** `batch`: the plant-unique batch id of the run (see the plan document's runs). */
    /** The line state every output writes (gateway/lines/line-state.ts): `halt` in a Halt hour (ambient limit) with no run going on. */
    now: { command: 'run' | 'idle' | 'halt'; power_kw: number; batch: number | null; until: string };
    next: { command: 'run' | 'idle'; start: string; end: string; batch: number | null } | null;
    valid_until: string;
  };
  /**
   * What the gateway last verified on a line's PLC (retained): `ok` after a write read back as written, `degraded`
   * while it retries, `failed` once the PLC stopped taking writes, `stopped` when the gateway stopped writing, `dry_run` while the write-nothing mode (outputs.dryRun) is on
   * (the PLC is read, nothing is written; what would be written is on `outputs/dry-run`).
   */
  'lines/+/state': {
    v: number;
    line: string;
    state: 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped' | 'dry_run';
    /** What the PLC holds, read back: null before the first verified write. */
    written: { command: 'idle' | 'run' | 'halt'; power_kw: number; valid_until: string; at: string } | null;
    error: string | null;
    since: string;
    at: string;
  };
  alerts: { v: number; code: string; level: 'info' | 'warning' | 'critical'; message: string; at: string };
  /**
   * The write-nothing (commissioning) mode, retained: on, since when, who switched it and why, and what the gateway
   * would have written to each line (Modbus registers, MQTT line commands, Sparkplug metrics) while it is on.
   */
  'outputs/dry-run': {
    v: number;
    dry_run: boolean;
    since: string;
    by: string;
    reason: string;
    would_write: Array<{ via: 'modbus' | 'mqtt' | 'sparkplug' | 'opcua' | 'power-guard'; target: string; what: string; values: Record<string, unknown>; first_at: string; last_at: string; times: number }>;
    at: string;
  };
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

/** The topic rules live with the config checks that use them (config is below mqtt in the folder order). */
export { MAX_TOPIC_BYTES, topicFilterProblem, topicLevelProblem, topicNameProblem };

/** A topic level, name or filter refused by `topicLevel`/`topicLevels`: `reason` says which rule it breaks. */
export class TopicError extends Error {
  constructor(
    readonly what: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`${what} ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)} cannot be used in an MQTT topic: ${reason}`);
    this.name = 'TopicError';
  }
}

/** `level` if it is a valid single topic level, else throws TopicError. */
export function topicLevel(level: string, what: string): string {
  const problem = topicLevelProblem(level);
  if (problem) throw new TopicError(what, level, problem);
  return level;
}

/** `path` (levels joined by `/`, e.g. a request name `job/trigger`) if every level is valid, else throws TopicError. */
export function topicLevels(path: string, what: string): string {
  for (const level of path.split('/')) {
    const problem = topicLevelProblem(level);
    if (problem) throw new TopicError(what, path, problem);
  }
  return path;
}

export const topics = {
  state: 'bridge/state',
  info: 'bridge/info',
  health: 'bridge/health',
  prices: (series: string): `prices/${string}` => `prices/${topicLevel(series, 'series')}`,
  sensor: (point: string): `sensors/${string}` => `sensors/${topicLevel(point, 'point')}`,
  deviceSensors: (device: string): `devices/${string}/sensors` => `devices/${topicLevel(device, 'device')}/sensors`,
  weatherCurrent: 'weather/current',
  weatherForecast: 'weather/forecast',
  forecastPrices: 'forecast/prices',
  recommendationCurrent: 'recommendation/current',
  recommendationModel: 'recommendation/model',
  modelsStatus: 'models/status',
  plan: 'plan',
  billToday: 'bill/today',
  billMonth: 'bill/month',
  savings: 'savings',
  meter: (name: string): `meters/${string}` => `meters/${topicLevel(name, 'meter')}`,
  lineCommand: (line: string): `lines/${string}/command` => `lines/${topicLevel(line, 'line')}/command`,
  lineState: (line: string): `lines/${string}/state` => `lines/${topicLevel(line, 'line')}/state`,
  lineSet: (line: string) => `lines/${topicLevel(line, 'line')}/set`,
  lineSetWildcard: 'lines/+/set',
  alerts: 'alerts',
  outputsDryRun: 'outputs/dry-run',
  replay: 'replay',
  request: (name: string): `bridge/request/${string}` => `bridge/request/${topicLevels(name, 'request name')}`,
  response: (name: string): `bridge/response/${string}` => `bridge/response/${topicLevels(name, 'request name')}`,
  requestWildcard: 'bridge/request/#',
} as const;

/** Which pattern of the contract a concrete relative topic belongs to. */
export type PayloadFor<T extends string> = T extends `prices/${string}`
  ? Payloads['prices/+']
  : T extends `lines/${string}/command`
    ? Payloads['lines/+/command']
  : T extends `lines/${string}/state`
    ? Payloads['lines/+/state']
  : T extends `sensors/${string}`
    ? Payloads['sensors/+']
  : T extends `devices/${string}/sensors`
    ? Payloads['devices/+/sensors']
  : T extends `meters/${string}`
    ? Payloads['meters/+']
    : T extends `bridge/response/${string}`
    ? Payloads['bridge/response/+']
    : T extends keyof Payloads
      ? Payloads[T]
      : never;
