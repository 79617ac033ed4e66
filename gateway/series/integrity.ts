import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthState } from '../util/health.js';

/**
 * How the store tells a new store from a damaged one, and what it reports:
 * - a marker file next to LevelDB's own (`CHOCO-EDGE-STORE.json`, which LevelDB ignores) holding the record count
 *   at the last clean shutdown; fewer records at the next open is a loss;
 * - LevelDB's data files without `CURRENT` are never opened as an empty store (LevelDB would delete them as obsolete);
 * - what LevelDB writes to its `LOG` while recovering ("dropping … bytes", "Corruption") is reported, not hidden;
 * - a read at open of what was written since the last full verification (VerifiedRanges), and of everything when that
 *   finds anything wrong, when there is no record of verified ranges, or when LevelDB's log changed while stopped;
 *   a full read in the background after open finds garbled tables ("Corruption: bad block type") in older ranges.
 */

export const MARKER_FILE = 'CHOCO-EDGE-STORE.json';
const MARKER_FORMAT = 'choco-edge-store';

export interface StoreMarker {
  format: typeof MARKER_FORMAT;
  createdAt: string;
  /** Records counted at the last clean close (or repair). */
  records: number;
  countedAt: string;
  /** False while a gateway has the store open; true after a clean close. */
  cleanShutdown: boolean;
  lastRepair?: { at: string; backup: string; recordsBefore: number; recordsAfter: number };
  /** While running (cleanShutdown false): deletes the store issued since `records` was counted at `countedAt`. */
  deletesSinceCount?: number;
  /** Losses found at an earlier open or by a repair, kept (and reported) until acknowledged. */
  losses?: string[];
  /** LevelDB's write-ahead logs (`NNNNNN.log`) and their sizes when the marker was written (after LevelDB closed, at a clean close). */
  logs?: Record<string, number>;
  /** The marker was found unreadable at an open: kept (and reported) until acknowledged. */
  markerDamaged?: MarkerDamage;
}

/** An unreadable marker found at an open (ISO time, why, where the unreadable file was moved), reported until acknowledged. */
export interface MarkerDamage {
  at: string;
  why: string;
  copy: string | null;
}

/** What the store knows about its own integrity; shown in /healthz and bridge/health under `store`. */
export interface StoreIntegrity {
  state: HealthState;
  message: string;
  code?: 'store_failed';
  dir: string;
  /** Records counted at open (counted again after a reopen); null when they could not be read. */
  records: number | null;
  /** The last count since (taken every 5 min of writes, see CountCheckpoint) with its time (ISO, UTC); absent until there is one. */
  lastCount?: { records: number; at: string };
  /** Records at the last clean shutdown, when there was one. */
  expectedRecords: number | null;
  /** Every loss LevelDB or the count reported at open; empty when none. */
  losses: string[];
  /** The last write LevelDB refused (disk full, I/O error), until the store has been reopened and written again. */
  writeFailure: string | null;
  lastRepair: StoreMarker['lastRepair'] | null;
  /** The check's cost and watermark: ranges and records read at open, ranges written since the last full verification, when that ended. */
  verification?: { atOpen: 'pending ranges' | 'every record'; checkedRanges: number | null; checkedRecords: number | null; pendingRanges: number; lastFullAt: string | null };
  /** The marker was unreadable at an open: the count losses are compared with is unknown (health degraded until acknowledged). */
  markerDamaged?: MarkerDamage;
  /** Reopens after a failed write since the gateway opened the store, and the last one (absent before the first check). */
  reopens?: number;
  lastReopen?: { at: string; cause: string } | null;
}

export const REPAIR_REMEDY = 'stop the gateway and run `choco-edge store repair` (it copies the store aside first), or restore a backup with `choco-edge restore --from FILE`';

/** The store could not be opened: says why (LevelDB's own message), where, and what to do. */
export class StoreOpenError extends Error {
  constructor(
    readonly dir: string,
    readonly why: string,
    readonly remedy = REPAIR_REMEDY,
  ) {
    super(`cannot open the store at ${dir}: ${why}. To fix: ${remedy}`);
    this.name = 'StoreOpenError';
  }
}

/**
 * Why LevelDB would not open the store, as a refusal with its cause and remedy: held by another process, not
 * writable by this user, on a read-only file system, or damaged (repair). `use` names what the caller was doing.
 */
export function openRefusal(dir: string, error: unknown, use = 'stop the other gateway or command using it first'): StoreOpenError {
  const why = levelDbCause(error);
  if (/already held|Resource temporarily unavailable|EAGAIN|EWOULDBLOCK/i.test(why)) return new StoreOpenError(dir, `it is in use by another process (${why})`, use);
  if (/Read-only file system|EROFS/i.test(why)) return new StoreOpenError(dir, `its file system is read-only (${why})`, `remount ${dir} read-write, or point dataDir (CHOCO_EDGE_DATA_DIR) at a writable disk`);
  if (/Permission denied|EACCES|EPERM/i.test(why)) return new StoreOpenError(dir, `this user may not write it (${why})`, `run as the store's owner (the service runs as choco-edge), or give it the store: chown -R choco-edge: ${dir}`);
  return new StoreOpenError(dir, why);
}

const DATA_FILE = /^(\d+\.(ldb|sst|log)|MANIFEST-\d+)$/;

export function readMarker(dir: string): StoreMarker | undefined {
  return readMarkerState(dir).marker;
}

/**
 * The marker, or why a marker file that is there cannot be used (garbled JSON, not ours, a count that is not a
 * number): such a marker is damage, never "no marker" (that would read as a new store and reset the count).
 */
export function readMarkerState(dir: string): { marker?: StoreMarker; unreadable?: string } {
  const file = join(dir, MARKER_FILE);
  if (!existsSync(file)) return {};
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as StoreMarker;
    if (m?.format !== MARKER_FORMAT) return { unreadable: `not a ${MARKER_FORMAT} marker (format ${JSON.stringify(m?.format ?? null)})` };
    if (typeof m.records !== 'number' || !Number.isFinite(m.records) || m.records < 0) return { unreadable: `its record count is not a number (${JSON.stringify(m.records ?? null)})` };
    return { marker: m };
  } catch (error) {
    return { unreadable: (error as Error).message };
  }
}

/** The open's finding with an unreadable marker added: degraded (no data known lost, but a loss cannot be ruled out), with what to do. */
export function withMarkerDamage(checked: StoreIntegrity, damage: MarkerDamage): StoreIntegrity {
  const what = `the store's marker ${MARKER_FILE} was unreadable at ${damage.at} (${damage.why}${damage.copy ? `; kept as ${damage.copy}` : ''}): the count at the last clean shutdown is unknown, so records lost before that open cannot be ruled out (counted anew: ${checked.records ?? 'unknown'} records). Check with GET /api/store/verify or against a backup, then POST /api/store/losses/acknowledge`;
  if (checked.state === 'failed') return { ...checked, markerDamaged: damage, message: `${checked.message}; ${what}` };
  return { ...checked, markerDamaged: damage, state: 'degraded', code: 'store_failed', message: what };
}

/** Written to a temporary file and renamed; a failure (disk full) is returned, not thrown. */
export function writeMarker(dir: string, marker: Omit<StoreMarker, 'format'>): Error | undefined {
  const file = join(dir, MARKER_FILE);
  try {
    writeFileSync(`${file}.tmp`, `${JSON.stringify({ format: MARKER_FORMAT, ...marker }, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * Refuses, before LevelDB is asked, to open a directory that holds a damaged store as if it were new:
 * data files without `CURRENT`, or a marker that counted records where no data file is left.
 * Returns whether LevelDB may create a new store here.
 */
export function checkBeforeOpen(dir: string): { createIfMissing: boolean } {
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const data = files.filter((f) => DATA_FILE.test(f));
  const { marker, unreadable } = readMarkerState(dir);
  if (files.includes('CURRENT')) return { createIfMissing: false };
  if (data.length) {
    throw new StoreOpenError(dir, `LevelDB's CURRENT file is missing but ${data.length} data files remain (${data.slice(0, 4).join(', ')}${data.length > 4 ? ', …' : ''}); opening would start an empty store and delete them`);
  }
  if (marker && marker.records > 0) {
    throw new StoreOpenError(
      dir,
      `the store's data files are gone: it held ${marker.records} records at ${marker.countedAt}, none is left`,
      `restore a backup with \`choco-edge restore --from FILE\`, or, to start empty on purpose, delete ${join(dir, MARKER_FILE)}`,
    );
  }
  if (unreadable !== undefined) {
    throw new StoreOpenError(dir, `no data file is left and the store's marker is unreadable (${unreadable}): a store was here`, `restore a backup with \`choco-edge restore --from FILE\`, or, to start empty on purpose, delete ${join(dir, MARKER_FILE)}`);
  }
  return { createIfMissing: true };
}

/** LevelDB's write-ahead logs in `dir` and their sizes in bytes. */
export function logSizes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const f of readdirSync(dir)) if (/^\d+\.log$/.test(f)) out[f] = statSync(join(dir, f)).size;
  } catch {
    // No directory yet: no log.
  }
  return out;
}

/**
 * Before LevelDB opens (it replays and then deletes its log): a log the marker saw that is now shorter, or gone with
 * no newer log after it (LevelDB starts a newer one whenever it retires one), or after a clean close any change at
 * all, says the log was damaged while the gateway was stopped. Returns why, or undefined.
 */
export function logsChanged(dir: string, marker: StoreMarker | undefined): string | undefined {
  if (!marker?.logs) return undefined;
  const now = logSizes(dir);
  const number = (f: string) => Number.parseInt(f, 10);
  for (const [name, size] of Object.entries(marker.logs)) {
    const current = now[name];
    if (current === undefined) {
      if (marker.cleanShutdown || !Object.keys(now).some((f) => number(f) > number(name))) return `LevelDB's log ${name} (${size} bytes at ${marker.countedAt}) is gone`;
    } else if (current < size || (marker.cleanShutdown && current !== size)) return `LevelDB's log ${name} is ${current} bytes, ${size} at ${marker.countedAt}`;
  }
  return undefined;
}

/** Lines of LevelDB's `LOG` (this open's recovery) that report lost or corrupt data. */
export function lossesInLevelDbLog(dir: string): string[] {
  const file = join(dir, 'LOG');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /dropping|corrupt|checksum mismatch|missing files/i.test(l))
    .map((l) => `LevelDB LOG: ${l.replace(/^\S+ \S+ \S+ /, '').trim()}`);
}

/** The LevelDB message inside an abstract-level error ("Corruption: …", "IO error: …"). */
export function levelDbCause(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string }; code?: string };
  const inner = e?.cause?.message;
  const text = inner && inner !== e.message ? `${e.message}: ${inner}` : String(e?.message ?? error);
  // LevelDB says "No space left on device" without the errno name operators search for.
  return /no space left on device/i.test(text) && !/ENOSPC/.test(text) ? `${text} (ENOSPC)` : text;
}

/** Losses found now (stamped with `now`) after those found at earlier opens and not yet dealt with by a repair. */
export function integrityFrom(dir: string, counted: { records: number | null; readError?: string }, marker: StoreMarker | undefined, logLosses: string[], now = new Date()): StoreIntegrity {
  const found = [...logLosses];
  if (counted.readError) found.push(`reading every record at open failed: ${counted.readError}`);
  const expected = marker?.cleanShutdown ? marker.records : null;
  if (expected !== null && counted.records !== null && counted.records < expected) {
    found.push(`${expected - counted.records} of ${expected} records missing since the last clean shutdown (${marker!.countedAt}); ${counted.records} left`);
  }
  // After an unclean stop the clean count is missing, but the count taken while running is a floor: records only
  // leave through deletes the store issued, and those were added up in the marker before they ran.
  if (marker && !marker.cleanShutdown && marker.deletesSinceCount !== undefined && counted.records !== null) {
    const floor = marker.records - marker.deletesSinceCount;
    if (counted.records < floor) found.push(`at least ${floor - counted.records} records lost after an unclean stop: ${marker.records} were counted at ${marker.countedAt} and ${marker.deletesSinceCount} deleted since, ${counted.records} are left`);
  }
  const losses = [...(marker?.losses ?? []), ...found.map((l) => `${now.toISOString()}: ${l}`)];
  const base = { dir, records: counted.records, expectedRecords: expected, losses, writeFailure: null, lastRepair: marker?.lastRepair ?? null };
  // Counted at open: the message says so (records written since are not in it; the store's integrity() adds its later counts).
  const note = marker ? '' : counted.records ? ' (no earlier count to compare with)' : ' (new store)';
  if (!losses.length) return { ...base, state: 'ok', message: `${counted.records ?? 'unknown'} records at open${note}` };
  return { ...base, state: 'failed', code: 'store_failed', message: `store damaged, data lost: ${losses.join('; ')}. To fix: ${REPAIR_REMEDY}` };
}

/** Counts every record by reading it whole (keys and values), which makes LevelDB read every table block. */
export async function countAllRecords(entries: () => AsyncIterable<unknown>): Promise<{ records: number | null; readError?: string }> {
  let records = 0;
  try {
    for await (const _ of entries()) records++;
    return { records };
  } catch (error) {
    return { records: null, readError: levelDbCause(error) };
  }
}
