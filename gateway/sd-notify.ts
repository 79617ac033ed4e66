import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * systemd's notify protocol without a native addon: Node cannot send on a Unix datagram socket by itself, so the
 * messages go through `systemd-notify` (the unit sets NotifyAccess=all). A no-op when NOTIFY_SOCKET is unset.
 */
export class SdNotify {
  private timer?: NodeJS.Timeout;
  sent: string[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly binary = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].find((p) => existsSync(p)),
  ) {}

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET && this.binary);
  }

  /** Half of WatchdogSec, when systemd asked this process for watchdog pings. */
  get watchdogIntervalMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    if (this.env.WATCHDOG_PID && Number(this.env.WATCHDOG_PID) !== process.pid) return undefined;
    return Math.max(50, Math.floor(usec / 2000));
  }

  notify(...assignments: string[]): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(false);
    return new Promise((resolve) => {
      execFile(this.binary!, [`--pid=${process.pid}`, ...assignments], { env: this.env, timeout: 5_000 }, (error) => {
        if (!error) this.sent.push(...assignments);
        resolve(!error);
      });
    });
  }

  /** Pings WATCHDOG=1 at half the watchdog period while `alive()` holds (the event loop running is part of it). */
  startWatchdog(alive: () => boolean = () => true): void {
    const every = this.watchdogIntervalMs;
    if (!this.enabled || !every) return;
    this.timer = setInterval(() => {
      if (alive()) void this.notify('WATCHDOG=1');
    }, every);
    this.timer.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.timer);
  }
}
