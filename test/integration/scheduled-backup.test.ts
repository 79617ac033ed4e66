import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { restoreBackup } from '../../gateway/series/backup.js';
import { SCHEDULED_BACKUP_FILE } from '../../gateway/series/scheduled-backup.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

const NOW = '2018-04-02T10:00:00Z';

/**
 * The scheduled `backup` job on a running gateway (its store open, writes going on): one file per run, named by
 * site and UTC time, the newest `keep` kept, a file put there by hand never deleted; and the restore drill of the
 * README: the newest backup restored into an empty data folder holds what the store held.
 */
describe('scheduled backups keeping N, and the restore drill', () => {
  let gw: Gateway;
  const dir = mkdtempSync(join(tmpdir(), 'choco-backups-'));

  beforeAll(async () => {
    const config = testConfig('http://127.0.0.1:9', {
      sources: { ree: { enabled: false }, omie: { enabled: false }, esios: { enabled: false }, replay: { enabled: true } },
      store: { backups: { dir, keep: 3 } },
      scheduler: { jobs: { backup: { enabled: true } } },
    });
    ({ gw } = await startGateway(config, NOW));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('runs as a job, keeps the newest 3 of its own files, and never deletes another file', async () => {
    writeFileSync(join(dir, 'choco-edge-before-upgrade.jsonl.gz'), 'kept by hand');
    expect(gw.scheduler.status().find((j) => j.id === 'backup')).toMatchObject({ enabled: true, cron: '30 3 * * *' });
    const clock = (gw as unknown as { clock: { advance(ms: number): Promise<void> } }).clock;
    const summaries: string[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await gw.scheduler.trigger('backup');
      summaries.push(JSON.stringify(run));
      await clock.advance(60_000);
    }
    const ours = readdirSync(dir).filter((f) => SCHEDULED_BACKUP_FILE.test(f)).sort();
    expect(ours).toEqual(['choco-edge-linares-20180402T100300Z.jsonl.gz', 'choco-edge-linares-20180402T100400Z.jsonl.gz', 'choco-edge-linares-20180402T100200Z.jsonl.gz'].sort());
    expect(existsSync(join(dir, 'choco-edge-before-upgrade.jsonl.gz'))).toBe(true);
    expect(readdirSync(dir).some((f) => f.endsWith('.partial'))).toBe(false);
    expect(summaries.at(-1)).toMatch(/3 kept, 1 older deleted/);
  });

  it('restore drill: the newest backup into an empty data folder gives back every entry', async () => {
    const newest = readdirSync(dir).filter((f) => SCHEDULED_BACKUP_FILE.test(f)).sort().at(-1)!;
    const drill = mkdtempSync(join(tmpdir(), 'choco-drill-'));
    const store = await SeriesStore.open(join(drill, 'store'));
    try {
      const r = await restoreBackup(store, join(dir, newest));
      expect(r.entries).toBeGreaterThan(100);
      expect(r.createdAt).toBe('2018-04-02T10:04:00.000Z');
      // The replayed prices are there, as the running gateway has them.
      const from = Date.parse('2018-04-02T00:00:00Z');
      const restored = await store.read('omie_es', from, from + 86_400_000);
      expect(restored.length).toBeGreaterThan(20);
      expect(restored).toEqual(await gw.store.read('omie_es', from, from + 86_400_000));
    } finally {
      await store.close();
    }
  });
});
