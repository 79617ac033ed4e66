import type { Logger } from '../util/log.js';

/** Per user, action and topic, one log line per window; and no more than this many lines per window in all. */
export const REFUSAL_LOG_WINDOW_MS = 60_000;
export const REFUSAL_LOG_MAX_PER_WINDOW = 20;

/**
 * Logs the publishes and subscriptions the embedded broker refuses (warn: "MQTT publish refused"), rate-limited so
 * that a client retrying in a loop, or probing many topics, cannot flood the journal: the same user, action and
 * topic at most once per minute, at most 20 lines a minute in all; each line says how many like it were not logged
 * since (`suppressed`). The payload is never logged. `now` is real time (ms).
 */
export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private windowStart = 0;
  private linesInWindow = 0;
  /** Refusals not logged because of the overall limit, reported with the next line that is. */
  private dropped = 0;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  refused(action: 'publish' | 'subscribe', who: { client: string | undefined; username: string }, topic: string): void {
    const now = this.now();
    if (now - this.windowStart >= REFUSAL_LOG_WINDOW_MS) {
      this.windowStart = now;
      this.linesInWindow = 0;
      // Forget keys not seen for a window: the map stays as small as the set of misbehaving clients.
      for (const [k, v] of this.last) if (now - v.at >= REFUSAL_LOG_WINDOW_MS && v.suppressed === 0) this.last.delete(k);
    }
    const key = `${who.username}\u0000${action}\u0000${topic}`;
    const seen = this.last.get(key);
    if ((seen && now - seen.at < REFUSAL_LOG_WINDOW_MS) || this.linesInWindow >= REFUSAL_LOG_MAX_PER_WINDOW) {
      if (seen && now - seen.at < REFUSAL_LOG_WINDOW_MS) seen.suppressed++;
      else this.dropped++;
      return;
    }
    this.linesInWindow++;
    const suppressed = (seen?.suppressed ?? 0) + this.dropped;
    this.dropped = 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.log.warn({ client: who.client ?? null, username: who.username, topic: topic.slice(0, 200), reason: `${who.username} may not ${action} to this topic`, suppressed }, `MQTT ${action} refused`);
  }
}
