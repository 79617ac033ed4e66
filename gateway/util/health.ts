export type HealthState = 'ok' | 'degraded' | 'failed' | 'disabled' | 'starting';

export interface ComponentHealth {
  state: HealthState;
  message: string;
  /** Error code shared with logs and alerts, when the component is not ok. */
  code?: string;
  since?: number;
  details?: Record<string, unknown>;
}

/** Tracks one component's health with the time its state last changed. */
export class HealthTracker {
  private current: ComponentHealth;

  constructor(
    private readonly now: () => number,
    initial: ComponentHealth = { state: 'starting', message: 'starting' },
  ) {
    this.current = { ...initial, since: now() };
  }

  set(state: HealthState, message: string, code?: string, details?: Record<string, unknown>): void {
    const since = state === this.current.state ? this.current.since : this.now();
    this.current = { state, message, since, ...(code ? { code } : {}), ...(details ? { details } : {}) };
  }

  get(): ComponentHealth {
    return this.current;
  }
}

/** A component's last fault, kept for its health details: the code shared with logs and alerts, the message, when (UTC ISO). */
export interface LastFault {
  code: string;
  message: string;
  at: string;
}

export function worst(states: HealthState[]): HealthState {
  const order: HealthState[] = ['failed', 'degraded', 'starting', 'ok', 'disabled'];
  for (const s of order) if (states.includes(s)) return s;
  return 'ok';
}

/** Fetch bookkeeping shared by the source engines; its `details()` feed health and the metrics. */
export class FetchStats {
  lastSuccessAt?: number;
  lastAttemptAt?: number;
  consecutiveFailures = 0;
  fetches = 0;
  errors = 0;

  attempt(now: number): void {
    this.lastAttemptAt = now;
    this.fetches++;
  }

  /** No success yet, or the last one is older than `afterMs`. */
  isStale(now: number, afterMs: number): boolean {
    return this.lastSuccessAt === undefined || now - this.lastSuccessAt > afterMs;
  }

  details(): Record<string, unknown> {
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    return { lastSuccessAt: iso(this.lastSuccessAt), lastAttemptAt: iso(this.lastAttemptAt), consecutiveFailures: this.consecutiveFailures, fetches: this.fetches, errors: this.errors };
  }
}
