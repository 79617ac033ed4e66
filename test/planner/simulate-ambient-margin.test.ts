import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSimulation, simulate } from '../../models/eval/simulate.js';
import { testConfig } from '../helpers/context.js';
import { FIXTURES } from '../helpers/fixture-server.js';

describe('simulate names the chance constraint on the ambient limits it planned with', () => {
  const options = { prices: join(FIXTURES, 'models/kaggle_price_2018-07.csv.gz'), weather: join(FIXTURES, 'models/kaggle_weather_seville_2018-07.csv.gz'), from: '2018-07-20', to: '2018-07-23', decisionHour: 14, weatherForecast: 'noisy' as const, seed: 1, intraday: false };

  it('says z, σ and the lead rule in the setup line (--ambient-z over planner.ambientRisk.z), and no margin on observed temperatures', async () => {
    const config = testConfig('http://127.0.0.1:9', { planner: { ambientRisk: { z: 0.84, sigmaC: 1.2 } } });
    const fromConfig = await simulate(config, options);
    expect(fromConfig.setup).toMatch(/; ambient limits \(35 °C halt, maxPlantTempC, cooling in the contracted power\) checked at the temperature forecast \+ z 0\.84 × σ\(lead\), σ 1\.2 °C × √\(1 − 0\.8\^\(2 × hours after the last observed hour\)\), the cost at the forecast/);
    expect(formatSimulation(fromConfig, options.from, options.to).split('\n')[1]).toBe(fromConfig.setup);
    const flag = await simulate(config, { ...options, ambientZ: 1.28 });
    expect(flag.setup).toMatch(/\+ z 1\.28 × σ\(lead\)/);
    const zero = await simulate(config, { ...options, ambientZ: 0 });
    expect(zero.setup).toMatch(/\+ z 0 × σ\(lead\)/);
    const observed = await simulate(config, { ...options, weatherForecast: 'observed' });
    expect(observed.setup).toMatch(/; ambient limits at the temperature given \(no margin\)$/);
    // Seville in July: the margin changes the plans (they keep further from the limits).
    expect(flag.days.map((d) => d.planEur)).not.toEqual(zero.days.map((d) => d.planEur));
  }, 120_000);
});
