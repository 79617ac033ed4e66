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
  period: string[];
  /** Outdoor temperature per slot, °C, if known. */
  outdoorC: Array<number | null>;
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
  timeLimitMs: number;
  /**
   * Risk-aware planning (risk.ts), off when absent: the MILP minimises the cost at `priceEurMwh` plus `weight` ×
   * the CVaR at `alpha` of the placed runs' cost over the price `scenarios` (€/MWh per slot each), the mean cost
   * of the worst (1 − alpha) share of the scenarios.
   */
  risk?: { scenarios: number[][]; weight: number; alpha: number };
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
  method: 'milp' | 'greedy';
  status: string;
  runs: PlannedRun[];
  solveMs: number;
  /** Present when the demand cannot be met: which constraint and why. */
  infeasible?: string[];
}
