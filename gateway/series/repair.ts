import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { Level } from 'level';
import { REPAIR_REMEDY, StoreOpenError, countAllRecords, levelDbCause, openRefusal, readMarker, writeMarker } from './integrity.js';
import { VerifiedRanges } from './verified-ranges.js';

export interface RepairResult {
  /** Where the damaged directory was copied before LevelDB touched it. */
  backup: string;
  /** Records at the last clean shutdown, when known. */
  recordsBefore: number | null;
  recordsAfter: number;
  /** Losses still to be acknowledged (POST /api/store/losses/acknowledge), this repair's finding last. */
  losses: string[];
}

/**
 * `choco-edge store repair`: copies the store directory aside, lets LevelDB rebuild its MANIFEST and CURRENT from
 * the tables and logs that remain (LevelDB's RepairDB: unreadable blocks are dropped), then counts what is left and
 * records the repair in the marker. The gateway must be stopped (a held LOCK is refused).
 */
export async function repairStore(dir: string, now = new Date()): Promise<RepairResult> {
  if (!existsSync(dir) || readdirSync(dir).length === 0) throw new StoreOpenError(dir, 'there is no store here to repair', 'check dataDir (CHOCO_EDGE_DATA_DIR)');
  // A byte copy of the damaged store first, before LevelDB (or anything else) opens it: an open recovers the .log
  // into a table and writes a new MANIFEST, so a copy taken after it would lack exactly the damaged files.
  const backup = `${dir}.before-repair-${now.toISOString().replace(/[:.]/g, '-')}`;
  cpSync(dir, backup, { recursive: true });
  const probe = new Level<string, unknown>(dir, { createIfMissing: false });
  try {
    await probe.open();
    await probe.close();
  } catch (error) {
    const refusal = openRefusal(dir, error, 'stop the gateway first, then repair');
    // In use, read-only or not ours: nothing was repaired, so the copy is not kept.
    if (refusal.remedy !== REPAIR_REMEDY) {
      rmSync(backup, { recursive: true, force: true });
      throw refusal;
    }
  }
  await (Level as unknown as { repair(location: string): Promise<void> }).repair(dir);
  // The summaries of verified ranges describe the store before the repair: the next open reads everything again.
  VerifiedRanges.forget(dir);
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
  // The count from before the damage: the last clean shutdown's, or else the last open's (a lower bound the gateway
  // counted itself). Without either, nobody can vouch for what the repair left, and that is reported as such.
  const recordsBefore = marker && marker.records > 0 ? marker.records : null;
  const at = now.toISOString();
  const found =
    recordsBefore === null ? `repair at ${at} left ${counted.records} records; the count before the damage is unknown, so what was lost cannot be told (copy of the damaged store: ${backup})`
    : counted.records < recordsBefore ? `repair at ${at}: ${recordsBefore - counted.records} of ${recordsBefore} records lost${marker!.cleanShutdown ? '' : ' (counted at the last open, before an unclean stop)'}; ${counted.records} left (copy of the damaged store: ${backup})`
    : null;
  // A loss found by the repair, like those found before it, stays in health until it is acknowledged.
  const losses = [...(marker?.losses ?? []), ...(found ? [found] : [])];
  writeMarker(dir, { createdAt: marker?.createdAt ?? at, records: counted.records, countedAt: at, cleanShutdown: true, lastRepair: { at, backup, recordsBefore: recordsBefore ?? -1, recordsAfter: counted.records }, ...(losses.length ? { losses } : {}) });
  return { backup, recordsBefore, recordsAfter: counted.records, losses };
}
