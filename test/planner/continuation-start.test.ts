import { describe, expect, it } from 'vitest';
import { continuationStart } from '../../plugins/planner/interruptions.js';
import type { PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';

// The restarted step of a run a line stop cut: the earliest start that meets every hard limit a placed run meets,
// not merely the stop's end (plugins/planner/interruptions.ts). Hand-made inputs, one limit at a time.
const H = 3_600_000;
const T0 = Date.parse('2025-06-02T00:00:00Z');
const proc = (name: string, kw: number, extra: Partial<ProcessSpec> = {}): ProcessSpec => ({ name, kw, minutes: 120, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: name, ...extra });

function input(over: Partial<PlannerInput> = {}): PlannerInput {
  const n = 12;
  const processes = over.processes ?? [proc('conching', 48), proc('refining', 42), proc('tempering', 36, { maxPlantTempC: 24 })];
  return {
    starts: Array.from({ length: n }, (_, i) => T0 + i * H),
    resolutionMs: H,
    priceEurMwh: new Array(n).fill(50),
    priceSource: new Array(n).fill('published'),
    adderEurKwh: new Array(n).fill(0),
    period: new Array(n).fill('P3'),
    outdoorC: new Array(n).fill(null),
    processes,
    order: processes.map((p) => p.name),
    contractedKw: 100,
    coolingKwPerDegree: 0,
    coolingFromC: 24,
    plantTemp: { baseC: 21, factor: 0.25 },
    haltAtOutdoorC: 35,
    forbidden: new Array(n).fill(false),
    fixedRuns: [],
    runsToPlace: {},
    orderCredit: {},
    timeLimitMs: 0,
    ...over,
  };
}

describe('continuationStart', () => {
  it('is the earliest start when nothing is in the way', () => {
    expect(continuationStart(input(), 'conching', 2, 3, [])).toBe(2);
  });

  it('skips forbidden slots (the whole run must fit between them)', () => {
    const forbidden = new Array(12).fill(false);
    forbidden[3] = true;
    expect(continuationStart(input({ forbidden }), 'conching', 2, 3, [])).toBe(4);
  });

  it('skips the outdoor halt and the floor limit of the process', () => {
    const outdoorC = new Array<number | null>(12).fill(20);
    outdoorC[2] = 35;
    expect(continuationStart(input({ outdoorC }), 'conching', 2, 2, [])).toBe(3);
    // Tempering: the floor at 21 + 0.25 × (outdoor − 21) must stay at or below 24 °C: outdoor 34 → 24.25 °C.
    const warm = new Array<number | null>(12).fill(20);
    warm[4] = 34;
    warm[5] = 34;
    expect(continuationStart(input({ outdoorC: warm }), 'tempering', 3, 2, [])).toBe(6);
  });

  it('keeps the contracted power with the other fixed runs, cooling included, and the line free', () => {
    // Refining (42 kW) and another 42 kW run fixed in slots 2-4: 48 + 84 > 100 kW there.
    const others = [
      { process: 'refining', batch: 1, startSlot: 2, slots: 3 },
      { process: 'tempering', batch: 1, startSlot: 0, slots: 1 },
    ];
    const heavy = input({ processes: [proc('conching', 48), proc('refining', 42), proc('tempering', 60)] });
    expect(continuationStart(heavy, 'conching', 1, 2, [{ process: 'refining', batch: 1, startSlot: 2, slots: 3 }, { process: 'tempering', batch: 2, startSlot: 2, slots: 3 }])).toBe(5);
    expect(continuationStart(input(), 'conching', 1, 2, others)).toBe(1);
    // Cooling: 10 kW per degree above 24 °C at 30 °C adds 60 kW per running process: 108 + 102 > 200 kW.
    const hot = input({ contractedKw: 200, coolingKwPerDegree: 10, outdoorC: new Array(12).fill(30) });
    expect(continuationStart(hot, 'conching', 1, 2, [{ process: 'refining', batch: 1, startSlot: 1, slots: 4 }])).toBe(5);
    // Another run of the same line (a kept conche) is not overlapped.
    expect(continuationStart(input(), 'conching', 1, 2, [{ process: 'conching', batch: 9, startSlot: 2, slots: 2 }])).toBe(4);
  });

  it('with a supply contract, prefers a start within each quarter-hour\'s contracted power over the base load; else the earliest under the cap', () => {
    const site = (baseKw: (slot: number) => number) => ({ quarterHours: Array.from({ length: 12 }, (_, slot) => ({ start: T0 + slot * H, slot, baseKw: baseKw(slot), period: 3, contractedKw: 100, eurPerKw: 1, group: '2025-06:P3' })) }) as unknown as PlannerInput['site'];
    // Base 60 kW in slots 1-3: 48 kW more would pass 100 kW there (an excess); from slot 4 it fits.
    expect(continuationStart(input({ site: site((t) => (t >= 1 && t <= 3 ? 60 : 20)) }), 'conching', 1, 2, [])).toBe(4);
    // Base 60 kW everywhere: no start avoids an excess; the earliest under the planner's cap is taken (an excess is priced).
    expect(continuationStart(input({ site: site(() => 60) }), 'conching', 1, 2, [])).toBe(1);
  });

  it('null when no start in the horizon meets them', () => {
    expect(continuationStart(input({ outdoorC: new Array(12).fill(36) }), 'conching', 0, 2, [])).toBeNull();
    expect(continuationStart(input(), 'conching', 11, 2, [])).toBeNull();
  });
});
