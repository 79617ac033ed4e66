// Child process for the kill -9 test: writes one day of quarter-hours per batch and prints "ack <n>" once LevelDB acknowledged it.
import { SeriesStore } from '../../gateway/series/store.js';

const dir = process.argv[2]!;
const store = await SeriesStore.open(dir, { sync: process.argv[3] !== 'nosync' });
const DAY = 86_400_000;
const t0 = Date.parse('2024-01-01T00:00:00Z');
for (let n = 0; ; n++) {
  const slots = Array.from({ length: 96 }, (_, i) => ({ start: t0 + n * DAY + i * 900_000, end: t0 + n * DAY + (i + 1) * 900_000, value: n + i / 1000 }));
  await store.write('omie_es', 'EUR/MWh', slots, { source: 'omie', fetchedAt: Date.now() });
  process.stdout.write(`ack ${n}\n`);
}
