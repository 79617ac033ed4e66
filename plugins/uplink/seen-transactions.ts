import type { SeriesStore } from '../../gateway/series/store.js';

const KEY = 'uplink.transactions';

/**
 * Transaction ids of the signed upstream commands already accepted, each remembered until its timestamp leaves
 * the acceptance window (after that the timestamp check refuses it anyway), kept in the store so a restart
 * forgets none: a signed command runs at most once.
 */
export class SeenTransactions {
  private seen = new Map<string, number>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly store: SeriesStore) {}

  static async load(store: SeriesStore): Promise<SeenTransactions> {
    const t = new SeenTransactions(store);
    t.seen = new Map(Object.entries((await store.getValue<Record<string, number>>(KEY)) ?? {}));
    return t;
  }

  /**
   * Claims `transaction` until `expiresAt` (ms): resolves true once it is remembered on disk, so the caller may
   * run the command; false when it was claimed before (a replay or a QoS 1 redelivery). The check and the claim
   * happen before any await, so two copies arriving together cannot both win.
   */
  async claim(transaction: string, expiresAt: number, now: number): Promise<boolean> {
    if ((this.seen.get(transaction) ?? -Infinity) > now) return false;
    for (const [tx, until] of this.seen) if (until <= now) this.seen.delete(tx);
    this.seen.set(transaction, expiresAt);
    const snapshot = Object.fromEntries(this.seen);
    const write = this.saving.catch(() => undefined).then(() => this.store.setValue(KEY, snapshot));
    this.saving = write;
    await write;
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
