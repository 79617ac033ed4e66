import { HOUR_MS } from '../time/tz.js';
import type { PlannedRun, PlannerInput } from './types.js';

/** €/kWh paid in slot t: the energy price (× marketWeight, 1 unless a fixed-price contract) plus the tariff adder. */
export const unitPrice = (input: PlannerInput, t: number): number => ((input.marketWeight ?? 1) * input.priceEurMwh[t]!) / 1000 + input.adderEurKwh[t]!;

/** Cooling kW a running process drags in while it is hot outside (at the point forecast: what it costs). */
export const coolingKw = (input: PlannerInput, t: number): number => input.coolingKwPerDegree * Math.max(0, (input.outdoorC[t] ?? input.coolingFromC) - input.coolingFromC);

/**
 * The temperature the ambient limits are checked at in slot t (°C): the forecast plus the chance constraint's
 * margin (ambient-margin.ts; 0 without one); null when the temperature is unknown.
 */
export function limitOutdoorC(input: PlannerInput, t: number): number | null {
  const o = input.outdoorC[t];
  if (o === null || o === undefined) return null;
  return o + (input.ambientMargin?.marginC[t] ?? 0);
}

/** Cooling kW a running process may drag in, for the contracted-power cap: at the limits' temperature (limitOutdoorC). */
export const coolingCapKw = (input: PlannerInput, t: number): number => (input.ambientMargin ? input.coolingKwPerDegree * Math.max(0, (limitOutdoorC(input, t) ?? input.coolingFromC) - input.coolingFromC) : coolingKw(input, t));

/** Plant-floor temperature (°C) from outdoor (base + factor × (outdoor − base)); `limits`: at the limits' temperature. */
export const plantTempC = (input: PlannerInput, t: number, options: { limits?: boolean } = {}): number | null => {
  const o = options.limits ? limitOutdoorC(input, t) : input.outdoorC[t];
  return o === null || o === undefined ? null : input.plantTemp.baseC + input.plantTemp.factor * (o - input.plantTemp.baseC);
};

/** Cost (€) and energy (kWh) of running `process` in slot t, priced with `prices` (default the planning prices). */
export function slotCost(input: PlannerInput, process: string, t: number, prices: readonly number[] = input.priceEurMwh): { eur: number; kwh: number } {
  const p = input.processes.find((x) => x.name === process)!;
  const hours = input.resolutionMs / HOUR_MS;
  const kwh = (p.kw + coolingKw(input, t)) * hours;
  return { kwh, eur: kwh * (((input.marketWeight ?? 1) * prices[t]!) / 1000 + input.adderEurKwh[t]!) };
}

export function scheduleCost(input: PlannerInput, runs: readonly PlannedRun[], prices: readonly number[] = input.priceEurMwh): { eur: number; kwh: number } {
  const { eur, kwh } = scheduleCostExact(input, runs, prices);
  return { eur: Math.round(eur * 100) / 100, kwh: Math.round(kwh * 10) / 10 };
}

/** As scheduleCost, not rounded (for sums that round once, at the end). */
export function scheduleCostExact(input: PlannerInput, runs: readonly PlannedRun[], prices: readonly number[] = input.priceEurMwh): { eur: number; kwh: number } {
  let eur = 0;
  let kwh = 0;
  for (const r of runs) {
    for (let t = r.startSlot; t < r.startSlot + r.slots; t++) {
      const c = slotCost(input, r.process, t, prices);
      eur += c.eur;
      kwh += c.kwh;
    }
  }
  return { eur, kwh };
}

/** Slot indices where process `name` may not run: forbidden slots, too hot outside, or too warm for it on the floor. */
export function blockedSlots(input: PlannerInput, name: string, options: { ignoreFrozen?: boolean } = {}): boolean[] {
  const p = input.processes.find((x) => x.name === name)!;
  return input.starts.map((start, t) => {
    if (input.forbidden[t]) return true;
    if (p.blockedUntil !== undefined && start < p.blockedUntil) return true;
    if (!options.ignoreFrozen && p.frozenUntil !== undefined && start < p.frozenUntil) return true;
    // The ambient limits at the forecast plus the chance constraint's margin (limitOutdoorC).
    const o = limitOutdoorC(input, t);
    if (o !== null && o >= input.haltAtOutdoorC) return true;
    const floor = plantTempC(input, t, { limits: true });
    return p.maxPlantTempC !== undefined && floor !== null && floor > p.maxPlantTempC;
  });
}

/** Checks a schedule against every constraint; returns what it breaks (empty when feasible). */
export function violations(input: PlannerInput, runs: readonly PlannedRun[]): string[] {
  const out: string[] = [];
  const T = input.starts.length;
  const power = new Array<number>(T).fill(0);
  for (const r of runs) {
    const p = input.processes.find((x) => x.name === r.process)!;
    if (r.startSlot < 0 || r.startSlot + r.slots > T) out.push(`${r.process} #${r.batch} outside the horizon`);
    const blocked = blockedSlots(input, r.process);
    for (let t = r.startSlot; t < Math.min(T, r.startSlot + r.slots); t++) {
      power[t]! += p.kw + coolingCapKw(input, t);
      if (blocked[t] && !input.fixedRuns.some((f) => f.process === r.process && f.startSlot === r.startSlot)) out.push(`${r.process} #${r.batch} runs in a blocked slot ${t}`);
    }
  }
  power.forEach((kw, t) => {
    if (kw > input.contractedKw + 1e-6) out.push(`power ${kw.toFixed(1)} kW > ${input.contractedKw} kW in slot ${t}`);
  });
  for (const p of input.processes) {
    const mine = runs.filter((r) => r.process === p.name).sort((a, b) => a.startSlot - b.startSlot);
    const gap = Math.ceil((p.minGapMinutes * 60_000) / input.resolutionMs);
    for (let i = 1; i < mine.length; i++) if (mine[i]!.startSlot < mine[i - 1]!.startSlot + mine[i - 1]!.slots + gap) out.push(`${p.name} runs overlap or pause less than ${p.minGapMinutes} min`);
  }
  for (const day of input.dayQuotas ?? []) {
    for (const [process, quota] of Object.entries(day.runs)) {
      const n = runs.filter((r) => r.process === process && r.startSlot >= day.fromSlot && r.startSlot < day.toSlot).length;
      if (day.atMost ? n > quota : n !== quota) out.push(`${process}: ${n} run(s) start on ${day.day}, its quota there is ${day.atMost ? 'at most ' : ''}${quota}`);
    }
  }
  // Batch order over all runs, the fixed (already started) ones first, as the solvers count it; fixed runs are facts, not checked.
  const all = [...input.fixedRuns, ...runs];
  for (let i = 0; i + 1 < input.order.length; i++) {
    const a = all.filter((r) => r.process === input.order[i]).sort((x, y) => x.startSlot - y.startSlot);
    const b = all.filter((r) => r.process === input.order[i + 1]).sort((x, y) => x.startSlot - y.startSlot);
    const credit = input.orderCredit[input.order[i + 1]!] ?? 0;
    b.forEach((run, k) => {
      if (k < credit || input.fixedRuns.includes(run)) return;
      const before = a[k - credit];
      if (!before) out.push(`${run.process} #${k} has no ${input.order[i]} run before it`);
      else if (run.startSlot < before.startSlot + before.slots) out.push(`${run.process} #${k} starts before ${input.order[i]} #${k - credit} ends`);
    });
  }
  return out;
}
