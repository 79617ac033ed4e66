/**
 * The planner's input under the supply contract (issue #22; gateway/planner/contract-terms.ts): with
 * `energy.contract` configured, the contract's energy prices, its contracted power per period, the site's base
 * load per quarter-hour and the excess the current month already holds (S0, from the site meter). Without a
 * contract the input is returned as it is (tariff adders, one cap).
 *
 * Base load per quarter-hour: the series `forecast.site.base_load` (plugins/site-load), else the configured
 * profile (`energy.siteLoad.profile`), else 0 kW; the plan document names which (`site.base_source`).
 */
import { excessPowerBreakdown } from '../../gateway/bill/excess.js';
import { monthRange } from '../../gateway/bill/bill.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { readMeterQuarterHours } from '../../gateway/meters/quarter-hours.js';
import type { PluginContext } from '../../gateway/core/plugin-api.js';
import { withContract } from '../../gateway/planner/contract-terms.js';
import type { PlannerInput } from '../../gateway/planner/types.js';
import { profileKw } from '../../gateway/site-load/forecast.js';
import { QUARTER_HOUR_MS } from '../../gateway/series/slots.js';
import { localParts } from '../../gateway/time/tz.js';

export const BASE_LOAD_SERIES = 'forecast.site.base_load';

export async function contractInput(ctx: PluginContext, input: PlannerInput): Promise<PlannerInput> {
  const cfg = ctx.config.energy.contract;
  if (!cfg || !input.starts.length) return input;
  const tz = ctx.config.site.timezone;
  const contract = resolveContract(cfg);
  const from = input.starts[0]!;
  const to = from + input.starts.length * input.resolutionMs;
  const forecast = new Map<number, number>();
  for (const s of await ctx.store.read(BASE_LOAD_SERIES, from, to)) for (let t = s.start; t < s.end; t += QUARTER_HOUR_MS) forecast.set(t, s.value);
  const siteLoad = ctx.config.energy.siteLoad;
  const sources = new Set<string>();
  const baseKw = (ms: number): number => {
    const f = forecast.get(ms);
    if (f !== undefined) return sources.add(BASE_LOAD_SERIES), f;
    const p = siteLoad.profile ? profileKw(siteLoad, ms, null, tz) : null;
    if (p !== null) return sources.add('energy.siteLoad.profile'), p;
    sources.add('none (0 kW)');
    return 0;
  };
  // S0: the excess each power period of this month already holds, from the site meter's measured quarter-hours.
  const s0Kw2: Record<string, number> = {};
  const site = ctx.config.energy.meters.find((m) => m.role === 'site');
  if (site && contract.tariff !== '2.0TD') {
    const lp = localParts(from, tz);
    const month = `${lp.year}-${String(lp.month).padStart(2, '0')}`;
    const measured = await readMeterQuarterHours(ctx.store, site.name, monthRange(month, tz).start, from);
    excessPowerBreakdown(contract, measured.filter((q) => q.quality !== 'missing'), tz).periods.forEach((p) => {
      if (p.sumSquaresKw2 > 0) s0Kw2[`${month}:P${p.period}`] = p.sumSquaresKw2;
    });
  }
  const priced = withContract(input, contract, baseKw, { timezone: tz, baseSource: '', s0Kw2 });
  priced.site!.baseSource = [...sources].join(' + ') || 'none (0 kW)';
  return priced;
}
