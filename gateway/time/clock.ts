/** Every "now" and every timer in the gateway goes through a Clock, so tests and the demo can move time. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Gateway milliseconds per real millisecond (1 unless accelerated): what work on real (device) time converts by. */
  readonly rate?: number;
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  sleep(ms: number): Promise<void>;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Node clamps a delay above 2^31-1 ms to 1 ms: a timer for a wall time years away would fire at once.
    const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    return { cancel: () => clearTimeout(t) };
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(0, ms), 2 ** 31 - 1)));
  }
}

/**
 * Monotonic real time: `now()` is the process start's wall time plus `performance.now()`, so it never jumps when the
 * wall clock is stepped (NTP fixing a box that booted on a wrong time); timers are Node's, which run on monotonic time.
 * Not a calendar: stamps for the store come from the gateway's `clock`.
 */
export class MonotonicClock implements Clock {
  private readonly origin = performance.timeOrigin;
  now(): number {
    return this.origin + performance.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Node clamps a delay above 2^31-1 ms to 1 ms: never ask for one (a catch-up storm); 24 days is plenty.
    const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    return { cancel: () => clearTimeout(t) };
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
}

/** Real (device) time for timers that talk to devices and for polling (see PluginContext.deviceClock): monotonic. */
export const realClock: Clock = new MonotonicClock();

/** `clock.sleep(ms)`, ended early when `signal` aborts (e.g. the gateway stops); resolves either way. */
export async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  await Promise.race([clock.sleep(ms), aborted]);
  signal.removeEventListener('abort', onAbort);
}

/** Runs `factor` times faster than real time from `startAt` (the demo's replay clock). */
export class AcceleratedClock implements Clock {
  private readonly realStart = Date.now();
  readonly rate: number;
  constructor(
    private readonly startAt: number,
    readonly factor: number,
  ) {
    if (!(factor > 0)) throw new Error(`clock factor must be > 0, got ${factor}`);
    this.rate = factor;
  }
  now(): number {
    return this.startAt + (Date.now() - this.realStart) * this.factor;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms / this.factor));
    return { cancel: () => clearTimeout(t) };
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
}

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** A clock that only moves when told to; `advance` fires due timers in order and lets their promises settle. */
export class FakeClock implements Clock {
  private current: number;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(start: number | string) {
    this.current = typeof start === 'string' ? Date.parse(start) : start;
    if (!Number.isFinite(this.current)) throw new Error(`invalid fake clock start: ${String(start)}`);
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t.id !== timer.id)) };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const due = this.timers[0];
      if (!due || due.at > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = Math.max(this.current, target);
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
