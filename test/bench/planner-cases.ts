/**
 * The planner bench's instances (`npm run bench -- --planner`), shared with the solver tests: 48 h × 15 min from
 * local midnight of 15 October 2025 (Europe/Madrid), the default config's 4 processes (2 batches entering the line
 * each local day: 4 runs per process, holding limits 4 h), prices from the real OMIE file of the fixtures (November
 * 2025, hourly, a day further on per instance, ±3 €/MWh inside the hour so quarter-hours differ).
 * `underContract`: the same under a 3.0TD contract whose base load leaves ~50 kW for runs by day.
 */
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig } from '../../gateway/config/load.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { buildPlannerInput } from '../../gateway/planner/build.js';
import { withContract } from '../../gateway/planner/contract-terms.js';
import { dayQuotas } from '../../gateway/planner/day-quotas.js';
import type { PlannerInput } from '../../gateway/planner/types.js';
import { loadHourlyPrices } from '../../models/eval/datasets.js';
import { FIXTURES } from '../helpers/fixture-server.js';

export const benchContract = resolveContract({ tariff: '3.0TD', contractedKw: [150, 150, 150, 150, 180, 180], powerPriceEurKwYear: [19.7, 10.5, 4.3, 3.6, 2.3, 1.3], tollsAndChargesEurKwh: [0.029, 0.021, 0.011, 0.008, 0.004, 0.002], energy: { indexed: { marginEurMwh: 6 } } });
export const benchBase = (ms: number): number => {
  const h = (new Date(ms).getUTCHours() + 1) % 24;
  return (h >= 8 && h < 20 ? 100 : 60) + ((ms / 900_000) % 3);
};
export const underContract = (input: PlannerInput): PlannerInput => withContract(input, benchContract, benchBase, { timezone: 'Europe/Madrid', baseSource: 'bench profile' });

/** Instance `day` (0-based) of the bench, with a time limit of `timeLimitMs`. */
export function plannerCase(day: number, options: { timeLimitMs?: number; start?: string; hours?: number } = {}): PlannerInput {
  const config = loadConfig({ env: {}, overrides: { dataDir: mkdtempSync(join(tmpdir(), 'choco-cases-')) } });
  const start = Date.parse(options.start ?? '2025-10-14T22:00:00Z');
  const Q = 15 * 60_000;
  const prices = [...loadHourlyPrices(join(FIXTURES, 'models/omie_es_2025-11.csv.gz')).values()];
  const starts = Array.from({ length: ((options.hours ?? 48) * 3_600_000) / Q }, (_, i) => start + i * Q);
  const price = starts.map((_, i) => prices[(day * 24 + Math.floor(i / 4)) % prices.length]! + ((i % 4) - 1.5) * 2);
  const { days, runsToPlace } = dayQuotas(starts, Q, 'Europe/Madrid', config.planner.processes, config.planner.order, () => 0);
  return buildPlannerInput({ ...config.planner, timeLimitMs: options.timeLimitMs ?? 30_000 }, { starts, resolutionMs: Q, priceEurMwh: price, priceSource: starts.map(() => 'published'), outdoorC: starts.map(() => null), runsToPlace, dayQuotas: days }, 'Europe/Madrid');
}
