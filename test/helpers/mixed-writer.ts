// Child process for the kill -9 test of plan writes and the outbox: prints "ack plan <v>" / "ack outbox <seq>" after each acknowledged write.
import { SeriesStore } from '../../gateway/series/store.js';

const store = await SeriesStore.open(process.argv[2]!);
const runs = Array.from({ length: 16 }, (_, i) => ({ process: 'conching', batch: i, start: i * 900_000, padding: 'x'.repeat(2000) }));
for (let v = 1; ; v++) {
  await store.setValue('planner.current', { doc: { version: v, runs }, startMs: v });
  process.stdout.write(`ack plan ${v}\n`);
  const e = await store.outboxAppend({ topic: `plan`, payload: JSON.stringify({ version: v }), retain: true, at: v });
  process.stdout.write(`ack outbox ${e.seq}\n`);
  if (v % 3 === 0) {
    const oldest = await store.outboxPeek(1);
    await store.outboxDelete(oldest.map((o) => o.seq));
    process.stdout.write(`ack drained ${oldest[0]!.seq}\n`);
  }
}
