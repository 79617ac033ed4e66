/** How the embedded broker limits logins (config `mqtt.embedded.limits`). */
export interface LoginLimits {
  /** Failed logins one address may make within `failureWindowMs` before its logins are refused unchecked. */
  failuresPerAddress: number;
  failureWindowMs: number;
  /** Password checks waiting to run; a login beyond them is answered "server unavailable" at once. */
  maxPendingChecks: number;
}

/**
 * Keeps password checks (scrypt, ~16 MB and tens of ms each) off the event loop and bounded: they run one at a time
 * on libuv's thread pool (leaving its other threads to LevelDB and file I/O), at most `maxPendingChecks` wait, and an
 * address that failed `failuresPerAddress` times within `failureWindowMs` is refused without a check until its
 * oldest failure leaves the window. Time is monotonic (`performance.now()`, ms).
 */
export class LoginGuard {
  private readonly failures = new Map<string, number[]>();
  private pending = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** Logins refused without a check: `blocked` (address over its failures), `busy` (too many checks waiting). */
  readonly refused = { blocked: 0, busy: 0 };

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True while `address` may not try a password. */
  blocked(address: string): boolean {
    const recent = this.recent(address);
    const blocked = recent.length >= this.limits.failuresPerAddress;
    if (blocked) this.refused.blocked++;
    return blocked;
  }

  failed(address: string): void {
    const recent = this.recent(address);
    recent.push(this.now());
    this.failures.set(address, recent);
    // Bounded memory under a spread-out attack: forget the stalest address once the map grows large.
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Runs `check` after the checks before it; 'busy' at once when `maxPendingChecks` are already waiting. */
  run(check: () => Promise<boolean>): Promise<boolean | 'busy'> {
    if (this.pending >= this.limits.maxPendingChecks) {
      this.refused.busy++;
      return Promise.resolve('busy');
    }
    this.pending++;
    const result = this.chain.then(check).finally(() => this.pending--);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private recent(address: string): number[] {
    const since = this.now() - this.limits.failureWindowMs;
    const kept = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (kept.length) this.failures.set(address, kept);
    else this.failures.delete(address);
    return kept;
  }
}
