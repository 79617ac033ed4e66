import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';

/**
 * A real 2 MB tmpfs filled up while the store writes: needs root to mount (CI runs as root).
 * Elsewhere the test is skipped, with the reason in its name.
 */
const isRoot = process.getuid?.() === 0;
const canMount = isRoot && (() => {
  try {
    execFileSync('which', ['mount']);
    return true;
  } catch {
    return false;
  }
})();

const H = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe.skipIf(!canMount)(`disk full on a real 2 MB tmpfs${canMount ? '' : ' (skipped: mounting a tmpfs needs root)'}`, () => {
  let mnt: string;
  let store: SeriesStore | undefined;
  beforeAll(() => {
    mnt = mkdtempSync(join(tmpdir(), 'choco-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    await store?.close().catch(() => undefined);
    try {
      execFileSync('umount', [mnt]);
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('never loses an acknowledged write: after a failed write the store reopens before acknowledging anything else', async () => {
    for (const round of [1, 2, 3]) {
      const dir = join(mnt, `store-${round}`);
      mkdirSync(dir);
      store = await SeriesStore.open(dir);
      const acked = new Map<number, number>();
      let next = 0;
      const writeBatch = async (n: number): Promise<boolean> => {
        const slots = Array.from({ length: n }, (_, i) => ({ start: T0 + (next + i) * H, end: T0 + (next + i + 1) * H, value: round * 1000 + next + i }));
        next += n;
        try {
          await store!.write('pvpc', 'EUR/MWh', slots, { source: 'test', fetchedAt: next });
          for (const s of slots) acked.set(s.start, s.value);
          return true;
        } catch (error) {
          expect(error).toMatchObject({ code: 'store_failed' });
          expect(String((error as Error).message)).toMatch(/No space left|ENOSPC|IO error|reopen/i);
          return false;
        }
      };
      for (let i = 0; i < 20; i++) expect(await writeBatch(10)).toBe(true);
      // Fill the disk: a filler file takes what is left but a few KB.
      const filler = join(mnt, `filler-${round}`);
      const chunk = Buffer.alloc(16 * 1024, 7);
      let filled = 0;
      try {
        for (;;) {
          writeFileSync(filler, chunk, { flag: 'a' });
          filled += chunk.length;
        }
      } catch {
        // ENOSPC: the disk is full
      }
      expect(filled).toBeGreaterThan(0);
      let failures = 0;
      for (let i = 0; i < 200 && failures < 3; i++) if (!(await writeBatch(40))) failures++;
      expect(failures).toBeGreaterThan(0);
      const h = store.integrity();
      expect(h.state).not.toBe('ok');
      expect(h.message).toMatch(/write failed|No space|ENOSPC|IO error/i);
      rmSync(filler);
      // Space is back: writes are acknowledged again.
      for (let i = 0; i < 10; i++) expect(await writeBatch(5)).toBe(true);
      await store.close();
      store = await SeriesStore.open(dir);
      const back = new Map((await store.read('pvpc', T0, T0 + next * H + H)).map((s) => [s.start, s.value]));
      const lost = [...acked].filter(([start, value]) => back.get(start) !== value);
      expect(lost.length, `round ${round}: ${lost.length} of ${acked.size} acknowledged slots lost`).toBe(0);
      expect(store.integrity().losses).toEqual([]);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
