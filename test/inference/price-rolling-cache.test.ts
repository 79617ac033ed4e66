import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rollingRun } from '../../models/eval/price-rolling.js';
import { initBackend, tf } from '../../gateway/inference/backend.js';
import { fileLoadHandler } from '../../gateway/inference/io.js';
import { NETWORK_MEMBER, networkMember } from '../../gateway/inference/price-recalibrate.js';
import { learHistory } from '../../gateway/inference/price-lear.js';
import { loadPriceSlots } from '../../models/eval/datasets.js';
import { projectPath } from '../../gateway/util/version.js';
import { FIXTURES } from '../helpers/fixture-server.js';

// Real OMIE quarter-hour prices (test/fixtures/models/PROVENANCE.md).
const PRICES = join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz');
const settings = { windows: [14, 28], lambda: 0.05, conformalDays: 7, weightDays: 7 };

describe('the evaluation cache of the rolling replay', () => {
  it('gives the same forecasts whatever ran before: origins computed without their full warm-up are never cached', () => {
    const shared = mkdtempSync(join(tmpdir(), 'choco-rolling-shared-'));
    // A later window first, then one that starts earlier and overlaps its warm-up.
    rollingRun([PRICES], undefined, '2025-10-20', '2025-10-24', settings, { cacheDir: shared });
    const after = rollingRun([PRICES], undefined, '2025-10-08', '2025-10-24', settings, { cacheDir: shared });
    const fresh = rollingRun([PRICES], undefined, '2025-10-08', '2025-10-24', settings, { cacheDir: mkdtempSync(join(tmpdir(), 'choco-rolling-fresh-')) });
    expect(after.cached).toBeGreaterThan(0);
    for (const [last, forecasts] of fresh.byOrigin) {
      if (last < '2025-10-08') continue;
      // Compared as the cache stores them (JSON: -0 and 0 are one number there).
      expect(JSON.stringify(after.byOrigin.get(last)), last).toBe(JSON.stringify(forecasts));
    }
  }, 120_000);
});

describe('the TF.js network as a member of the combination', () => {
  it('forecasts per clock period at the market resolution (DST day included), and never from origins inside its training data', async () => {
    await initBackend(false);
    const network = await tf.loadLayersModel(fileLoadHandler(projectPath('models/price-forecaster/1.0.0')));
    const h = learHistory(loadPriceSlots([PRICES]));
    const member = networkMember(network, h, undefined, '2025-10-20');
    expect(member('2025-10-19', 1)).toBeUndefined();
    // 2025-10-26 has 25 hours (100 quarter-hours); members are laid out per clock period: 96.
    const dst = member('2025-10-25', 1)![NETWORK_MEMBER]!;
    expect(dst).toHaveLength(96);
    expect(Array.from(dst).every(Number.isFinite)).toBe(true);
    // An hour's value fills its four quarter-hours.
    expect(dst[40]).toBe(dst[41]);
    expect(member('2025-10-24', 2)![NETWORK_MEMBER]).toHaveLength(96);
    network.dispose();
  }, 120_000);
});
