// One daily recalibration at the market's resolution with the shipped settings, in a process of its own so that
// its memory is its own: prints one JSON line (used by `npm run bench`). The shipped TF.js network is a member, as on the box.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadDriverSlots, loadPriceSlots } from '../../models/eval/datasets.js';
import { DEFAULT_LEAR, calibrateLear, learHistory } from '../../gateway/inference/price-lear.js';
import { networkMember, recalibrate } from '../../gateway/inference/price-recalibrate.js';
import { initBackend, tf } from '../../gateway/inference/backend.js';
import { fileLoadHandler } from '../../gateway/inference/io.js';
import { addDays } from '../../gateway/time/tz.js';
import { FIXTURES } from '../helpers/fixture-server.js';

const shared = new URL('../../../shared/data/', import.meta.url).pathname;
const full = existsSync(join(shared, 'omie_day_ahead_spain_15min.csv.gz'));
const prices = full ? [join(shared, 'omie_day_ahead_spain_hourly.csv.gz'), join(shared, 'omie_day_ahead_spain_15min.csv.gz')] : [join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz')];
const drivers = full ? join(shared, 'esios_d1_forecasts_spain_hourly.csv.gz') : join(FIXTURES, 'models/esios_d1_drivers_2025-08-20_2025-11-16.csv.gz');
const lastDay = full ? '2025-12-15' : '2025-11-14';
const h = learHistory(loadPriceSlots(prices), loadDriverSlots(drivers));
const active = calibrateLear(h, addDays(lastDay, -2), DEFAULT_LEAR);
const memo = new Map();
await initBackend(false);
const network = await tf.loadLayersModel(fileLoadHandler(new URL('../../models/price-forecaster/1.0.0', import.meta.url).pathname));
const external = networkMember(network, h);
global.gc?.();
const rssBefore = process.memoryUsage().rss;
// The first run on a box replays the whole 14-day backtest; the daily run after it calibrates once.
const first = recalibrate(h, addDays(lastDay, -1), DEFAULT_LEAR, { kind: 'calibration', calibration: active }, { guardDays: 14, tolerance: 0.02, memo, external });
const r = recalibrate(h, lastDay, DEFAULT_LEAR, { kind: 'calibration', calibration: first.candidate }, { guardDays: 14, tolerance: 0.02, memo, external });
const rssAfter = process.memoryUsage().rss;
console.log(JSON.stringify({ data: full ? 'shared/data (2018-2025)' : 'test fixture (3 months)', lastDay, first: first.cost, cost: r.cost, rssGrowthMb: Math.round(((rssAfter - rssBefore) / 2 ** 20) * 10) / 10, members: r.candidate.members.length, weights: r.candidate.weights, calibrationJsonKb: Math.round(JSON.stringify(r.candidate).length / 1024), promote: r.promote, backtest: r.backtest }));
