import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { checkGzipFile } from '../config/cli-input.js';
import type { SeriesStore } from './store.js';

export const BACKUP_FORMAT = 'choco-edge-backup';

/** A backup as gzipped JSON lines: a header (format, version, time, config text), then one [key, value] per line. */
export async function* backupLines(store: SeriesStore, meta: { version: string; configText: string | null; now: number }): AsyncGenerator<string> {
  yield `${JSON.stringify({ format: BACKUP_FORMAT, formatVersion: 1, gatewayVersion: meta.version, createdAt: new Date(meta.now).toISOString(), config: meta.configText })}\n`;
  for await (const entry of store.entries()) yield `${JSON.stringify(entry)}\n`;
}

export async function writeBackup(store: SeriesStore, file: string, meta: { version: string; configFile?: string; now: number }): Promise<{ file: string }> {
  const configText = meta.configFile && existsSync(meta.configFile) ? readFileSync(meta.configFile, 'utf8') : null;
  const partial = `${file}.partial`;
  try {
    await pipeline(Readable.from(backupLines(store, { version: meta.version, configText, now: meta.now })), createGzip(), createWriteStream(partial));
    renameSync(partial, file);
  } catch (error) {
    // Nothing left behind: a backup that did not complete is not a file anyone should find and restore.
    rmSync(partial, { force: true });
    throw error;
  }
  return { file };
}

export class BackupError extends Error {}

/** Restores into an empty store (or any store with `force`); the whole file is checked before anything is written. */
export async function restoreBackup(store: SeriesStore, file: string, options: { force?: boolean } = {}): Promise<{ entries: number; config: string | null; createdAt: string }> {
  checkGzipFile(file, 'backup', 'a .jsonl.gz file written by choco-edge backup');
  if (!options.force && !(await store.isEmpty())) throw new BackupError('the data directory already holds a store; restore into an empty one or pass --force');
  const lines = async function* (): AsyncGenerator<string> {
    const gunzip = createGunzip();
    const input = createReadStream(file).on('error', (e) => gunzip.destroy(e));
    gunzip.on('error', () => undefined);
    const rl = createInterface({ input: input.pipe(gunzip), crlfDelay: Infinity });
    for await (const line of rl) if (line.trim()) yield line;
  };
  type Header = { format?: string; config?: string | null; createdAt?: string };
  let header: Header | undefined;
  let count = 0;
  const checked = async function* (): AsyncGenerator<unknown> {
    try {
      for await (const line of lines()) {
        try {
          yield JSON.parse(line) as unknown;
        } catch {
          throw new BackupError(`${file}: line ${count + (header ? 2 : 1)} is not JSON; the backup is damaged`);
        }
      }
    } catch (error) {
      if (error instanceof BackupError) throw error;
      throw new BackupError(`${file}: cannot be read to the end (${(error as Error).message}); the backup is damaged`);
    }
  };
  for await (const parsed of checked()) {
    if (!header) {
      const h = parsed as Header;
      if (h?.format !== BACKUP_FORMAT) throw new BackupError(`${file} is not a choco-edge backup`);
      header = h;
      continue;
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string') throw new BackupError(`${file}: line ${count + 2} is not a [key, value] pair`);
    count++;
  }
  const found = header as Header | undefined;
  if (!found) throw new BackupError(`${file} is empty`);
  const entries = async function* (): AsyncGenerator<[string, unknown]> {
    let first = true;
    for await (const line of lines()) {
      if (first) {
        first = false;
        continue;
      }
      yield JSON.parse(line) as [string, unknown];
    }
  };
  const written = await store.importEntries(entries());
  if (written !== count) throw new BackupError(`restored ${written} entries of ${count}`);
  return { entries: written, config: found.config ?? null, createdAt: found.createdAt ?? '' };
}
