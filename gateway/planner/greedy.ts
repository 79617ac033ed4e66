import { addedExcessEur, siteRoomKw } from './contract-terms.js';
import { startRiskEur } from './ambient-risk.js';
import { blockedSlots, coolingCapKw, slotCost } from './cost.js';
import { holdEurPerSlot, holdLimitSlots } from './holding.js';
import { allowedStarts, gapSlots, numberBatches, processChain, runSlots } from './milp.js';
import { SlotLoad } from './slot-fit.js';
import type { DayQuota, PlannedRun, PlannerInput, SolveResult } from './types.js';

/** The local day the `placed`-th run (0-based, in placing order) of `process` must start in, when days have quotas. */
function dayOfNextRun(input: PlannerInput, process: string, placed: number): DayQuota | undefined {
  let before = 0;
  for (const day of input.dayQuotas ?? []) {
    before += day.runs[process] ?? 0;
    if (placed < before) return day;
  }
  return undefined;
}

/**
 * A feasible plan without a solver: batch by batch along the process order, each run at the cheapest start
 * (or, with `earliest`, the first start) that respects power, blocked slots, machine occupancy, order, the local
 * day each run belongs to, and the room the runs still to place need after it.
 */
export function solveGreedy(input: PlannerInput, options: { earliest?: boolean; allowExcess?: boolean } = {}): SolveResult {
  const started = performance.now();
  // With a contract, each quarter-hour's base + planned load stays within its period's contracted power; only when
  // that places not every run does a second pass allow an excess, priced (contract-terms.ts addedExcessEur).
  const room = options.allowExcess ? undefined : siteRoomKw(input);
  const T = input.starts.length;
  // The power and the lines the runs take (the fixed ones first): slot-fit.ts, the same check a line stop's restarted run uses.
  const load = new SlotLoad(input, input.fixedRuns);
  const runs: PlannedRun[] = [];
  const infeasible: string[] = [];
  const remaining = { ...input.runsToPlace };
  const ends: Record<string, number[]> = Object.fromEntries(input.processes.map((p) => [p.name, input.fixedRuns.filter((r) => r.process === p.name).map((r) => r.startSlot + r.slots)]));
  const chain = processChain(input);
  // Latest starts, by a backward pass over the runs still to place: each run must start in its day and leave room
  // for the process's later runs and for its batch's later steps (the j-th remaining run of a process feeds the
  // j-th remaining run of the next one in the order).
  const latestStart = (i: number): number => {
    const latest = new Map<string, number[]>();
    for (const name of [...chain].reverse()) {
      const L = runSlots(input, name);
      const gap = gapSlots(input, name);
      const placed = input.runsToPlace[name]! - remaining[name]!;
      const next = input.order.includes(name) ? input.order[input.order.indexOf(name) + 1] : undefined;
      const after = next ? latest.get(next) : undefined;
      const own: number[] = new Array<number>(remaining[name]!).fill(0);
      for (let j = own.length - 1; j >= 0; j--) {
        const day = dayOfNextRun(input, name, placed + j);
        let t = day ? Math.min(day.toSlot - 1, T - L) : T - L;
        if (j + 1 < own.length) t = Math.min(t, own[j + 1]! - L - gap);
        if (after && j < after.length) t = Math.min(t, after[j]! - L);
        own[j] = t;
      }
      latest.set(name, own);
    }
    return latest.get(chain[i]!)![0]!;
  };
  for (let k = 0; chain.some((n) => (remaining[n] ?? 0) > 0); k++) {
    let progressed = false;
    chain.forEach((name, i) => {
      if (!(remaining[name]! > 0)) return;
      const L = runSlots(input, name);
      const p = input.processes.find((x) => x.name === name)!;
      const pred = i > 0 && input.order.includes(name) ? chain[i - 1]! : undefined;
      const credit = input.orderCredit[name] ?? 0;
      const doneHere = (ends[name] ?? []).length;
      const predEnds = pred ? (ends[pred] ?? []).sort((a, b) => a - b) : [];
      const needIndex = doneHere - credit;
      if (pred && needIndex >= 0 && predEnds[needIndex] === undefined) return;
      const earliest = pred && needIndex >= 0 ? predEnds[needIndex]! : 0;
      const blocked = blockedSlots(input, name);
      const day = dayOfNextRun(input, name, input.runsToPlace[name]! - remaining[name]!);
      // Holding: the batch waits since its previous step ended (a credited one since before the horizon); it may
      // wait up to the limit, and the tank's energy in the meantime is part of the start's cost.
      const fixedHere = input.fixedRuns.filter((r) => r.process === name).length;
      const since = pred && needIndex >= 0 ? predEnds[needIndex]! : pred ? (input.waitingSince?.[name]?.[doneHere - fixedHere] ?? 0) : undefined;
      const limit = holdLimitSlots(input, name);
      const deadline = since !== undefined && limit !== undefined ? since + limit : Infinity;
      const hold = since !== undefined ? holdEurPerSlot(input, name) : undefined;
      // A start whose batch then finds no start for its next step within that step's limit is a last resort.
      const succ = input.order.includes(name) ? input.order[input.order.indexOf(name) + 1] : undefined;
      const succLimit = succ && (input.runsToPlace[succ] ?? 0) > 0 ? holdLimitSlots(input, succ) : undefined;
      const succStarts = succLimit !== undefined ? allowedStarts(input, succ!) : [];
      const succFits = (end: number) => succLimit === undefined || end >= T || succStarts.some((s) => s >= end && s <= end + succLimit);
      let best: { t: number; cost: number; tier: number } | undefined;
      const latest = latestStart(i);
      for (const t of allowedStarts(input, name)) {
        if (t < earliest || t > latest || (day && (t < day.fromSlot || t >= day.toSlot))) continue;
        if (!load.fits(name, t, L, blocked, room)) continue;
        let cost = 0;
        for (let u = t; u < t + L; u++) cost += slotCost(input, name, u).eur + (options.allowExcess ? addedExcessEur(input, u, load.powerKw[u]!, p.kw + coolingCapKw(input, u)) : 0);
        cost += startRiskEur(input, name, t, L);
        if (hold) for (let u = Math.max(0, since!); u < t; u++) cost += hold[u]!;
        const tier = (t > deadline ? 2 : 0) + (succFits(t + L) ? 0 : 1);
        // Past the holding limit, the sooner the better; otherwise the cheapest (or, with `earliest`, the first).
        if (!best || tier < best.tier || (tier === best.tier && tier < 2 && !options.earliest && cost < best.cost - 1e-9)) best = { t, cost, tier };
        if (options.earliest && tier === 0) break;
      }
      if (!best) return;
      load.add(name, best.t, L);
      runs.push({ process: name, batch: 0, startSlot: best.t, slots: L });
      (ends[name] ??= []).push(best.t + L);
      remaining[name]!--;
      progressed = true;
    });
    if (!progressed) {
      for (const name of chain) if (remaining[name]! > 0) infeasible.push(`${name}: ${remaining[name]} of ${input.runsToPlace[name]} runs found no feasible slot (power, windows, order or ambient limits)`);
      break;
    }
    if (k > 1000) break;
  }
  if (infeasible.length && room) return solveGreedy(input, { ...options, allowExcess: true });
  return { method: 'greedy', status: infeasible.length ? 'Infeasible' : 'Feasible', runs: numberBatches(input, runs), solveMs: performance.now() - started, ...(infeasible.length ? { infeasible } : {}) };
}
