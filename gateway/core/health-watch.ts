import type { EventBus } from './event-bus.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { errorMessage } from '../util/errors.js';
import type { HealthState } from '../util/health.js';
import type { Logger } from '../util/log.js';

export interface HealthWatchDeps {
  /** Every plugin's state now (cheap: no I/O). */
  pluginStates(): Record<string, HealthState>;
  /** Publishes the retained `bridge/health` (the expensive part: only on a change). */
  publish(): Promise<void>;
  /** Device time: how often plugin states are compared, whatever the gateway's clock does. */
  clock: Clock;
  intervalMs: number;
  bus: EventBus;
  log: Logger;
}

/**
 * Keeps the retained `bridge/health` true between health jobs: it is republished as soon as a plugin's state
 * changes (compared every `intervalMs` of device time) or a source reports a new state on the bus
 * (`source.status`, `plugin.failed`), so a subscriber who connects later never reads "ok" for a part that is gone.
 */
export class HealthWatch {
  private last = new Map<string, HealthState>();
  private timer?: TimerHandle;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  publishes = 0;

  constructor(private readonly deps: HealthWatchDeps) {}

  start(): void {
    this.last = this.snapshot();
    this.deps.bus.on('source.status', 'health-watch', (e) => this.compare(`source:${e.source}`, e.state));
    this.deps.bus.on('plugin.failed', 'health-watch', (e) => this.compare(`plugin:${e.plugin}`, 'failed'));
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.deps.bus.removeOwner('health-watch');
    await this.running;
  }

  private snapshot(): Map<string, HealthState> {
    const out = new Map<string, HealthState>();
    for (const [name, state] of Object.entries(this.deps.pluginStates())) out.set(`plugin:${name}`, state);
    for (const [key, state] of this.last) if (key.startsWith('source:')) out.set(key, state);
    return out;
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      const now = this.snapshot();
      const changed = [...now].some(([key, state]) => this.last.get(key) !== state);
      this.last = now;
      if (changed) this.publish();
      this.tick();
    }, this.deps.intervalMs);
  }

  private compare(key: string, state: HealthState): void {
    if (this.last.get(key) === state) return;
    this.last.set(key, state);
    this.publish();
  }

  /** One publish at a time; changes during one lead to exactly one more. */
  private publish(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.deps
      .publish()
      .then(() => void this.publishes++)
      .catch((e: unknown) => this.deps.log.warn({ err: errorMessage(e) }, 'bridge/health not republished'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.publish();
        }
      });
  }
}
