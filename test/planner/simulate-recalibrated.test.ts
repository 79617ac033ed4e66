import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSimulation, simulate } from '../../models/eval/simulate.js';
import { testConfig } from '../helpers/context.js';
import { FIXTURES } from '../helpers/fixture-server.js';

describe('simulate with the forecast the gateway would have had at 10:00 the day before', () => {
  it('plans on the calibration made the afternoon before and reports the share of the hindsight saving kept', async () => {
    const config = testConfig('http://127.0.0.1:9', { models: { recalibration: { windows: [14, 28], conformalDays: 7 } } });
    const prices = join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz');
    const from = '2025-10-20';
    const to = '2025-10-30';
    const recal = await simulate(config, { prices, from, to, decisionHour: 10 });
    expect(recal.days.length).toBe(10);
    expect(recal.days.every((d) => d.priceSource === 'forecast')).toBe(true);
    // Hindsight is the best plan on the real prices; the forecast-based plan pays at least as much.
    expect(recal.totals.planEur).toBeGreaterThanOrEqual(recal.totals.hindsightEur - 1e-6);
    const published = await simulate(config, { prices, from, to, decisionHour: 14 });
    expect(published.totals.planEur).toBeCloseTo(published.totals.hindsightEur, 1);
    const naive = await simulate(config, { prices, from, to, decisionHour: 10, forecaster: 'network', modelDir: undefined });
    // Without any model the plan falls back to yesterday's prices: a different plan from the recalibrated one.
    expect(naive.days.map((d) => d.planEur)).not.toEqual(recal.days.map((d) => d.planEur));
    expect(formatSimulation(recal, from, to)).toMatch(/share of the perfect-hindsight saving kept: -?\d+\.\d %/);
  }, 300_000);
});
