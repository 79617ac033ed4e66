/**
 * `npm run bench -- --planner` (and part of the full bench): issue #24's planner figures on the bench instances
 * (test/bench/planner-cases.ts), each with its anchor, and the load average while it ran.
 * - the MILP as the gateway runs it (`planSchedule`: greedy + local search as the MIP start, HiGHS, checks), wall
 *   and CPU time after one untimed warm-up plan (CPU of this process: HiGHS is single-threaded WebAssembly, so CPU is what the box's load does not
 *   inflate), how many stopped at the time limit;
 * - HiGHS's best incumbent when a short time limit stops it (`milp-time-limit`), its cost gap to the optimum;
 * - the greedy fallback (no solver: greedy + local search), its cost gap to the optimum;
 * all priced by `totalCost` (runs + holding, and the exact excess term under a contract).
 */
import { totalCost } from '../../gateway/planner/holding.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannerInput } from '../../gateway/planner/types.js';
import { loadavg } from './anchors.js';
import { plannerCase, underContract } from './planner-cases.js';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

export interface PlannerFigures {
  label: string;
  instances: number;
  wallP50: number;
  wallP99: number;
  cpuP50: number;
  cpuP99: number;
  timeLimited: number;
  incumbentLimitMs: number;
  incumbentGapP50: number;
  incumbentGapMax: number;
  incumbentFound: number;
  greedyGapP50: number;
  greedyGapMax: number;
  greedyMsP50: number;
  load: string;
}

export async function plannerBench(contract: boolean, options: { instances?: number; incumbentLimitMs?: number } = {}): Promise<PlannerFigures> {
  const instances = options.instances ?? Number(process.env.BENCH_PLANNER_INSTANCES ?? 10);
  const limitMs = options.incumbentLimitMs ?? (contract ? 300 : 100);
  const wall: number[] = [];
  const cpu: number[] = [];
  const incumbentGap: number[] = [];
  const greedyGap: number[] = [];
  const greedyMs: number[] = [];
  let timeLimited = 0;
  let incumbentFound = 0;
  // HiGHS's WebAssembly is compiled once per process, on the first plan: not counted (the gateway pays it once).
  await planSchedule(contract ? underContract(plannerCase(instances)) : plannerCase(instances));
  const loads = [loadavg()];
  for (let day = 0; day < instances; day++) {
    const base = plannerCase(day);
    const input: PlannerInput = contract ? underContract(base) : base;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const m = await planSchedule(input);
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
    if (m.method !== 'milp') timeLimited++;
    const optimum = m.costEur;
    const short = await planSchedule({ ...input, timeLimitMs: limitMs });
    if (short.method === 'milp-time-limit') incumbentFound++;
    incumbentGap.push((totalCost(input, short.runs).eur / optimum - 1) * 100);
    const g0 = performance.now();
    const g = await planSchedule({ ...input, timeLimitMs: 0 });
    greedyMs.push(performance.now() - g0);
    if (!g.infeasible) greedyGap.push((totalCost(input, g.runs).eur / optimum - 1) * 100);
  }
  loads.push(loadavg());
  return {
    label: contract ? 'under a 3.0TD contract with base load (Pc per period, excess term)' : 'without a contract',
    instances,
    wallP50: pct(wall, 50),
    wallP99: pct(wall, 99),
    cpuP50: pct(cpu, 50),
    cpuP99: pct(cpu, 99),
    timeLimited,
    incumbentLimitMs: limitMs,
    incumbentGapP50: pct(incumbentGap, 50),
    incumbentGapMax: Math.max(...incumbentGap),
    incumbentFound,
    greedyGapP50: pct(greedyGap, 50),
    greedyGapMax: Math.max(...greedyGap),
    greedyMsP50: pct(greedyMs, 50),
    load: `${loads[0]} → ${loads[1]}`,
  };
}

/** The figures as the bench prints them, and the rows of issue 24's table. */
export function plannerReport(f: PlannerFigures): { lines: string[]; rows: Array<[string, string, string]> } {
  const lines = [
    `plan 48 h × 15 min × 4 processes (2 batches entering the line each local day: 4 runs per process) ${f.label}, MILP on HiGHS WASM as the gateway runs it, ${f.instances} instances: wall p50 ${ms(f.wallP50)} p99 ${ms(f.wallP99)}, CPU p50 ${ms(f.cpuP50)} p99 ${ms(f.cpuP99)}; stopped by a time limit (30 s, or the contract's second phase's share, milp.ts) ${f.timeLimited} of ${f.instances}; load ${f.load}`,
    `  HiGHS's best incumbent at a ${f.incumbentLimitMs} ms time limit: found on ${f.incumbentFound} of ${f.instances}, cost gap to the optimum p50 ${f.incumbentGapP50.toFixed(1)} %, max ${f.incumbentGapMax.toFixed(1)} %`,
    `  greedy fallback (no solver: greedy + local search): p50 ${ms(f.greedyMsP50)}; cost gap to the optimum p50 ${f.greedyGapP50.toFixed(1)} %, max ${f.greedyGapMax.toFixed(1)} % (anchor: the incumbent above)`,
  ];
  const rows: Array<[string, string, string]> = [
    [`plan 48 h × 15 min × 4 processes, MILP, ${f.label}`, `wall p50 ${ms(f.wallP50)}, p99 ${ms(f.wallP99)} (CPU p50 ${ms(f.cpuP50)}, p99 ${ms(f.cpuP99)}); ${f.timeLimited}/${f.instances} stopped by the limit; load ${f.load}`, 'target p99 ≤ 1 s, same optimum (test/planner/solver-speed.test.ts)'],
    [`greedy fallback, cost gap to the MILP optimum, ${f.label}`, `p50 ${f.greedyGapP50.toFixed(1)} %, max ${f.greedyGapMax.toFixed(1)} %`, `HiGHS's best incumbent at ${f.incumbentLimitMs} ms: p50 ${f.incumbentGapP50.toFixed(1)} %, max ${f.incumbentGapMax.toFixed(1)} % (found ${f.incumbentFound}/${f.instances})`],
  ];
  return { lines, rows };
}
