import type { Highs } from 'highs';
import { startRiskEur } from './ambient-risk.js';
import { blockedSlots, coolingCapKw, coolingKw, slotCost } from './cost.js';
import { excessLp } from './contract-terms.js';
import { holdSuffixEur, holdLimitSlots } from './holding.js';
import { cvarLp } from './risk.js';
import { moveBudgetLp } from './move-budget.js';
import type { DayQuota, PlannedRun, PlannerInput, SolveResult } from './types.js';

let highs: Promise<Highs> | undefined;

async function solver(): Promise<Highs> {
  highs ??= import('highs').then((m) => (m.default as unknown as () => Promise<Highs>)());
  return highs;
}

/** HiGHS model status codes (highs.constants.modelStatus) in the words its one-shot `solve()` uses. */
const STATUS_TEXT: Record<number, string> = { 0: 'Not Set', 1: 'Load error', 2: 'Model error', 3: 'Presolve error', 4: 'Solve error', 5: 'Postsolve error', 6: 'Empty', 7: 'Optimal', 8: 'Infeasible', 9: 'Primal infeasible or unbounded', 10: 'Unbounded', 11: 'Bound on objective reached', 12: 'Target for objective reached', 13: 'Time limit reached', 14: 'Iteration limit reached', 15: 'Unknown', 16: 'Solution limit reached', 17: 'Interrupted' };

export const runSlots = (input: PlannerInput, process: string): number => Math.ceil((input.processes.find((p) => p.name === process)!.minutes * 60_000) / input.resolutionMs);

/** The minimum pause between two runs of `process`, in slots. */
export const gapSlots = (input: PlannerInput, process: string): number => Math.ceil((input.processes.find((p) => p.name === process)!.minGapMinutes * 60_000) / input.resolutionMs);

/** The processes in batch order, then the ones outside it. */
export const processChain = (input: PlannerInput): string[] => [...input.order, ...input.processes.map((p) => p.name).filter((n) => !input.order.includes(n))];

/** Starts at which a run of `process` fits: inside the horizon, no blocked slot, no overlap with its fixed runs. */
export function allowedStarts(input: PlannerInput, process: string): number[] {
  const L = runSlots(input, process);
  const p = input.processes.find((x) => x.name === process)!;
  const gap = gapSlots(input, p.name);
  const blocked = blockedSlots(input, process);
  const fixed = input.fixedRuns.filter((r) => r.process === process);
  const out: number[] = [];
  for (let t = 0; t + L <= input.starts.length; t++) {
    let ok = true;
    for (let u = t; u < t + L && ok; u++) if (blocked[u]) ok = false;
    for (const f of fixed) if (t < f.startSlot + f.slots + gap && f.startSlot < t + L + gap) ok = false;
    if (ok) out.push(t);
  }
  return out;
}

/** Power the fixed runs already take in each slot; `cap`: with the cooling at the ambient limits' temperature (cost.ts coolingCapKw). */
function fixedPower(input: PlannerInput, cap = false): number[] {
  const out = new Array<number>(input.starts.length).fill(0);
  const cooling = cap ? coolingCapKw : coolingKw;
  for (const r of input.fixedRuns) {
    const p = input.processes.find((x) => x.name === r.process)!;
    for (let t = Math.max(0, r.startSlot); t < Math.min(out.length, r.startSlot + r.slots); t++) out[t]! += p.kw + cooling(input, t);
  }
  return out;
}

const runCost = (input: PlannerInput, process: string, start: number, L: number): number => {
  let eur = 0;
  for (let t = start; t < start + L; t++) eur += slotCost(input, process, t).eur;
  // The priced ambient risk (ambient-margin.ts): a decision term, not part of the plan's reported cost.
  return eur + startRiskEur(input, process, start, L);
};

/**
 * How the rows count the starts of a process in a range of slots (same feasible set, same LP relaxation, same optimum):
 * - `cumulative` (default): a continuous running count `c_<p>_<u>` per allowed start u (c at u = c at the previous
 *   allowed start + s at u, so every c is an integer when the s are), and a count over (from, to] is two columns,
 *   c(to) − c(from). The order, holding, machine and power rows then hold 2 columns per process instead of up to T
 *   (48 h × 15 min: ~216,000 nonzeros → ~15,000), which is what HiGHS's LPs spend their time on.
 * - `pairwise`: the starts themselves, one column per start in the range (the formulation before issue #24; kept to
 *   prove the optimum unchanged, test/planner/solver-speed.test.ts).
 */
export type Formulation = 'cumulative' | 'pairwise';

/** `coef` × column as an LP term ("+ 3 x", "- 2.5 y"). */
const term = (coef: number, column: string): string => `${coef < 0 ? '-' : '+'} ${coef === 1 || coef === -1 ? '' : `${+Math.abs(coef).toFixed(6)} `}${column}`;

/**
 * The terms counting starts of each process in a slot range, per formulation (see Formulation), and the running-count
 * columns and rows the cumulative one needs.
 */
function startCounter(input: PlannerInput, byProcess: Map<string, number[]>, name: (process: string, t: number) => string, formulation: Formulation) {
  const cum = (process: string, u: number) => `c_${input.processes.findIndex((p) => p.name === process)}_${u}`;
  const sorted = new Map([...byProcess].map(([p, starts]) => [p, [...starts].sort((a, b) => a - b)]));
  /** The last allowed start of `process` at or before slot t (undefined: none). */
  const lastAtOrBefore = (process: string, t: number): number | undefined => {
    const s = sorted.get(process) ?? [];
    let lo = 0;
    let hi = s.length - 1;
    let found: number | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= t) {
        found = s[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  /** The columns whose signed sum is the number of starts of `process` in slots [from, to] (none: no allowed start there). */
  const columns = (process: string, from: number, to: number): Array<{ name: string; sign: 1 | -1 }> => {
    if (formulation === 'pairwise') return (byProcess.get(process) ?? []).filter((u) => u >= from && u <= to).map((u) => ({ name: name(process, u), sign: 1 }));
    const hi = lastAtOrBefore(process, to);
    const lo = lastAtOrBefore(process, from - 1);
    if (hi === undefined || hi === lo) return [];
    return [{ name: cum(process, hi), sign: 1 }, ...(lo === undefined ? [] : [{ name: cum(process, lo), sign: -1 as const }])];
  };
  return {
    columns,
    /** coef × (number of starts of `process` in slots [from, to]), as LP terms; [] when the range holds no allowed start. */
    count: (process: string, from: number, to: number, coef = 1): string[] => columns(process, from, to).map((c) => term(coef * c.sign, c.name)),
    /** The running-count definitions: c(u) − c(previous start) − s(u) = 0 (none for `pairwise`). */
    rows(): string[][] {
      if (formulation === 'pairwise') return [];
      const out: string[][] = [];
      for (const [process, starts] of sorted) starts.forEach((u, i) => out.push([term(1, cum(process, u)), ...(i ? [term(-1, cum(process, starts[i - 1]!))] : []), term(-1, name(process, u))]));
      return out;
    },
  };
}

/** The MILP in CPLEX LP format: binary start variables, quota (per horizon, and per local day for the batches entering the line), machine, power, batch-order constraints. */
export function buildLp(input: PlannerInput, capKw = input.contractedKw, maximizeStartsIn?: DayQuota, formulation: Formulation = 'cumulative'): { lp: string; vars: Map<string, { process: string; start: number }> } {
  const T = input.starts.length;
  const vars = new Map<string, { process: string; start: number }>();
  const byProcess = new Map<string, number[]>();
  input.processes.forEach((p, pi) => {
    if (!input.runsToPlace[p.name]) return;
    const starts = allowedStarts(input, p.name);
    byProcess.set(p.name, starts);
    for (const t of starts) vars.set(`s_${pi}_${t}`, { process: p.name, start: t });
  });
  const name = (process: string, t: number) => `s_${input.processes.findIndex((p) => p.name === process)}_${t}`;
  const counter = startCounter(input, byProcess, name, formulation);
  const lines: string[] = ['Minimize', ' obj:'];
  // Either the cost, or (to find how much still fits) the most runs in the day `maximizeStartsIn`, then the most runs.
  const inDay = (process: string, start: number) => maximizeStartsIn!.runs[process] !== undefined && start >= maximizeStartsIn!.fromSlot && start < maximizeStartsIn!.toSlot;
  const dayWeight = Object.values(input.runsToPlace).reduce((a, b) => a + b, 0) + 1;
  // Holding (see holding.ts), folded into the start variables: the batches waiting for b in slot t are the runs of a
  // ended by t (plus the credit) minus the runs of b started by t, so a run of a ending at e adds the holding from
  // e to the horizon's end, and a run of b starting at u takes back the holding from u on.
  const holdCoef = new Map<string, number>();
  const slack: string[] = [];
  if (!maximizeStartsIn) {
    for (let i = 1; i < input.order.length; i++) {
      const a = input.order[i - 1]!;
      const b = input.order[i]!;
      const suffix = holdSuffixEur(input, b);
      const La = runSlots(input, a);
      for (const u of byProcess.get(a) ?? []) holdCoef.set(name(a, u), (holdCoef.get(name(a, u)) ?? 0) + suffix[Math.min(T, u + La)]!);
      for (const u of byProcess.get(b) ?? []) holdCoef.set(name(b, u), (holdCoef.get(name(b, u)) ?? 0) - suffix[u]!);
    }
  }
  const objTerms = [...vars.entries()].map(([v, { process, start }]) => `${maximizeStartsIn ? -(1 + (inDay(process, start) ? dayWeight : 0)) : (runCost(input, process, start, runSlots(input, process)) + (holdCoef.get(v) ?? 0)).toFixed(6)} ${v}`);
  // The holding limit is soft: a slack per slot counts the batches past their limit, at a price no saving beats,
  // so a plan always exists and the breach is reported (holding.ts) instead of the plan failing.
  const holdRows: Array<{ terms: string[]; rhs: number }> = [];
  if (!maximizeStartsIn) {
    input.processes.forEach((p, pi) => {
      const W = holdLimitSlots(input, p.name);
      const bStarts = byProcess.get(p.name);
      if (W === undefined || !bStarts?.length) return;
      const a = input.order[input.order.indexOf(p.name) - 1]!;
      const La = runSlots(input, a);
      const aStarts = byProcess.get(a) ?? [];
      const fixedB = input.fixedRuns.filter((r) => r.process === p.name).length;
      const fixedA = input.fixedRuns.filter((r) => r.process === a);
      // Batches through a and not taken by a fixed run of b (negative when fixed runs of b take fixed runs of a: kept runs, frozen.ts).
      const net = (input.orderCredit[p.name] ?? 0) - fixedB;
      const waiting = Math.max(0, net);
      const since = Array.from({ length: waiting }, (_, k) => input.waitingSince?.[p.name]?.[k] ?? 0);
      for (let t = 0; t < T; t++) {
        const started = counter.count(p.name, 0, t);
        const ended = aStarts.some((u) => u + La <= t - W) ? counter.count(a, 0, t - W - La, -1) : [];
        // Every batch whose previous step ended by t - W (the waiting ones by their own deadline) has started b by t.
        const rhs = t < W ? since.filter((s) => s + W <= t).length : net + fixedA.filter((r) => r.startSlot + r.slots <= t - W).length;
        if (rhs <= 0 && !ended.length) continue;
        const s = `h_${pi}_${t}`;
        slack.push(s);
        holdRows.push({ terms: [...started, ...ended, `+ ${s}`], rhs });
      }
    });
  }
  const penalty = 1000;
  // The contract's excess-power term (contract-terms.ts): continuous variables, their rows and bounds.
  const site = !maximizeStartsIn && input.site ? excessLp(input, coveringStarts(input, byProcess, counter.columns), fixedPower(input)) : undefined;
  const risk = input.risk && !maximizeStartsIn ? cvarLp(input, vars) : undefined;
  // The move budget (move-budget.ts): which batches of the plan in force the re-plan keeps, at most maxMoves moved.
  const budget = input.moveBudget && !maximizeStartsIn ? moveBudgetLp(input, (p, t) => vars.has(name(p, t)), name, (p, t) => (byProcess.get(p) ?? []).filter((u) => u < t).map((u) => name(p, u))) : undefined;
  lines.push(...chunk([...(objTerms.length ? objTerms : ['0 dummy']), ...slack.map((s) => `+ ${penalty} ${s}`), ...(site?.objective ?? []), ...(risk?.objective ?? [])]), 'Subject To');
  let row = 0;
  const add = (terms: string[], rhs: string) => {
    if (!terms.length) return;
    lines.push(` r${row++}:`, ...chunk(terms), `  ${rhs}`);
  };
  for (const p of input.processes) {
    const need = input.runsToPlace[p.name] ?? 0;
    if (!need) continue;
    const relaxed = (input.dayQuotas ?? []).some((d) => d.atMost && d.runs[p.name] !== undefined);
    add(counter.count(p.name, 0, T - 1), `${relaxed ? '<=' : '='} ${need}`);
    for (const day of input.dayQuotas ?? []) {
      if (day.runs[p.name] === undefined) continue;
      add(counter.count(p.name, day.fromSlot, day.toSlot - 1), `${day.atMost ? '<=' : '='} ${day.runs[p.name]}`);
    }
    const L = runSlots(input, p.name);
    const gap = gapSlots(input, p.name);
    const starts = new Set(byProcess.get(p.name));
    // Machine: at most one start in any L + gap consecutive slots (one row per slot, i.e. the clique of the
    // starts that would overlap there; a window with one allowed start needs none).
    for (let t = 0; t < T; t++) {
      let inWindow = 0;
      for (let u = Math.max(0, t - L - gap + 1); u <= t; u++) if (starts.has(u)) inWindow++;
      if (inWindow > 1) add(counter.count(p.name, t - L - gap + 1, t), '<= 1');
    }
  }
  const fixed = fixedPower(input, true);
  for (let t = 0; t < T; t++) {
    const terms: string[] = [];
    for (const p of input.processes) {
      if (!byProcess.has(p.name)) continue;
      const L = runSlots(input, p.name);
      const kw = p.kw + coolingCapKw(input, t);
      terms.push(...counter.count(p.name, t - L + 1, t, +kw.toFixed(4)));
    }
    if (terms.length) add(terms, `<= ${(capKw - fixed[t]!).toFixed(4)}`);
  }
  for (let i = 0; i + 1 < input.order.length; i++) {
    const a = input.order[i]!;
    const b = input.order[i + 1]!;
    if (!input.runsToPlace[b]) continue;
    const La = runSlots(input, a);
    const fixedA = input.fixedRuns.filter((r) => r.process === a);
    const fixedB = input.fixedRuns.filter((r) => r.process === b).length;
    const bStarts = byProcess.get(b) ?? [];
    for (let t = 0; t < T; t++) {
      if (!bStarts.some((u) => u <= t)) continue;
      const started = counter.count(b, 0, t);
      const finished = counter.count(a, 0, t - La, -1);
      const credit = (input.orderCredit[b] ?? 0) - fixedB + fixedA.filter((r) => r.startSlot + r.slots <= t).length;
      add([...started, ...finished], `<= ${credit}`);
    }
  }
  for (const r of holdRows) add(r.terms, `>= ${r.rhs}`);
  for (const r of counter.rows()) add(r, '= 0');
  for (const r of site?.rows ?? []) add(r.terms, r.rhs);
  for (const r of risk?.rows ?? []) add(r, '<= 0');
  for (const r of budget?.rows ?? []) add(r.terms, r.rhs);
  // One Bounds section for the continuous variables of both terms.
  const bounds = [...(site?.bounds ?? []), ...(risk?.bounds ?? [])];
  if (bounds.length) lines.push('Bounds', ...bounds);
  lines.push('Binary', ...chunk([...vars.keys(), ...(budget?.binaries ?? [])]), 'End');
  return { lp: lines.join('\n'), vars };
}

/** Per slot t, the columns (starts, or running counts with their sign) whose runs cover t, with the run's kW there (cooling included). */
function coveringStarts(input: PlannerInput, byProcess: Map<string, number[]>, columns: (process: string, from: number, to: number) => Array<{ name: string; sign: 1 | -1 }>): (t: number) => Array<{ name: string; kw: number; sign: 1 | -1; process: string }> {
  const sets = input.processes.filter((p) => byProcess.has(p.name)).map((p) => ({ p, L: runSlots(input, p.name) }));
  return (t) => sets.flatMap(({ p, L }) => columns(p.name, t - L + 1, t).map((c) => ({ ...c, kw: p.kw + coolingKw(input, t), process: p.name })));
}

function chunk(terms: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < terms.length; i += 12) out.push(`  ${terms.slice(i, i + 12).join(' ')}`);
  return out;
}

/** The cheapest plan, or with `maximizeStartsIn` the one that starts the most runs in that day and then overall (cost ignored). */
export async function solveMilp(input: PlannerInput, options: { maximizeStartsIn?: DayQuota; start?: readonly PlannedRun[] } = {}): Promise<SolveResult> {
  if (input.site && !input.site.hard && !options.maximizeStartsIn) return solveUnderContract(input, options.start);
  return solveLp(input, options);
}

/**
 * Under a contract, in two phases (the soft excess rows alone made the MILP 4-7× slower, `npm run bench --
 * --planner`): first every period's contracted power as a hard limit (small and fast: presolve drops the starts that
 * cannot fit); then the full problem with the excess term, given at most `EXCESS_PHASE_FACTOR` × the first phase's
 * time (within the time limit) and the first plan's cost as its objective bound. The second plan is taken when it is
 * cheaper (an excess whose energy saving pays for it); else the first. No first plan (nothing fits under the
 * contracted powers): the second phase alone, with the whole time limit.
 */
async function solveUnderContract(input: PlannerInput, start?: readonly PlannedRun[]): Promise<SolveResult> {
  const started = performance.now();
  // The start (MIP start) is offered to both phases: HiGHS drops it where it breaks a contracted power (hard phase).
  const hard = await solveLp({ ...input, site: { ...input.site!, hard: true } }, { ...(start ? { start } : {}) });
  const spent = performance.now() - started;
  const left = input.timeLimitMs - spent;
  if (!hard.runs.length) return { ...(await solveLp({ ...input, timeLimitMs: Math.max(10, left) }, { ...(start ? { start } : {}) })), solveMs: performance.now() - started };
  if (left <= 10) return { ...hard, solveMs: performance.now() - started };
  // The second phase starts from the first's plan (a solution of it too), so stopped by its limit it is no worse.
  const soft = await solveLp({ ...input, timeLimitMs: Math.min(left, Math.max(500, EXCESS_PHASE_FACTOR * spent)) }, { objectiveBound: hard.objective! + 1e-6, start: hard.runs });
  const better = soft.runs.length && soft.objective !== undefined && soft.objective < hard.objective! - 1e-6;
  // Proven optimal only when the second phase finished (or found nothing below the first plan's cost: its bound);
  // stopped by the limit, the plan is labelled so with the second phase's gap.
  const early = soft.method === 'milp-time-limit' || (!soft.runs.length && !/bound|infeasible|optimal/i.test(soft.status));
  const chosen = better ? soft : hard;
  return { ...chosen, status: better ? soft.status : hard.status, ...(early ? { method: 'milp-time-limit' as const, status: soft.status, ...(soft.mipGap !== undefined ? { mipGap: soft.mipGap } : {}) } : {}), solveMs: performance.now() - started };
}

/** The excess phase's share of time, × the hard phase's (see solveUnderContract). */
export const EXCESS_PHASE_FACTOR = 1;

/**
 * One HiGHS run on a persistent model (npm `highs`, `createModel`): the LP text, options, and, given `start` (a
 * schedule that meets every constraint: the plan in force, the greedy plan), its start variables as the MIP start
 * (`setSolution` with every binary set, so HiGHS completes the continuous columns by an LP and begins with that
 * incumbent). Any primal solution HiGHS holds when it stops is used: `Optimal`, or `Time limit reached` with an
 * incumbent (then `mipGap` is HiGHS's relative gap between it and its dual bound).
 */
async function solveLp(input: PlannerInput, options: { maximizeStartsIn?: DayQuota; objectiveBound?: number; start?: readonly PlannedRun[] }): Promise<SolveResult & { objective?: number }> {
  const started = performance.now();
  const { lp, vars } = buildLp(input, input.contractedKw, options.maximizeStartsIn);
  const h = await solver();
  const model = h.createModel({ format: 'lp', data: lp });
  try {
    model.options.set({ time_limit: Math.max(0.01, input.timeLimitMs / 1000), mip_rel_gap: 1e-6, output_flag: false, ...(options.objectiveBound !== undefined ? { objective_bound: options.objectiveBound } : {}) });
    const warm = options.start ? mipStart(input, vars, options.start) : undefined;
    if (warm) model.setSolution({ indices: Int32Array.from(warm.columns.map((c) => model.getColByName(c))), values: Float64Array.from(warm.values) });
    model.run();
    const code = model.getModelStatus();
    const status = STATUS_TEXT[code] ?? `HiGHS model status ${code}`;
    const primal = Number(model.info.get('primal_solution_status')) === h.constants.solutionStatus.feasible;
    const usable = code === h.constants.modelStatus.optimal || (primal && (code === h.constants.modelStatus.timeLimit || code === h.constants.modelStatus.interrupted));
    if (!usable) return { method: 'milp', status, runs: [], solveMs: performance.now() - started };
    const value = model.getSolution().colValue;
    const runs: PlannedRun[] = [];
    for (const [v, { process, start }] of vars) if (value[model.getColByName(v)]! > 0.5) runs.push({ process, batch: 0, startSlot: start, slots: runSlots(input, process) });
    const stoppedEarly = code !== h.constants.modelStatus.optimal;
    return { method: stoppedEarly ? 'milp-time-limit' : 'milp', status, runs: numberBatches(input, runs), solveMs: performance.now() - started, objective: model.getObjectiveValue(), ...(stoppedEarly ? { mipGap: Number(model.info.get('mip_gap')) } : {}), ...(warm ? { warmStart: true } : {}) };
  } finally {
    model.dispose();
  }
}

/** The start variables of `runs` as a MIP start (1 for each run's start, 0 for every other), undefined when a run has no column (it cannot be a solution of this model). */
function mipStart(input: PlannerInput, vars: Map<string, { process: string; start: number }>, runs: readonly PlannedRun[]): { columns: string[]; values: number[] } | undefined {
  if (!runs.length) return undefined;
  const on = new Set(runs.map((r) => `s_${input.processes.findIndex((p) => p.name === r.process)}_${r.startSlot}`));
  if ([...on].some((v) => !vars.has(v))) return undefined;
  const columns = [...vars.keys()];
  return { columns, values: columns.map((v) => (on.has(v) ? 1 : 0)) };
}

/** Batch numbers follow start order within each process, after the fixed runs. */
export function numberBatches(input: PlannerInput, runs: PlannedRun[]): PlannedRun[] {
  const out: PlannedRun[] = [];
  for (const p of input.processes) {
    const done = input.fixedRuns.filter((r) => r.process === p.name).length;
    runs
      .filter((r) => r.process === p.name)
      .sort((a, b) => a.startSlot - b.startSlot)
      .forEach((r, i) => out.push({ ...r, batch: done + i + 1 }));
  }
  return out;
}
