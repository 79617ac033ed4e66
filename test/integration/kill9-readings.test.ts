import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { runUntilKilled } from '../helpers/kill9.js';

const writer = fileURLToPath(new URL('../helpers/readings-writer.ts', import.meta.url));
const t0 = Date.parse('2025-10-01T00:00:00Z');

/**
 * The documented loss window of group commit: a kill -9 loses exactly the cycles read after the last commit that
 * resolved (plus the one in flight), never one that a resolved commit held, and never leaves a hole.
 */
describe('kill -9 of a process writing Modbus readings by group commit', () => {
  it('keeps every cycle up to the last acknowledged commit, loses only later ones, three kills in a row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-kill9-readings-'));
    for (let round = 0; round < 3; round++) {
      let lastAck = -1;
      let lastRead = -1;
      let acks = 0;
      await runUntilKilled(writer, dir, (line) => {
        const [kind, n] = line.split(' ');
        if (kind === 'read') lastRead = Number(n);
        if (kind === 'ack') {
          lastAck = Math.max(lastAck, Number(n));
          acks++;
        }
        // Kill with cycles waiting for the next commit: they are the loss window.
        return acks >= 5 && lastRead > lastAck + 3;
      });
      const store = await SeriesStore.open(dir, { now: () => t0 });
      try {
        await store.readings.register({ device: 'line', source: 'modbus/line', pollMs: 1000, series: Array.from({ length: 100 }, (_, i) => `sensor.p${i}`), units: Array.from({ length: 100 }, () => 'degC'), blockOf: Array.from({ length: 100 }, () => 0) });
        const stored = (await store.read('sensor.p7', t0, t0 + (lastRead + 10) * 1000)).map((s) => Math.round(s.value - 0.007));
        const kept = stored.length - 1;
        // No hole: the cycles on disk are 0..kept, each once.
        expect(stored).toEqual(Array.from({ length: kept + 1 }, (_, i) => i));
        // Nothing acknowledged is lost; what is lost was read after the last acknowledgement.
        expect(kept).toBeGreaterThanOrEqual(lastAck);
        expect(kept).toBeLessThanOrEqual(lastRead);
        expect((await store.latest('sensor.p99'))!.value).toBeCloseTo(kept + 0.099, 6);
      } finally {
        await store.close();
      }
    }
  });
});
