import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeBackup } from './backup.js';
import type { SeriesStore } from './store.js';

/** `choco-edge-<site>-<UTC yyyymmddThhmmssZ>.jsonl.gz`: the files the backup job writes, and the only ones it deletes. */
export const SCHEDULED_BACKUP_FILE = /^choco-edge-([a-z0-9_-]+)-(\d{8}T\d{6}Z)\.jsonl\.gz$/;

export interface ScheduledBackupResult {
  file: string;
  bytes: number;
  /** Older backups of this site deleted to keep `keep`. */
  deleted: string[];
  kept: number;
}

/**
 * The scheduled `backup` job: the running gateway's store (a LevelDB snapshot: writes go on meanwhile) and the
 * config file to `<dir>/choco-edge-<site>-<UTC time>.jsonl.gz`, written as `.partial` and renamed when complete,
 * then the backups of this site beyond the newest `keep` are deleted (only files named as this job names them:
 * a file put there by hand is never touched). Throws when the backup cannot be written; nothing is pruned then.
 * Restore one with `choco-edge restore --from FILE` into an empty data folder.
 */
export async function runScheduledBackup(store: SeriesStore, options: { dir: string; keep: number; site: string; version: string; configFile?: string; now: number }): Promise<ScheduledBackupResult> {
  mkdirSync(options.dir, { recursive: true, mode: 0o750 });
  const stamp = `${new Date(options.now).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
  const file = join(options.dir, `choco-edge-${options.site}-${stamp}.jsonl.gz`);
  await writeBackup(store, file, { version: options.version, configFile: options.configFile, now: options.now });
  const ours = readdirSync(options.dir)
    .map((name) => ({ name, m: SCHEDULED_BACKUP_FILE.exec(name) }))
    .filter((x) => x.m && x.m[1] === options.site)
    .sort((a, b) => b.m![2]!.localeCompare(a.m![2]!));
  const deleted = ours.slice(Math.max(1, options.keep)).map((x) => join(options.dir, x.name));
  for (const old of deleted) rmSync(old, { force: true });
  return { file, bytes: statSync(file).size, deleted, kept: ours.length - deleted.length };
}
