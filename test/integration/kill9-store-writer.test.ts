import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { runUntilKilled } from '../helpers/kill9.js';

const writer = fileURLToPath(new URL('../helpers/store-writer.ts', import.meta.url));
const DAY = 86_400_000;
const t0 = Date.parse('2024-01-01T00:00:00Z');

/** Kills the day writer after `acks` acknowledged batches; returns the last ack seen. */
async function writeThenKill(dir: string, acks: number): Promise<number> {
  let last = -1;
  await runUntilKilled(writer, dir, (line) => {
    const m = /^ack (\d+)$/.exec(line);
    if (m) last = Number(m[1]);
    return last >= acks - 1;
  });
  return last;
}

describe('kill -9 mid-write', () => {
  it('keeps every acknowledged batch, twice in a row, and the store opens each time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-kill9-'));
    for (let round = 0; round < 2; round++) {
      const lastAck = await writeThenKill(dir, 40);
      expect(lastAck).toBeGreaterThanOrEqual(39);
      const store = await SeriesStore.open(dir);
      try {
        const slots = await store.read('omie_es', t0, t0 + (lastAck + 1) * DAY);
        expect(slots).toHaveLength((lastAck + 1) * 96);
        expect(slots[96 * lastAck + 95]!.value).toBeCloseTo(lastAck + 0.095, 6);
        const starts = slots.map((s) => s.start);
        expect(new Set(starts).size).toBe(starts.length);
      } finally {
        await store.close();
      }
    }
  });
});

describe('kill -9 during plan writes and outbox appends and drains', () => {
  it('keeps the last acknowledged plan whole, every acknowledged outbox entry in order, and nothing drained comes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-kill9-mixed-'));
    const mixed = fileURLToPath(new URL('../helpers/mixed-writer.ts', import.meta.url));
    const acks = { plan: 0, outbox: [] as number[], drained: [] as number[] };
    await runUntilKilled(mixed, dir, (line) => {
      const [, kind, n] = line.split(' ');
      if (kind === 'plan') acks.plan = Number(n);
      if (kind === 'outbox') acks.outbox.push(Number(n));
      if (kind === 'drained') acks.drained.push(Number(n));
      return acks.plan >= 60;
    });
    const store = await SeriesStore.open(dir);
    try {
      const plan = await store.getValue<{ doc: { version: number; runs: unknown[] } }>('planner.current');
      expect(plan!.doc.version).toBeGreaterThanOrEqual(acks.plan);
      expect(plan!.doc.runs).toHaveLength(16);
      const left = (await store.outboxPeek(10_000)).map((e) => e.seq);
      const expected = acks.outbox.filter((s) => !acks.drained.includes(s));
      // A drain that completed after the last line we read removed the oldest entry without telling us.
      const tail = left[0] === expected[0] ? expected : expected.slice(1);
      expect(left.slice(0, tail.length)).toEqual(tail);
      expect(left.some((s) => acks.drained.includes(s))).toBe(false);
      expect([...left].sort((a, b) => a - b)).toEqual(left);
    } finally {
      await store.close();
    }
  });
});
