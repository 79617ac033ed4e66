import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, subscriber } from '../helpers/gateway.js';

/**
 * Issue #28.4: on a full disk /healthz answered 503 "Database is not open" instead of naming the store's failure,
 * bridge/health said nothing, and after space came back the store was reported as "0 records (new store)" while
 * thousands were there. A real gateway whose data folder is a small tmpfs (mounting needs root; skipped otherwise).
 */
const canMount = process.getuid?.() === 0 && (() => {
  try {
    execFileSync('which', ['mount']);
    return true;
  } catch {
    return false;
  }
})();

const H = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe.skipIf(!canMount)(`store health during a full disk${canMount ? '' : ' (skipped: mounting a tmpfs needs root)'}`, () => {
  let mnt: string;
  let gw: Gateway | undefined;
  beforeAll(() => {
    mnt = mkdtempSync(join(tmpdir(), 'choco-tmpfs-health-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    await gw?.stop().catch(() => undefined);
    try {
      execFileSync('umount', ['-l', mnt]);
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('names ENOSPC in /healthz and bridge/health, and counts the real records once space is back', async () => {
    const dataDir = join(mnt, 'data');
    ({ gw } = await startGateway(testConfig('http://127.0.0.1:9', { dataDir, sources: { esios: { enabled: false } } }), '2026-01-01T12:00:00Z'));
    const g = gw;
    const health = await subscriber(`mqtt://127.0.0.1:${g.brokerPorts!.port}`, 'choco-edge/bridge/health');
    let next = 0;
    const write = async (n: number): Promise<boolean> => {
      const slots = Array.from({ length: n }, (_, i) => ({ start: T0 + (next + i) * H, end: T0 + (next + i + 1) * H, value: next + i }));
      next += n;
      try {
        await g.store.write('pvpc', 'EUR/MWh', slots, { source: 'test', fetchedAt: next });
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50; i++) expect(await write(50)).toBe(true);
    const filler = join(mnt, 'filler');
    const chunk = Buffer.alloc(16 * 1024, 7);
    try {
      for (;;) writeFileSync(filler, chunk, { flag: 'a' });
    } catch {
      // ENOSPC: the disk is full
    }
    let failed = false;
    for (let i = 0; i < 400 && !failed; i++) failed = !(await write(40));
    expect(failed).toBe(true);

    // /healthz: the store's own failure, naming ENOSPC; never "Database is not open".
    const during = await fetch(`${g.http!.url}/healthz`);
    const body = (await during.json()) as { state: string; reasons: string[]; store: { state: string; message: string } };
    expect(JSON.stringify(body)).not.toMatch(/Database is not open/);
    expect(body.store.state).not.toBe('ok');
    expect(body.reasons[0]).toMatch(/ENOSPC/);
    // bridge/health says it too, by itself (the store's state changed).
    const published = await health.waitFor('choco-edge/bridge/health', (p: { store?: { state: string; message: string } }) => p.store?.state !== 'ok' && /ENOSPC/.test(p.store?.message ?? ''));
    expect(published.store.message).toMatch(/ENOSPC/);

    rmSync(filler);
    // Space is back: the store reopens, and its figures are counted again, not the ones from its open.
    const after = await vi.waitFor(
      async () => {
        const b = (await (await fetch(`${g.http!.url}/healthz`)).json()) as { store: { state: string; records: number | null; message: string } };
        if (b.store.state !== 'ok') throw new Error(`store still ${b.store.state}: ${b.store.message}`);
        return b.store;
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(after.message).not.toMatch(/new store/);
    expect(await write(5)).toBe(true);
    await g.stop();
    gw = undefined;
    const reopened = await SeriesStore.open(join(dataDir, 'store'));
    const real = reopened.integrity().records!;
    await reopened.close();
    expect(real).toBeGreaterThanOrEqual(2500);
    // What health said after the reopen is the real count then (5 records have been written since, and their meta).
    expect(after.records).toBeGreaterThanOrEqual(real - 6);
    expect(after.records).toBeLessThanOrEqual(real);
    await health.client.endAsync();
  }, 180_000);
});
