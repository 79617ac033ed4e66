import type { PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';

const H = 3_600_000;

/** A process for solver tests: one batch a day, uninterrupted, no gap, on its own line. */
export const testProcess = (name: string, kw: number, minutes: number, extra: Partial<ProcessSpec> = {}): ProcessSpec => ({ name, kw, minutes, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: name, ...extra });

/**
 * A solver input on hourly slots from `t0` (UTC ms): the prices (€/MWh) and outdoor temperatures (°C) given, no adders,
 * every slot allowed, 1,000 kW contracted, the processes in the order given; `over` replaces any field.
 */
export function testPlannerInput(t0: number, prices: number[], outdoorC: Array<number | null>, processes: ProcessSpec[], over: Partial<PlannerInput> = {}): PlannerInput {
  return {
    starts: prices.map((_, i) => t0 + i * H),
    resolutionMs: H,
    priceEurMwh: prices,
    priceSource: prices.map(() => 'published'),
    adderEurKwh: prices.map(() => 0),
    period: prices.map(() => 'P3'),
    outdoorC,
    processes,
    order: processes.map((p) => p.name),
    contractedKw: 1000,
    coolingKwPerDegree: 0,
    coolingFromC: 24,
    plantTemp: { baseC: 21, factor: 0.25 },
    haltAtOutdoorC: 35,
    forbidden: prices.map(() => false),
    fixedRuns: [],
    runsToPlace: Object.fromEntries(processes.map((p) => [p.name, p.batchesPerDay])),
    orderCredit: {},
    timeLimitMs: 5000,
    ...over,
  };
}
