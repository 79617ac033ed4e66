import type { Contract } from '../contract/contract.js';

/** One energy-hungry process of the plant: how much power, for how long, how often. */
export interface ProcessSpec {
  name: string;
  kw: number;
  minutes: number;
  /** Runs per local day. */
  batchesPerDay: number;
  /** Must run start to end without a break (conching). Every run is one block either way. */
  uninterrupted: boolean;
  /** Minimum pause between two runs of the same process. */
  minGapMinutes: number;
  /** The process may not run while the plant floor is warmer than this (tempering). */
  maxPlantTempC?: number;
  /** The line that runs it (for commands and Modbus). */
  line: string;
  /** The line controller stopped it until this instant (an override). */
  blockedUntil?: number;
  /**
   * No new run of this process may start (nor run) before this instant, UTC ms: the frozen window and the runs the
   * re-plan keeps (frozen.ts). The kept runs themselves are fixed runs. Not a stop: the plan document's Halt ignores it.
   */
  frozenUntil?: number;
  /**
   * Longest the mass of one batch may wait, after the previous step of the batch order ended, before this process
   * starts it (minutes). Absent: no limit. The first process of the order has no previous step.
   */
  maxWaitMinutes?: number;
  /** kW the tank holding one batch that waits for this process draws (kept warm and stirred). Absent: 0. */
  holdKw?: number;
}

export interface PlannerInput {
  /** Slot starts, UTC ms, consecutive, all of `resolutionMs`. */
  starts: number[];
  resolutionMs: number;
  /** Energy price per slot, €/MWh (published or forecast). */
  priceEurMwh: number[];
  priceSource: Array<'published' | 'forecast'>;
  /** Tariff adder per slot, €/kWh, and its period name. */
  adderEurKwh: number[];
  /**
   * Weight of the market price in the slot's €/kWh (cost.ts unitPrice = marketWeight × €/MWh / 1000 + adder).
   * Absent: 1. A fixed-price contract sets 0 (its price is the adder), see contract-terms.ts.
   */
  marketWeight?: number;
  /** The supply contract's view of the horizon (contract-terms.ts): base load, Pc per period, excess price. Absent: one cap, tariff adders. */
  site?: SiteTerms;
  period: string[];
  /** Outdoor temperature per slot, °C, if known (the point forecast, or the observation: what the cost uses). */
  outdoorC: Array<number | null>;
  /**
   * The chance constraint on the ambient limits (ambient-margin.ts), off when absent: the halt, maxPlantTempC and the
   * cooling kW inside the contracted-power cap are checked at outdoorC + marginC[t]; the cost keeps outdoorC.
   */
  ambientMargin?: AmbientMargin;
  processes: ProcessSpec[];
  /** Batch flow: run k of order[i+1] may start only after run k of order[i] ended. */
  order: string[];
  contractedKw: number;
  coolingKwPerDegree: number;
  coolingFromC: number;
  /** Plant-floor temperature model from outdoor: base + factor × (outdoor − base). */
  plantTemp: { baseC: number; factor: number };
  haltAtOutdoorC: number;
  /** Slots where nothing may run (shift windows, forbidden hours, overrides). */
  forbidden: boolean[];
  /** Runs that must be in the plan as they are (already started, or overridden). */
  fixedRuns: PlannedRun[];
  /** Runs still to place in this horizon, per process (quota minus what already ran or is fixed). */
  runsToPlace: Record<string, number>;
  /**
   * The local days of the horizon as slot ranges [fromSlot, toSlot), each with the runs per process that must start
   * inside it (today: the quota minus what already started; a day the horizon only partly covers: none); a process
   * a day does not name places `runsToPlace` anywhere in the horizon. Absent: every run may start anywhere in the
   * horizon (a one-day horizon, the simulator).
   */
  dayQuotas?: DayQuota[];
  /** Batches already through the predecessor of each process and waiting for it (work in progress). */
  orderCredit: Record<string, number>;
  /**
   * Per process, the slot (index into `starts`, ≤ 0 when before the horizon) at which each credited waiting batch
   * ended its previous step, oldest first; a credited batch not listed waits since slot 0. For the holding limit.
   */
  waitingSince?: Record<string, number[]>;
  /**
   * Per process, per batch id of a fixed run (started, or kept by the frozen window) whose previous step ended
   * before the horizon: the slot (≤ 0) that step ended, so the fixed run's wait is known (holding.ts). Absent: such
   * a fixed run's wait is not reported.
   */
  fixedWaitSince?: Record<string, Record<number, number>>;
  timeLimitMs: number;
  /**
   * The plan in force's runs not started yet, in this horizon's slots (the re-plan's MIP start when they still meet
   * every constraint and do the same work, plan.ts startingPlan). Absent: the greedy plan is the start.
   */
  previousRuns?: PlannedRun[];
  /**
   * Risk-aware planning (risk.ts), off when absent: the MILP minimises the cost at `priceEurMwh` plus `weight` ×
   * the CVaR at `alpha` of the placed runs' cost over the price `scenarios` (€/MWh per slot each), the mean cost
   * of the worst (1 − alpha) share of the scenarios.
   */
  risk?: { scenarios: number[][]; weight: number; alpha: number };
  /**
   * A move budget (move-budget.ts), off when absent: the MILP moves at most `maxMoves` of these batches of the plan
   * in force and keeps the others at their slots and positions.
   */
  moveBudget?: MoveBudget;
}

/** A batch of the plan in force with steps not started: each step's process, start slot (in the input's slots) and position among that process's runs to place (0-based). */
export interface BudgetBatch {
  batch: number;
  steps: Array<{ process: string; startSlot: number; index: number }>;
}

/** The budget: the batches of the plan in force and how many of them the re-plan may move. */
export interface MoveBudget {
  batches: BudgetBatch[];
  maxMoves: number;
}

/** z ≥ 0 and σ ≥ 0 as the config gives them (planner.ambientRisk), with ρ (planner.weatherErrorDecay). */
export interface AmbientRisk {
  /** Standard-normal quantile: a slot meets its limit with probability Φ(z) under a Gaussian forecast error. */
  z: number;
  /** Stationary spread of the temperature forecast's error, °C. */
  sigmaC: number;
  /** Lag-1 autocorrelation of the hourly error (planner.weatherErrorDecay). */
  rho: number;
  /**
   * The priced risk (ambient-margin.ts startRiskEur): € the plant loses when a run meets an ambient limit the
   * forecast did not show (planner.ambientRisk.stakeEur). Absent or 0: no priced risk.
   */
  stakeEur?: number;
  /** Where σ comes from, in words: measured on this box (gateway/weather/forecast-skill.ts) or configured, and why. */
  sigmaFrom?: string;
}

/** The margin added to the temperature forecast for the ambient limits (ambient-margin.ts): the risk and what it gives per slot. */
export interface AmbientMargin extends AmbientRisk {
  /** UTC ms of the last observed hour the forecast is anchored on; absent: none (full σ everywhere). */
  anchorAt?: number;
  /** °C per slot (0 on observed slots), z × σ × √(1 − ρ^(2 × lead h)). */
  marginC: number[];
  /** σ(lead) per slot (°C, 0 on observed slots), with a stake: the priced risk's spread. */
  spreadC?: number[];
  /** Why the margin was set to 0 for this horizon (it alone left a process no feasible placement), one sentence. */
  relaxed?: string;
}

export interface DayQuota {
  /** Local date, YYYY-MM-DD. */
  day: string;
  fromSlot: number;
  toSlot: number;
  /** Runs that must start on this day, per named process. */
  runs: Record<string, number>;
  /** The runs are at most these (today, relaxed while the plan looks for what still fits), not exactly. */
  atMost?: boolean;
}

export interface PlannedRun {
  process: string;
  batch: number;
  /** Slot index of the first slot. */
  startSlot: number;
  slots: number;
}

export interface SolveResult {
  /**
   * `milp-time-limit`: HiGHS's best incumbent when its time limit stopped it (see `mipGap`); `previous-plan`: the
   * plan in force (its runs not started), when HiGHS stopped before holding any solution and it is cheaper than
   * the greedy plan.
   */
  method: 'milp' | 'milp-time-limit' | 'previous-plan' | 'greedy';
  status: string;
  /** With `milp-time-limit`: HiGHS's relative gap between that incumbent and its dual bound (0.02 = 2 %). */
  mipGap?: number;
  /** The solver began from a given schedule (the plan in force or the greedy plan, as a MIP start). */
  warmStart?: boolean;
  runs: PlannedRun[];
  solveMs: number;
  /** Present when the demand cannot be met: which constraint and why. */
  infeasible?: string[];
}

/** One quarter-hour of the horizon as the contract sees it. */
export interface SiteQuarterHour {
  /** UTC ms */
  start: number;
  /** Index of the planner slot holding it. */
  slot: number;
  /** Forecast unplanned load, kW (average over the quarter-hour). */
  baseKw: number;
  /** Power period 1..6 (2.0TD: 1..2). */
  period: number;
  /** Contracted power of that period, kW. */
  contractedKw: number;
  /** Kp × tep of that period, € per kW of excess (0 for 2.0TD: no quarter-hour excess term). */
  eurPerKw: number;
  /** The excess group: local month and power period, e.g. "2025-01:P1" (the formula's square root is per group). */
  group: string;
}

/** The supply contract's view of the horizon (built by contract-terms.ts withContract). */
export interface SiteTerms {
  contract: Contract;
  quarterHours: SiteQuarterHour[];
  /** Σ (Pd − Pc)² (kW²) each group already holds from measured quarter-hours; a group not named: 0. */
  s0Kw2: Record<string, number>;
  /** Breakpoints (kW of excess) of the piecewise-linear bound in the MILP. */
  breakpointsKw: number[];
  /** Where the base load comes from, for the plan document ("forecast.site.base_load", a profile, none). */
  baseSource: string;
  /** The MILP's first phase: each period's contracted power as a hard limit (no excess variables). */
  hard?: boolean;
}

