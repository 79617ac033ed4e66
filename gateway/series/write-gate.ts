import { StoreError } from '../util/errors.js';
import { levelDbCause } from './integrity.js';

/**
 * Runs LevelDB writes one at a time. After one fails (disk full, I/O error) LevelDB's log may end in a partial
 * record, and a write appended after it would be acknowledged and then dropped at the next recovery; so the database
 * is closed and reopened (recovery drops the partial, unacknowledged record) before any other write is attempted.
 */
export class WriteGate {
  private tail: Promise<unknown> = Promise.resolve();
  private mustReopen = false;
  /** The last failed write or reopen, until a write succeeds again. */
  failure: string | null = null;
  /** Successful reopens so far (the store recounts its records after one). */
  reopens = 0;

  /** `reopen` gets the failure that made it necessary. */
  constructor(private readonly reopen: (cause: string) => Promise<void>) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      await this.reopenIfNeeded();
      try {
        const result = await work();
        this.failure = null;
        return result;
      } catch (error) {
        // An argument LevelDB refuses before touching the disk (a null value, a bad key) is the caller's error: the
        // log is intact, so no reopen (which would close the database under every reader) and no store failure.
        if (isRefusedArgument(error)) throw new Error(`store: write refused before reaching the disk: ${levelDbCause(error)}`, { cause: error });
        this.mustReopen = true;
        this.failure = `write failed: ${levelDbCause(error)}`;
        throw new StoreError(`store: ${this.failure}; nothing more is written until the store has been reopened`, error);
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Reopens now if a write failed (health checks call it so that reads work again once space is back). */
  heal(): Promise<void> {
    return this.mustReopen ? this.run(async () => undefined) : Promise.resolve();
  }

  /** Resolves once every queued write has settled. */
  settled(): Promise<unknown> {
    return this.tail;
  }

  private async reopenIfNeeded(): Promise<void> {
    if (!this.mustReopen) return;
    try {
      await this.reopen(this.failure ?? 'a failed write');
      this.mustReopen = false;
      this.reopens++;
    } catch (error) {
      this.failure = `reopening after a failed write failed: ${levelDbCause(error)}`;
      throw new StoreError(`store unavailable: ${this.failure}`, error);
    }
  }
}

/** abstract-level's codes for a key or value it refuses up front (nothing was written). */
function isRefusedArgument(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'LEVEL_INVALID_VALUE' || code === 'LEVEL_INVALID_KEY';
}
