import { cpSync, existsSync, readdirSync } from 'node:fs';
import { Level } from 'level';
import { StoreOpenError, countAllRecords, levelDbCause, readMarker, writeMarker } from './integrity.js';

export interface RepairResult {
  /** Where the damaged directory was copied before LevelDB touched it. */
  backup: string;
  /** Records at the last clean shutdown, when known. */
  recordsBefore: number | null;
  recordsAfter: number;
}

/**
 * `choco-edge store repair`: copies the store directory aside, lets LevelDB rebuild its MANIFEST and CURRENT from
 * the tables and logs that remain (LevelDB's RepairDB: unreadable blocks are dropped), then counts what is left and
 * records the repair in the marker. The gateway must be stopped (a held LOCK is refused).
 */
export async function repairStore(dir: string, now = new Date()): Promise<RepairResult> {
  if (!existsSync(dir) || readdirSync(dir).length === 0) throw new StoreOpenError(dir, 'there is no store here to repair', 'check dataDir (CHOCO_EDGE_DATA_DIR)');
  const probe = new Level<string, unknown>(dir, { createIfMissing: false });
  try {
    await probe.open();
    await probe.close();
  } catch (error) {
    const why = levelDbCause(error);
    if (/lock/i.test(why)) throw new StoreOpenError(dir, `it is in use (${why})`, 'stop the gateway first, then repair');
  }
  const backup = `${dir}.before-repair-${now.toISOString().replace(/[:.]/g, '-')}`;
  cpSync(dir, backup, { recursive: true });
  await (Level as unknown as { repair(location: string): Promise<void> }).repair(dir);
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json', createIfMissing: false });
  try {
    await db.open();
  } catch (error) {
    throw new StoreOpenError(dir, `still cannot be opened after repair: ${levelDbCause(error)}`, `restore a backup with \`choco-edge restore --from FILE\` into an empty data directory; the damaged files are in ${backup}`);
  }
  const counted = await countAllRecords(() => db.iterator());
  await db.close();
  if (counted.records === null) throw new StoreOpenError(dir, `records still unreadable after repair: ${counted.readError}`, `restore a backup; the damaged files are in ${backup}`);
  const marker = readMarker(dir);
  const recordsBefore = marker?.cleanShutdown ? marker.records : null;
  const at = now.toISOString();
  writeMarker(dir, { createdAt: marker?.createdAt ?? at, records: counted.records, countedAt: at, cleanShutdown: true, lastRepair: { at, backup, recordsBefore: recordsBefore ?? -1, recordsAfter: counted.records } });
  return { backup, recordsBefore, recordsAfter: counted.records };
}
