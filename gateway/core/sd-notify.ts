import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback: (error?: Error) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  close(): void;
}
interface UnixDgram {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

/** The optional native `unix-dgram` module, or undefined when it is not installed or did not build. */
export function loadUnixDgram(): UnixDgram | undefined {
  try {
    return createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  } catch {
    return undefined;
  }
}

export type NotifyTransport = 'unix-dgram' | 'systemd-notify' | 'none';

/**
 * systemd's notify protocol. Messages go from this process itself over an AF_UNIX datagram socket (the optional
 * `unix-dgram` module), so the kernel stamps them with the gateway's PID: systemd accepts them under
 * NotifyAccess=main and never loses one to a sender that already exited. Only when that module cannot load, or for
 * an abstract `@name` socket (which unix-dgram cannot address: it copies the path as a C string), they go through a
 * `systemd-notify --pid=<gateway>` child instead. A no-op when NOTIFY_SOCKET is unset.
 */
export class SdNotify {
  private timer?: NodeJS.Timeout;
  sent: string[] = [];
  readonly transport: NotifyTransport;

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly dgram: UnixDgram | null = loadUnixDgram() ?? null,
    private readonly binary = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].find((p) => existsSync(p)),
  ) {
    const socket = env.NOTIFY_SOCKET;
    this.transport = !socket ? 'none' : socket.startsWith('/') && dgram ? 'unix-dgram' : binary ? 'systemd-notify' : 'none';
  }

  get enabled(): boolean {
    return this.transport !== 'none';
  }

  /** Half of WatchdogSec, when systemd asked this process for watchdog pings. */
  get watchdogIntervalMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    if (this.env.WATCHDOG_PID && Number(this.env.WATCHDOG_PID) !== process.pid) return undefined;
    return Math.max(50, Math.floor(usec / 2000));
  }

  /** Sends `KEY=value` assignments as one datagram; resolves false when nothing could be sent. */
  async notify(...assignments: string[]): Promise<boolean> {
    const ok = this.transport === 'unix-dgram' ? this.sendDatagram(assignments) : this.transport === 'systemd-notify' ? await this.runSystemdNotify(assignments) : false;
    if (ok) this.sent.push(...assignments);
    return ok;
  }

  private sendDatagram(assignments: string[]): boolean {
    const message = Buffer.from(assignments.join('\n'));
    let socket: UnixDgramSocket | undefined;
    let ok = false;
    try {
      socket = this.dgram!.createSocket('unix_dgram');
      socket.on('error', () => undefined);
      // unix-dgram calls back synchronously.
      socket.send(message, 0, message.length, this.env.NOTIFY_SOCKET!, (error) => (ok = !error));
    } catch {
      ok = false;
    } finally {
      try {
        socket?.close();
      } catch {
        // already closed
      }
    }
    return ok;
  }

  private runSystemdNotify(assignments: string[]): Promise<boolean> {
    return new Promise((resolve) => {
      execFile(this.binary!, [`--pid=${process.pid}`, ...assignments], { env: this.env, timeout: 5_000 }, (error) => resolve(!error));
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
