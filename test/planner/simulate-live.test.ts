import { describe, expect, it } from 'vitest';
import { batchesMoved, intradayReplay, liveReplan, noisyTemperatures } from '../../models/eval/simulate-live.js';
import { violations } from '../../gateway/planner/cost.js';
import type { PlannedRun } from '../../gateway/planner/types.js';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import { totalCost } from '../../gateway/planner/holding.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { testConfig } from '../helpers/context.js';

const H = 3_600_000;

describe('--weather-forecast noisy: the observed temperatures with a day-ahead forecast error', () => {
  it('has the bias and spread it says (−0.1 °C, 1.2 °C), is the same for a seed and a date, and keeps gaps', () => {
    const errors: number[] = [];
    for (let d = 0; d < 365; d++) {
      const date = new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10);
      const noisy = noisyTemperatures(new Array(24).fill(20), date, 7);
      errors.push(...noisy.map((x) => x! - 20));
    }
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((a, b) => a + (b - mean) ** 2, 0) / errors.length);
    expect(mean).toBeGreaterThan(-0.25);
    expect(mean).toBeLessThan(0.05);
    expect(sd).toBeGreaterThan(1.05);
    expect(sd).toBeLessThan(1.35);
    expect(noisyTemperatures([10, 11, 12], '2025-05-01', 1)).toEqual(noisyTemperatures([10, 11, 12], '2025-05-01', 1));
    expect(noisyTemperatures([10, 11, 12], '2025-05-01', 2)).not.toEqual(noisyTemperatures([10, 11, 12], '2025-05-01', 1));
    expect(noisyTemperatures([10, null, 12], '2025-05-01', 1)[1]).toBeNull();
  });
});

describe('the re-plan after the auction keeps the move limit', () => {
  it('takes the re-plan when it moves at most the limit of batches, else the best plan within the limit (MILP), else (greedy) the provisional plan', async () => {
    const config = testConfig('http://127.0.0.1:9');
    const { start, end } = localDayRange('2025-04-15', 'Europe/Madrid');
    const starts: number[] = [];
    for (let t = start; t < end; t += H) starts.push(t);
    const runsToPlace = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.batchesPerDay]));
    const base = { starts, resolutionMs: H, priceSource: starts.map(() => 'published' as const), outdoorC: starts.map(() => 15), runsToPlace };
    // Forecast: cheap mornings; published: cheap evenings. The provisional plan runs early, the re-plan late.
    const hour = (i: number) => new Date(starts[i]!).getUTCHours();
    const forecast = buildPlannerInput(config.planner, { ...base, priceEurMwh: starts.map((_, i) => (hour(i) < 12 ? 10 : 150)) }, 'Europe/Madrid');
    const published = buildPlannerInput(config.planner, { ...base, priceEurMwh: starts.map((_, i) => (hour(i) < 12 ? 150 : 10)) }, 'Europe/Madrid');
    const provisional = (await planSchedule(forecast)).runs;
    const free = await liveReplan(published, provisional, 2);
    expect(free.moves).toBe(2);
    expect(batchesMoved(provisional, free.runs)).toBe(2);
    // Over the limit, the MILP moves the best batch it may (move-budget.ts), not none: cheaper than the provisional
    // plan kept whole, dearer than the free re-plan. (Before the budget: the provisional plan kept, 0 moves.)
    const one = await liveReplan(published, provisional, 1);
    expect(one.moves).toBe(1);
    expect(one.budgeted).toBe(true);
    expect(batchesMoved(provisional, one.runs)).toBe(1);
    const eur = (runs: typeof provisional) => totalCost(published, runs).eur;
    expect(eur(one.runs)).toBeLessThan(eur(provisional) - 0.01);
    expect(eur(one.runs)).toBeGreaterThan(eur(free.runs) + 0.01);
    // The greedy planner (no solver time) has no budget: all or nothing, the provisional plan kept.
    const held = await liveReplan({ ...published, timeLimitMs: 0 }, provisional, 1);
    expect(held.moves).toBe(0);
    expect(held.runs).toEqual(provisional);
    expect(batchesMoved(provisional, provisional)).toBe(0);
  });
});

describe('the intraday replay: re-plans inside D on the forecast anchored on the observed hours', () => {
  // Madrid Barajas (Meteostat), local day 2025-07-10 (CEST), °C: 35.3 °C at 17:00, the halt limit (35) crossed 17-19 h.
  const observed = [27.9, 26.5, 24.7, 23.0, 21.5, 20.5, 19.8, 18.4, 19.2, 22.7, 24.9, 27.7, 31.1, 32.2, 33.3, 34.1, 34.7, 35.3, 35.2, 35.1, 34.7, 33.5, 31.6, 30.2];
  // A day-ahead forecast 3 °C too cold all day: it never reaches a limit (32.3 °C peak, plant floor 23.8 °C).
  const forecast = observed.map((o) => Math.round((o - 3) * 10) / 10);
  const setup = async (maxMovesPerDay: number) => {
    const config = testConfig('http://127.0.0.1:9', { planner: { maxMovesPerDay } });
    const { start, end } = localDayRange('2025-07-10', 'Europe/Madrid');
    const starts: number[] = [];
    for (let t = start; t < end; t += H) starts.push(t);
    // Solar prices: cheap 12-19 h local, dear at night.
    const prices = starts.map((_, i) => (i >= 12 && i < 20 ? 5 : 120));
    const runsToPlace = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.batchesPerDay]));
    const planned = buildPlannerInput(config.planner, { starts, resolutionMs: H, priceEurMwh: prices, priceSource: starts.map(() => 'published' as const), outdoorC: forecast, runsToPlace }, 'Europe/Madrid');
    const plan = (await planSchedule(planned)).runs;
    const real = buildPlannerInput(config.planner, { starts, resolutionMs: H, priceEurMwh: prices, priceSource: starts.map(() => 'published' as const), outdoorC: observed, runsToPlace }, 'Europe/Madrid');
    return { config, starts, prices, plan, real };
  };
  const frozenSlots = 2; // planner.frozenMinutes 120 on hourly slots

  it('moves the batches the observed heat puts in the halt hours, never a started or frozen run; the day limit refuses moves for the cost alone, never a forced one', async () => {
    const { config, starts, prices, plan, real } = await setup(2);
    expect(violations(real, plan).length).toBeGreaterThan(0); // the day-ahead plan runs into the real halt
    const day = { planner: config.planner, timezone: 'Europe/Madrid', starts, prices, forecastC: forecast, observedC: observed, plan, movesUsed: 0, rho: 0.8 };
    const out = await intradayReplay(day);
    expect(out.steps.length).toBeGreaterThan(0);
    expect(out.moves).toBeGreaterThan(0);
    expect(out.steps.reduce((a, s) => a + s.moved, 0)).toBe(out.moves);
    for (const s of out.steps) {
      // Started runs (before the hour) and the frozen window's runs stay exactly as they were.
      const kept = (runs: PlannedRun[]) => runs.filter((r) => r.startSlot < s.hour + frozenSlots).map((r) => `${r.process}@${r.startSlot}`).sort();
      expect(kept(s.after)).toEqual(kept(s.before));
      // Nothing new starts in the window.
      expect(s.after.filter((r) => r.startSlot >= s.hour && r.startSlot < s.hour + frozenSlots).length).toBe(s.before.filter((r) => r.startSlot >= s.hour && r.startSlot < s.hour + frozenSlots).length);
      expect(batchesMoved(s.before, s.after)).toBe(s.moved);
    }
    // Each move was made because the plan in force ran into an hour the corrected forecast blocks (the observed
    // heat: 3 °C over the forecast by mid-morning), and the plan after it runs in none (the runs fixed at that hour aside).
    for (const s of out.steps) {
      expect(s.reason).toBe('forced');
      const fixedRuns = s.after.filter((r) => r.startSlot < s.hour + frozenSlots);
      const runsToPlace = Object.fromEntries(config.planner.processes.map((p) => [p.name, s.after.filter((r) => r.process === p.name && r.startSlot >= s.hour + frozenSlots).length]));
      const seen = buildPlannerInput(config.planner, { starts, resolutionMs: H, priceEurMwh: prices, priceSource: starts.map(() => 'published' as const), outdoorC: s.temps, runsToPlace, fixedRuns }, 'Europe/Madrid');
      expect(violations(seen, s.before.filter((r) => r.startSlot >= s.hour + frozenSlots)).length).toBeGreaterThan(0);
      expect(violations(seen, s.after.filter((r) => r.startSlot >= s.hour + frozenSlots))).toEqual([]);
      // The temperatures it saw: observed before the hour, the forecast moved up after it (the error was +3 °C).
      expect(s.temps.slice(0, s.hour)).toEqual(observed.slice(0, s.hour));
      expect(s.temps[s.hour]!).toBeGreaterThan(forecast[s.hour]! + 1);
    }
    // The same work: every batch of the day still runs.
    expect(out.runs.length).toBe(plan.length);
    // As the live planner (gateway/planner/moves.ts): with the day's moves spent after the auction, the moves the
    // heat forces are still made and counted (a day that kept the plan would run into the halt).
    const spent = await intradayReplay({ ...day, movesUsed: 2 });
    expect(spent.moves).toBeGreaterThan(0);
    expect(spent.steps.every((s) => s.reason === 'forced')).toBe(true);
    // Every move of this day is forced, so the moves spent before change nothing: the same plan as with none spent.
    expect(spent.runs).toEqual(out.runs);
    expect(spent.moves).toBe(out.moves);
    // --intraday-margin: a forced move only past the limit by that much; 10 °C is never reached here, so every
    // move left is for the cost alone, and the limit holds for those: none with the day's moves spent, at most 1
    // with one left.
    const margin = await intradayReplay({ ...day, forceMarginC: 10 });
    expect(margin.steps.filter((s) => s.reason === 'forced')).toEqual([]);
    expect(margin.moves).toBeLessThanOrEqual(2);
    const one = await intradayReplay({ ...day, forceMarginC: 10, movesUsed: 1 });
    expect(one.moves).toBeLessThanOrEqual(1);
    const none = await intradayReplay({ ...day, forceMarginC: 10, movesUsed: 2 });
    expect(none.moves).toBe(0);
    expect(none.runs.map((r) => [r.process, r.startSlot])).toEqual([...plan].sort((a, b) => a.startSlot - b.startSlot).map((r) => [r.process, r.startSlot]));
  });

  it('uses no future observation: changing the temperatures observed after hour k changes no re-plan made at k or before', async () => {
    const { config, starts, prices, plan } = await setup(2);
    const day = { planner: config.planner, timezone: 'Europe/Madrid', starts, prices, forecastC: forecast, observedC: observed, plan, movesUsed: 0, rho: 0.8 };
    const out = await intradayReplay(day);
    const k = out.steps[0]!.hour;
    // From hour k on, the real day turns cool: a re-plan at k saw only hours < k, so it is the same.
    const cooler = await intradayReplay({ ...day, observedC: observed.map((o, i) => (i >= k ? o - 8 : o)) });
    const upTo = (steps: typeof out.steps) => steps.filter((s) => s.hour <= k).map((s) => ({ hour: s.hour, after: s.after, temps: s.temps }));
    expect(upTo(cooler.steps)).toEqual(upTo(out.steps));
    // …while changing an hour before k does change it (the test can fail).
    const earlier = await intradayReplay({ ...day, observedC: observed.map((o, i) => (i === k - 1 ? o - 8 : o)) });
    expect(upTo(earlier.steps)).not.toEqual(upTo(out.steps));
  });
});
