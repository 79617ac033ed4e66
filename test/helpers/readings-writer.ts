// Child process for the kill -9 test of the readings log: appends one cycle every 2 ms and prints "read <n>";
// group commit every 50 ms; prints "ack <n>" when a commit holding cycles up to n has resolved.
import { SeriesStore } from '../../gateway/series/store.js';

export const READINGS_T0 = Date.parse('2025-10-01T00:00:00Z');
export const READINGS_COMMIT_MS = 50;

// The clock stays at the readings' time: they are not old enough to be folded into aggregates.
const store = await SeriesStore.open(process.argv[2]!, { readings: { commitMs: READINGS_COMMIT_MS }, now: () => READINGS_T0 });
const series = Array.from({ length: 100 }, (_, i) => `sensor.p${i}`);
await store.readings.register({ device: 'line', source: 'modbus/line', pollMs: 1000, series, units: series.map(() => 'degC'), blockOf: series.map(() => 0) });
const first = (await store.latest('sensor.p0'))?.value ?? -1;
let commits = store.readings.stats.commits;
for (let n = first + 1; ; n++) {
  store.readings.append('line', { at: READINGS_T0 + n * 1000, offsets: [0], values: series.map((_, i) => n + i / 1000) });
  process.stdout.write(`read ${n}\n`);
  await new Promise((r) => setTimeout(r, 2));
  if (store.readings.stats.commits !== commits) {
    commits = store.readings.stats.commits;
    process.stdout.write(`ack ${(store.readings.stats.committedUntil! - READINGS_T0) / 1000}\n`);
  }
}
