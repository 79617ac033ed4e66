import { blockedSlots, coolingKw, slotCost } from './cost.js';
import { allowedStarts, numberBatches, runSlots } from './milp.js';
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
 * (or, with `earliest`, the first start) that respects power, blocked slots, machine occupancy, order and the
 * local day each run belongs to.
 */
export function solveGreedy(input: PlannerInput, options: { earliest?: boolean } = {}): SolveResult {
  const started = performance.now();
  const T = input.starts.length;
  const power = new Array<number>(T).fill(0);
  const busy = new Map<string, boolean[]>(input.processes.map((p) => [p.name, new Array<boolean>(T).fill(false)]));
  const occupy = (process: string, start: number, L: number) => {
    const p = input.processes.find((x) => x.name === process)!;
    const gap = Math.ceil((p.minGapMinutes * 60_000) / input.resolutionMs);
    for (let t = Math.max(0, start - gap); t < Math.min(T, start + L + gap); t++) busy.get(process)![t] = true;
    for (let t = Math.max(0, start); t < Math.min(T, start + L); t++) power[t]! += p.kw + coolingKw(input, t);
  };
  for (const r of input.fixedRuns) occupy(r.process, r.startSlot, r.slots);
  const runs: PlannedRun[] = [];
  const infeasible: string[] = [];
  const remaining = { ...input.runsToPlace };
  const ends: Record<string, number[]> = Object.fromEntries(input.processes.map((p) => [p.name, input.fixedRuns.filter((r) => r.process === p.name).map((r) => r.startSlot + r.slots)]));
  const chain = [...input.order, ...input.processes.map((p) => p.name).filter((n) => !input.order.includes(n))];
  const tail = (i: number) => chain.slice(i + 1).reduce((s, n) => s + (remaining[n] ? runSlots(input, n) : 0), 0);
  // The latest start of the next run of `name` that leaves its own later runs of the same day room to start in it.
  const lastStartOfNext = (name: string): number => {
    const L = runSlots(input, name);
    const placed = input.runsToPlace[name]! - remaining[name]!;
    const day = dayOfNextRun(input, name, placed);
    if (!day) return T - L;
    const gap = Math.ceil((input.processes.find((x) => x.name === name)!.minGapMinutes * 60_000) / input.resolutionMs);
    const laterSameDay = input.dayQuotas!.slice(0, input.dayQuotas!.indexOf(day) + 1).reduce((s, d) => s + (d.runs[name] ?? 0), 0) - placed - 1;
    return Math.min(day.toSlot - 1, T - L) - laterSameDay * (L + gap);
  };
  // ... and leaves the next runs of its successors in the order room to start inside their days too.
  const latestStart = (i: number, L: number) => {
    let latest = Math.min(T - L - tail(i), lastStartOfNext(chain[i]!));
    let between = 0;
    const successors = input.order.includes(chain[i]!) ? input.order.slice(input.order.indexOf(chain[i]!) + 1) : [];
    for (const n of successors) {
      if (!remaining[n]) continue;
      latest = Math.min(latest, lastStartOfNext(n) - between - L);
      between += runSlots(input, n);
    }
    return latest;
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
      let best: { t: number; cost: number } | undefined;
      for (const t of allowedStarts(input, name)) {
        if (t < earliest || t > latestStart(i, L) || (day && (t < day.fromSlot || t >= day.toSlot))) continue;
        let ok = true;
        let cost = 0;
        for (let u = t; u < t + L && ok; u++) {
          if (blocked[u] || busy.get(name)![u] || power[u]! + p.kw + coolingKw(input, u) > input.contractedKw + 1e-9) ok = false;
          else cost += slotCost(input, name, u).eur;
        }
        if (!ok) continue;
        if (!best || (options.earliest ? false : cost < best.cost - 1e-9)) best = { t, cost };
        if (options.earliest) break;
      }
      if (!best) return;
      occupy(name, best.t, L);
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
  return { method: 'greedy', status: infeasible.length ? 'Infeasible' : 'Feasible', runs: numberBatches(input, runs), solveMs: performance.now() - started, ...(infeasible.length ? { infeasible } : {}) };
}
