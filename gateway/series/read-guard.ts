/**
 * Keeps LevelDB open under its readers: every read (an iterator scan or a get) holds the guard while it runs, and an
 * exclusive step (closing and reopening the database after a failed write) waits until no read is running and holds
 * new reads back until it is done. So no reader ever sees "Iterator is not open" or "Database is not open" because
 * the store was reopened under it.
 */
export class ReadGuard {
  private active = 0;
  private drained?: () => void;
  private blocking?: Promise<void>;

  /** Reads running now. */
  get readers(): number {
    return this.active;
  }

  private async enter(): Promise<void> {
    while (this.blocking) await this.blocking;
    this.active++;
  }

  private exit(): void {
    this.active--;
    if (this.active === 0) this.drained?.();
  }

  /** Runs one read (e.g. a `get`) under the guard. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await read();
    } finally {
      this.exit();
    }
  }

  /** Iterates `open()` (an iterator, keys or values) under the guard; the guard is released when the loop ends or breaks. */
  async *scan<T>(open: () => AsyncIterable<T>): AsyncGenerator<T> {
    await this.enter();
    try {
      for await (const item of open()) yield item;
    } finally {
      this.exit();
    }
  }

  /** Runs `work` with no read running: waits for the running ones to end and holds new ones until `work` settles. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.blocking) await this.blocking;
    let release!: () => void;
    this.blocking = new Promise<void>((resolve) => (release = resolve));
    try {
      if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      return await work();
    } finally {
      this.blocking = undefined;
      release();
    }
  }
}
