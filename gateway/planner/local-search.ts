import { siteExcess } from './contract-terms.js';
import { runsRiskEur, startRiskEur } from './ambient-risk.js';
import { coolingCapKw, slotCost, violations } from './cost.js';
import { heldIntervals, holdSuffixEur, holdLimitSlots, holdingBreaches, totalCost } from './holding.js';
import { allowedStarts, gapSlots, numberBatches, runSlots } from './milp.js';
import type { PlannedRun, PlannerInput } from './types.js';

/**
 * Local search on a feasible schedule (the greedy fallback's, issue #24): repeatedly take the best of
 * - moving one planned run to another start of its process, and
 * - moving one whole batch (a run and the runs of the same batch in the later steps of the order) by the same shift,
 * that keeps every constraint (allowed starts, machine pauses, the power cap, each day's quota, batch order) and
 * adds no wait beyond a holding limit, until no move makes the plan cheaper (or `maxPasses`).
 *
 * A run's cost is linear in its start, as in the MILP's objective (milp.ts buildLp): its energy plus the holding it
 * causes (a run of a step ending at e holds its batch for the next step from e to the horizon's end; a run of the
 * next step starting at u takes that back from u). With a contract the excess-power term is not linear: a move
 * that saves energy is kept only if the exact total (`totalCost`, the bill's excess formula) falls too.
 * Returns the improved runs (numbered like the solvers number them), or `runs` when nothing improves or the input
 * is not a feasible schedule to start from.
 */
export function improveLocally(input: PlannerInput, runs: readonly PlannedRun[], options: { maxPasses?: number } = {}): PlannedRun[] {
  if (!runs.length || violations(input, runs).length) return [...runs];
  const T = input.starts.length;
  const names = input.processes.map((p) => p.name);
  const gap = new Map(names.map((n) => [n, gapSlots(input, n)]));
  const allowed = new Map(names.map((n) => [n, new Set(input.runsToPlace[n] ? allowedStarts(input, n) : [])]));
  const kwAt = new Map(input.processes.map((p) => [p.name, input.starts.map((_, t) => p.kw + coolingCapKw(input, t))]));
  const cost = startCosts(input);
  const fixedKw = new Array<number>(T).fill(0);
  for (const r of input.fixedRuns) for (let t = Math.max(0, r.startSlot); t < Math.min(T, r.startSlot + r.slots); t++) fixedKw[t]! += kwAt.get(r.process)![t]!;
  const limit = new Map(names.map((n) => [n, holdLimitSlots(input, n)]));
  const dayOf = (t: number) => (input.dayQuotas ?? []).findIndex((d) => t >= d.fromSlot && t < d.toSlot);

  /** Breach slots (Σ wait beyond the limit) of a schedule that keeps every hard constraint, or undefined if it breaks one. */
  const check = (plan: PlannedRun[]): number | undefined => {
    const power = [...fixedKw];
    for (const r of plan) {
      if (!allowed.get(r.process)!.has(r.startSlot)) return undefined;
      const kw = kwAt.get(r.process)!;
      for (let t = r.startSlot; t < r.startSlot + r.slots; t++) if ((power[t]! += kw[t]!) > input.contractedKw + 1e-9) return undefined;
    }
    const byProcess = new Map<string, PlannedRun[]>();
    for (const r of [...input.fixedRuns, ...plan]) (byProcess.get(r.process) ?? byProcess.set(r.process, []).get(r.process)!).push(r);
    for (const list of byProcess.values()) list.sort((a, b) => a.startSlot - b.startSlot);
    for (const [p, list] of byProcess) for (let i = 1; i < list.length; i++) if (list[i]!.startSlot < list[i - 1]!.startSlot + list[i - 1]!.slots + gap.get(p)!) return undefined;
    for (const day of input.dayQuotas ?? []) for (const [p, quota] of Object.entries(day.runs)) {
      const n = plan.filter((r) => r.process === p && dayOf(r.startSlot) === input.dayQuotas!.indexOf(day)).length;
      if (day.atMost ? n > quota : n !== quota) return undefined;
    }
    let breach = 0;
    for (let i = 1; i < input.order.length; i++) {
      const a = byProcess.get(input.order[i - 1]!) ?? [];
      const b = byProcess.get(input.order[i]!) ?? [];
      const credit = input.orderCredit[input.order[i]!] ?? 0;
      const W = limit.get(input.order[i]!);
      for (let k = credit; k < b.length; k++) {
        if (input.fixedRuns.includes(b[k]!)) continue;
        const pred = a[k - credit];
        if (!pred) return undefined;
        const end = pred.startSlot + pred.slots;
        if (b[k]!.startSlot < end) return undefined;
        if (W !== undefined) breach += Math.max(0, b[k]!.startSlot - end - W);
      }
    }
    return breach;
  };
  const linear = (plan: PlannedRun[]) => plan.reduce((s, r) => s + cost.get(r.process)![r.startSlot]!, 0);
  const exact = (plan: PlannedRun[]) => (input.site ? linear(plan) + siteExcess(input, plan).exactEur : linear(plan));

  let plan = runs.map((r) => ({ ...r }));
  let breach = check(plan);
  if (breach === undefined) return [...runs];
  let value = exact(plan);
  /** The batch chain of planned run i: it and the runs of its batch in the later steps (the order's pairing). */
  const chainOf = (current: PlannedRun[], i: number): number[] => {
    const all = [...input.fixedRuns, ...current];
    const sorted = (p: string) => all.filter((r) => r.process === p).sort((a, b) => a.startSlot - b.startSlot);
    const out = [i];
    let run = current[i]!;
    for (let j = input.order.indexOf(run.process); j >= 0 && j + 1 < input.order.length; j++) {
      const k = sorted(input.order[j]!).indexOf(run) + (input.orderCredit[input.order[j + 1]!] ?? 0);
      const next = sorted(input.order[j + 1]!)[k];
      const at = next ? current.indexOf(next) : -1;
      if (at < 0) break;
      out.push(at);
      run = next!;
    }
    return out;
  };
  for (let pass = 0; pass < (options.maxPasses ?? 50); pass++) {
    let best: { plan: PlannedRun[]; value: number; linear: number; breach: number } | undefined;
    const currentLinear = linear(plan);
    // Quick rejection before the full check: the moved runs' new slots against the power cap and against the other
    // runs of their process (machine and pause), given this pass's schedule.
    const power = [...fixedKw];
    for (const r of plan) for (let t = r.startSlot; t < r.startSlot + r.slots; t++) power[t]! += kwAt.get(r.process)![t]!;
    const others = [...input.fixedRuns, ...plan];
    // Per planned run, with every other run where it is: the starts its process's neighbours leave it, and its
    // batch's previous step (end) and next step (start), which keep their pairing while the run keeps its rank.
    const sorted = new Map(names.map((n) => [n, others.filter((r) => r.process === n).sort((a, b) => a.startSlot - b.startSlot)]));
    const near = plan.map((r) => {
      const list = sorted.get(r.process)!;
      const k = list.indexOf(r);
      const g = gap.get(r.process)!;
      const at = input.order.indexOf(r.process);
      const pred = at > 0 ? sorted.get(input.order[at - 1]!)![k - (input.orderCredit[r.process] ?? 0)] : undefined;
      const next = at >= 0 && at + 1 < input.order.length ? input.order[at + 1]! : undefined;
      const succ = next ? sorted.get(next)![k + (input.orderCredit[next] ?? 0)] : undefined;
      return { lo: k > 0 ? list[k - 1]!.startSlot + list[k - 1]!.slots + g : 0, hi: k + 1 < list.length ? list[k + 1]!.startSlot - r.slots - g : T - r.slots, pred, succ, limit: limit.get(r.process), succLimit: next ? limit.get(next) : undefined };
    });
    const fits = (moved: number[], d: (j: number) => number): boolean => {
      for (const j of moved) {
        const r = plan[j]!;
        const u = d(j);
        const n = near[j]!;
        // Past a neighbour of its process the run changes rank (and the batches their pairing): the full check decides.
        if (u < n.lo || u > n.hi) continue;
        if (n.pred && !moved.some((m) => plan[m] === n.pred)) {
          const end = n.pred.startSlot + n.pred.slots;
          if (u < end || (n.limit !== undefined && u - end > Math.max(n.limit, r.startSlot - end))) return false;
        }
        if (n.succ && !moved.some((m) => plan[m] === n.succ)) {
          if (u + r.slots > n.succ.startSlot || (n.succLimit !== undefined && n.succ.startSlot - u - r.slots > Math.max(n.succLimit, n.succ.startSlot - r.startSlot - r.slots))) return false;
        }
      }
      const p2 = new Map<number, number>();
      for (const j of moved) {
        const r = plan[j]!;
        const kw = kwAt.get(r.process)!;
        for (let t = r.startSlot; t < r.startSlot + r.slots; t++) p2.set(t, (p2.get(t) ?? power[t]!) - kw[t]!);
      }
      for (const j of moved) {
        const r = plan[j]!;
        const u = d(j);
        const kw = kwAt.get(r.process)!;
        for (let t = u; t < u + r.slots; t++) {
          const v = (p2.get(t) ?? power[t]!) + kw[t]!;
          if (v > input.contractedKw + 1e-9) return false;
          p2.set(t, v);
        }
        const g = gap.get(r.process)!;
        for (const o of others) if (o.process === r.process && o !== r && !moved.some((m) => plan[m] === o) && u < o.startSlot + o.slots + g && o.startSlot < u + r.slots + g) return false;
      }
      return true;
    };
    // The linear part first, from the moved runs alone (cheap): only a candidate that gains more of it than the best
    // so far goes on to the constraints and, with a contract, to the exact excess, which must not eat the gain.
    const consider = (delta: number, moved: number[], d: (j: number) => number) => {
      const lin = currentLinear + delta;
      if (lin >= (best?.linear ?? currentLinear) - 1e-9) return;
      if (!fits(moved, d)) return;
      const candidate = plan.map((x, j) => (moved.includes(j) ? { ...x, startSlot: d(j) } : x));
      const b = check(candidate);
      if (b === undefined || b > breach!) return;
      const v = input.site ? lin + siteExcess(input, candidate).exactEur : lin;
      if (v < value - 1e-9) best = { plan: candidate, value: v, linear: lin, breach: b };
    };
    plan.forEach((r, i) => {
      const own = cost.get(r.process)!;
      for (const u of allowed.get(r.process)!) if (u !== r.startSlot) consider(own[u]! - own[r.startSlot]!, [i], () => u);
      const chain = chainOf(plan, i);
      if (chain.length > 1) for (let d = -T; d <= T; d++) {
        if (!d) continue;
        let delta = 0;
        for (const j of chain) {
          const x = plan[j]!;
          if (!allowed.get(x.process)!.has(x.startSlot + d)) {
            delta = NaN;
            break;
          }
          delta += cost.get(x.process)![x.startSlot + d]! - cost.get(x.process)![x.startSlot]!;
        }
        if (!Number.isNaN(delta)) consider(delta, chain, (j) => plan[j]!.startSlot + d);
      }
    });
    if (!best) break;
    ({ plan, value, breach } = best);
  }
  const out = numberBatches(input, plan);
  // The result must meet every constraint and cost less by the one cost function the planner reports.
  if (violations(input, out).length || holdingBreaches(heldIntervals(input, out)).length > holdingBreaches(heldIntervals(input, runs)).length || totalCost(input, out).eur + runsRiskEur(input, out) > totalCost(input, runs).eur + runsRiskEur(input, runs)) return [...runs];
  return out;
}

/** Per process, € of a run starting at each slot: its energy plus the holding it adds or takes back (see improveLocally). */
function startCosts(input: PlannerInput): Map<string, number[]> {
  const T = input.starts.length;
  const out = new Map<string, number[]>();
  for (const p of input.processes) {
    const L = runSlots(input, p.name);
    out.set(p.name, input.starts.map((_, u) => {
      let eur = 0;
      for (let t = u; t < Math.min(T, u + L); t++) eur += slotCost(input, p.name, t).eur;
      return eur + startRiskEur(input, p.name, u, L);
    }));
  }
  for (let i = 1; i < input.order.length; i++) {
    const a = input.order[i - 1]!;
    const b = input.order[i]!;
    const suffix = holdSuffixEur(input, b);
    const La = runSlots(input, a);
    out.set(a, out.get(a)!.map((e, u) => e + suffix[Math.min(T, u + La)]!));
    out.set(b, out.get(b)!.map((e, u) => e - suffix[u]!));
  }
  return out;
}
