// Where the plan fixed at 10:00 D-1 loses against perfect hindsight (issue #23), and decision rules tried against it.
// Replays each day as `simulate --weather-forecast noisy --seed 1` does (recalibrated forecaster with the shipped
// network as a member, REE D-1 drivers, Madrid Meteostat), after `npm run build`:
//   node tools/fixed-plan-gap.mjs FROM TO [DATA_DIR=../shared/data] [OUT.json]
// Prints the share of the hindsight saving each rule keeps and the decomposition of the point plan's loss.
// Rules (planning prices for day D; everything known at 10:00 D-1): point (as simulate); mid, the 10-90 % band's
// midpoint; debias, + the mean error of each local hour over the last 28 days; k125/k15/k2, the intraday shape
// stretched around the day's mean; roll, stretched by the slope of the last 28 days' real on forecast shape
// (clamped 1..3); guard, the fixed shift when the plan's 10th-percentile saving over 200 band scenarios is < 0.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { loadHourlyPrices, loadWeather } = await dist('models/eval/datasets.js');
const { loadConfig } = await dist('gateway/config/load.js');
const { projectPath } = await dist('gateway/util/version.js');
const { buildPlannerInput } = await dist('gateway/planner/build.js');
const { planSchedule } = await dist('gateway/planner/plan.js');
const { solveGreedy } = await dist('gateway/planner/greedy.js');
const { totalCost } = await dist('gateway/planner/holding.js');
const { savingBand } = await dist('gateway/planner/band.js');
const { noisyTemperatures } = await dist('models/eval/simulate-live.js');
const { localDayRange, addDays, HOUR_MS } = await dist('gateway/time/tz.js');
const { networkMemberFrom, rollingRun } = await dist('models/eval/price-rolling.js');

const [from, to, dataDir = join(root, '..', 'shared', 'data'), out] = process.argv.slice(2);
if (!from || !to) throw new Error('usage: node tools/fixed-plan-gap.mjs FROM TO [DATA_DIR] [OUT.json]');
const config = loadConfig({});
const tz = config.site.timezone;
const pricePaths = [join(dataDir, 'omie_day_ahead_spain_hourly.csv.gz'), join(dataDir, 'omie_day_ahead_spain_15min.csv.gz')];
const prices = loadHourlyPrices(pricePaths[0]);
const weather = loadWeather(join(dataDir, 'meteostat_madrid_barajas_hourly.csv.gz'));
const r = config.models.recalibration;
const network = await networkMemberFrom(projectPath('models/price-forecaster/1.0.0'));
const run = rollingRun(pricePaths, join(dataDir, 'esios_d1_forecasts_spain_hourly.csv.gz'), addDays(from, -1), addDays(to, -1), { windows: r.windows, lambda: r.lambda, conformalDays: r.conformalDays, weightDays: r.weightDays }, { tz, network });
const fc = new Map([...run.byOrigin].map(([last, f]) => [last, f.find((x) => x.k === 1)?.slots ?? []]));
const hours = (slots, starts, f) => starts.map((t) => {
  const s = slots.filter((x) => x.start >= t && x.start < t + HOUR_MS);
  return s.length ? s.reduce((a, x) => a + f(x), 0) / s.length : NaN;
});
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const runsToPlace = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.batchesPerDay]));
const kwOf = Object.fromEntries(config.planner.processes.map((p) => [p.name, p.kw]));
const days = [];
const hist = [];
for (let date = from; date < to; date = addDays(date, 1)) {
  const { start, end } = localDayRange(date, tz);
  const starts = [];
  for (let t = start; t < end; t += HOUR_MS) starts.push(t);
  const actual = starts.map((t) => prices.get(t));
  const slots = fc.get(addDays(date, -1));
  if (actual.some((p) => p === undefined) || !slots?.length) continue;
  const point = hours(slots, starts, (x) => x.value);
  if (!point.every(Number.isFinite)) continue;
  const obs = starts.map((t) => weather.temp.get(t) ?? null);
  const noisy = noisyTemperatures(obs, date, 1);
  const base = { starts, resolutionMs: HOUR_MS, priceSource: starts.map(() => 'forecast'), runsToPlace };
  const real = buildPlannerInput(config.planner, { ...base, priceEurMwh: actual, outdoorC: obs }, tz);
  const mk = (p) => buildPlannerInput(config.planner, { ...base, priceEurMwh: p, outdoorC: noisy }, tz);
  const hind = await planSchedule(real);
  const baseline = solveGreedy(buildPlannerInput(config.planner, { ...base, priceEurMwh: actual, outdoorC: obs, baseline: true }, tz), { earliest: true });
  if (hind.infeasible || baseline.infeasible) continue;
  const past = hist.slice(-28);
  const bias = starts.map((_, i) => (past.length ? mean(past.map((d) => d.a[i] - d.f[i]).filter(Number.isFinite)) : 0));
  const scaled = (k) => { const m = mean(point); return point.map((p) => m + k * (p - m)); };
  let sxy = 0;
  let sxx = 0;
  for (const h of past) { const mf = mean(h.f); const ma = mean(h.a); h.f.forEach((f, i) => { sxy += (f - mf) * ((h.a[i] ?? ma) - ma); sxx += (f - mf) ** 2; }); }
  const kRoll = sxx > 0 ? Math.min(3, Math.max(1, sxy / sxx)) : 1;
  const low = hours(slots, starts, (x) => x.low ?? x.value);
  const high = hours(slots, starts, (x) => x.high ?? x.value);
  const rules = { point, mid: low.map((l, i) => (l + high[i]) / 2), debias: point.map((p, i) => p + bias[i]), k125: scaled(1.25), k15: scaled(1.5), k2: scaled(2), roll: scaled(kRoll) };
  const res = {};
  let pointRuns = baseline.runs;
  for (const [k, p] of Object.entries(rules)) {
    const plan = await planSchedule(mk(p));
    const runs = plan.infeasible ? baseline.runs : plan.runs;
    if (k === 'point') pointRuns = runs;
    res[k] = totalCost(real, runs).eur;
  }
  const band = savingBand(mk(point), pointRuns, baseline.runs, low, high, { seed: 1 });
  res.guard = totalCost(real, band && band.p10Eur < 0 ? baseline.runs : pointRuns).eur;
  // kWh the plan and hindsight run 10:00-17:00 local (the midday solar dip)
  const midday = (runs) => runs.reduce((a, x) => { let n = 0; for (let t = x.startSlot; t < x.startSlot + x.slots; t++) if (new Date(starts[t]).toLocaleString('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }) >= '10' && new Date(starts[t]).toLocaleString('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }) < '17') n++; return a + n * kwOf[x.process]; }, 0);
  hist.push({ f: point, a: actual });
  days.push({ date, weekday: new Date(start + 12 * HOUR_MS).getUTCDay(), hindsight: totalCost(real, hind.runs).eur, baseline: totalCost(real, baseline.runs).eur, ...res, kRoll, middayKwhPlan: midday(pointRuns), middayKwhHindsight: midday(hind.runs) });
}
if (out) writeFileSync(out, JSON.stringify(days));
const sum = (f, xs = days) => xs.reduce((a, x) => a + f(x), 0);
const H = sum((d) => d.baseline - d.hindsight);
console.log(`${from} → ${to}: ${days.length} days, hindsight saving ${H.toFixed(2)} €`);
for (const k of ['point', 'mid', 'debias', 'k125', 'k15', 'k2', 'roll', 'guard']) console.log(`${k.padEnd(6)} saved ${sum((d) => d.baseline - d[k]).toFixed(2)} €, ${((100 * sum((d) => d.baseline - d[k])) / H).toFixed(1)} % of the hindsight saving`);
const loss = (d) => d.point - d.hindsight;
const missed = days.filter((d) => d.middayKwhHindsight > d.middayKwhPlan + 1);
const extra = days.filter((d) => d.middayKwhHindsight < d.middayKwhPlan - 1);
const same = days.filter((d) => Math.abs(d.middayKwhHindsight - d.middayKwhPlan) <= 1);
console.log(`point plan's loss ${sum(loss).toFixed(2)} €: hindsight ran more kWh 10-17 h on ${missed.length} days (${sum(loss, missed).toFixed(2)} €), the plan ran more there on ${extra.length} days (${sum(loss, extra).toFixed(2)} €), same on ${same.length} days (${sum(loss, same).toFixed(2)} €)`);
const worst = [...days].sort((a, b) => loss(b) - loss(a)).slice(0, 10);
console.log(`10 worst days: ${((100 * sum(loss, worst)) / sum(loss)).toFixed(0)} % of the loss: ${worst.map((d) => `${d.date} ${loss(d).toFixed(2)} €`).join(', ')}`);
const dearer = days.filter((d) => d.point > d.baseline + 0.005);
console.log(`days the plan cost more than the fixed shift: ${dearer.length} (${sum((d) => d.point - d.baseline, dearer).toFixed(2)} €)`);
