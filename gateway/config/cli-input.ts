import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** A file or argument a user gave that cannot be used; the message is one sentence that says which and why. */
export class InputError extends Error {}

/** Throws InputError unless `path` is a readable regular file. `what` names it for the user, e.g. "--prices". */
export function checkInputFile(path: string, what: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${what} ${path}: no such file` : `${what} ${path}: cannot be read (${code ?? String(error)})`);
  }
  if (!isFile) throw new InputError(`${what} ${path}: is a directory, not a file`);
}

/** Throws InputError unless `path` can be written: its folder exists and is writable, and `path` is not a directory. */
export function checkOutputFile(path: string, what: string): void {
  const folder = dirname(resolve(path));
  let isDir: boolean;
  try {
    isDir = statSync(folder).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${what} ${path}: the folder ${folder} does not exist` : `${what} ${path}: the folder ${folder} cannot be read (${code ?? String(error)})`);
  }
  if (!isDir) throw new InputError(`${what} ${path}: ${folder} is not a folder`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new InputError(`${what} ${path}: the folder ${folder} is not writable`);
  }
  let target: ReturnType<typeof statSync> | undefined;
  try {
    target = statSync(path);
  } catch {
    target = undefined;
  }
  if (target?.isDirectory()) throw new InputError(`${what} ${path}: is a directory, not a file`);
}

/** True when the file starts with the gzip magic bytes. */
export function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Checks the file and that it is gzip-compressed (`kind` says what it should be, for the message). */
export function checkGzipFile(path: string, what: string, kind: string): void {
  checkInputFile(path, what);
  if (!isGzipFile(path)) throw new InputError(`${what} ${path}: is not gzip-compressed; expected ${kind}`);
}

/** The file's text; `*.gz` files are gunzipped. Errors: InputError for a missing, unreadable or corrupt file. */
export function readInputText(path: string, what: string): string {
  if (path.endsWith('.gz')) checkGzipFile(path, what, 'a .gz file');
  else checkInputFile(path, what);
  const raw = readFileSync(path);
  if (!path.endsWith('.gz')) return raw.toString('utf8');
  try {
    return gunzipSync(raw).toString('utf8');
  } catch (error) {
    throw new InputError(`${what} ${path}: the gzip data is damaged (${(error as Error).message})`);
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks YYYY-MM-DD dates (either may be absent) and that `from` comes before `to`. */
export function checkDateRange(from: string | undefined, to: string | undefined): void {
  for (const [flag, value] of [['--from', from], ['--to', to]] as const) {
    if (value === undefined) continue;
    if (!DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
      throw new InputError(`${flag} ${JSON.stringify(value)} is not a date: use YYYY-MM-DD, e.g. 2025-01-15`);
    }
  }
  if (from !== undefined && to !== undefined && from >= to) throw new InputError(`--from ${from} must come before --to ${to} (the range is [from, to), so --to is the day after the last one)`);
}
