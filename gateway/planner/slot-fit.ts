import { coolingCapKw } from './cost.js';
import { gapSlots } from './milp.js';
import type { PlannedRun, PlannerInput } from './types.js';

/**
 * What the runs placed so far take of the horizon's slots, and the one check of whether one more run fits there:
 * shared by the greedy planner (greedy.ts) and a line stop's restarted run (plugins/planner/interruptions.ts
 * continuationStart), so that both place a run by the same rules.
 *
 * - power: per slot, each run's process kW plus the cooling at the ambient limits' temperature, as the solvers' power
 *   cap counts it (cost.ts coolingCapKw), kW;
 * - lines: a line runs one run at a time; a run keeps its line for its slots and its process's `minGapMinutes`
 *   either side (milp.ts gapSlots). A process with no line of its own is its own line.
 *
 * Slots are indices of `input.starts`; runs reaching outside the horizon count only inside it.
 */
export class SlotLoad {
  /** kW per slot of the runs added (process kW + coolingCapKw). */
  readonly powerKw: number[];
  private readonly busy = new Map<string, boolean[]>();

  constructor(
    private readonly input: PlannerInput,
    runs: readonly PlannedRun[] = [],
  ) {
    this.powerKw = new Array<number>(input.starts.length).fill(0);
    for (const r of runs) this.add(r.process, r.startSlot, r.slots);
  }

  private lineSlots(process: string): boolean[] {
    const line = this.input.processes.find((p) => p.name === process)?.line ?? process;
    let slots = this.busy.get(line);
    if (!slots) this.busy.set(line, (slots = new Array<boolean>(this.input.starts.length).fill(false)));
    return slots;
  }

  /** Adds a run of `process` on slots [startSlot, startSlot + slots): its kW and its line (gap included). A process the input does not know adds no kW. */
  add(process: string, startSlot: number, slots: number): void {
    const T = this.input.starts.length;
    const p = this.input.processes.find((x) => x.name === process);
    const gap = p ? gapSlots(this.input, process) : 0;
    const line = this.lineSlots(process);
    for (let t = Math.max(0, startSlot - gap); t < Math.min(T, startSlot + slots + gap); t++) line[t] = true;
    for (let t = Math.max(0, startSlot); t < Math.min(T, startSlot + slots); t++) this.powerKw[t]! += (p?.kw ?? 0) + coolingCapKw(this.input, t);
  }

  /**
   * Whether a run of `process` fits on slots [start, start + slots): inside the horizon, no slot `blocked` (the
   * caller's blockedSlots: forbidden hours, ambient limits, the line's stop, with or without the frozen window), its
   * line free, the load with it within `contractedKw` and, when `roomKw` is given, within the site's room per slot
   * (contract-terms.ts siteRoomKw: the contracted power over the base load). False for a process the input does not know.
   */
  fits(process: string, start: number, slots: number, blocked: readonly boolean[], roomKw?: readonly number[]): boolean {
    const p = this.input.processes.find((x) => x.name === process);
    if (!p || start < 0 || start + slots > this.input.starts.length) return false;
    const line = this.lineSlots(process);
    for (let t = start; t < start + slots; t++) {
      const kw = this.powerKw[t]! + p.kw + coolingCapKw(this.input, t);
      if (blocked[t] || line[t] || kw > this.input.contractedKw + 1e-6 || (roomKw && kw > roomKw[t]! + 1e-6)) return false;
    }
    return true;
  }
}
