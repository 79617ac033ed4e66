import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from './log.js';

/** What one listening port admits (HTTP, MQTT TCP, MQTT WebSocket). */
export interface ConnectionLimits {
  /** Open connections on the port, all addresses together. */
  maxConnections: number;
  /** Open connections from one remote address. */
  maxConnectionsPerAddress: number;
  /** New connections one address may open in a burst; refilled at `connectsPerSecondPerAddress`. */
  connectBurstPerAddress: number;
  connectsPerSecondPerAddress: number;
}

interface AddressState {
  open: number;
  tokens: number;
  refilledAt: number;
}

/**
 * Admission of TCP connections on one listening port: at most `maxConnections` open, `maxConnectionsPerAddress`
 * from one address, and a token bucket of new connections per address. A connection over a limit is destroyed
 * before any byte of it is parsed (no buffer, no timer, no parser is allocated for it). Time is monotonic
 * (`performance.now()`, ms), never the wall clock. Refusals are counted per reason and logged once a minute at most.
 */
export class ConnectionGate {
  private readonly addresses = new Map<string, AddressState>();
  private open = 0;
  /** Refused connections by reason: `total`, `address`, `rate`. */
  readonly refused = { total: 0, address: 0, rate: 0 };
  private lastLog = -Infinity;

  constructor(
    private readonly port: string,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get openConnections(): number {
    return this.open;
  }

  /** Checks every connection of `server` before its own listeners see it. */
  attach(server: NetServer): void {
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
    // 'secureConnection' servers (TLS) also emit 'connection' for the raw socket first: one check is enough.
  }

  /** True when the socket may stay; otherwise it has been destroyed. */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '?';
    const reason = this.check(address);
    if (reason) {
      this.refused[reason]++;
      socket.destroy();
      const t = this.now();
      if (t - this.lastLog >= 60_000) {
        this.lastLog = t;
        this.log.warn({ port: this.port, address, reason, refused: { ...this.refused }, open: this.open }, 'connection refused: over the port limit');
      }
      return false;
    }
    const state = this.addresses.get(address)!;
    state.open++;
    this.open++;
    socket.once('close', () => {
      this.open--;
      state.open--;
      this.forget(address, state);
    });
    return true;
  }

  private check(address: string): 'total' | 'address' | 'rate' | null {
    const t = this.now();
    let state = this.addresses.get(address);
    if (!state) {
      state = { open: 0, tokens: this.limits.connectBurstPerAddress, refilledAt: t };
      this.addresses.set(address, state);
    }
    state.tokens = Math.min(this.limits.connectBurstPerAddress, state.tokens + ((t - state.refilledAt) / 1000) * this.limits.connectsPerSecondPerAddress);
    state.refilledAt = t;
    let reason: 'total' | 'address' | 'rate' | null = null;
    if (this.open >= this.limits.maxConnections) reason = 'total';
    else if (state.open >= this.limits.maxConnectionsPerAddress) reason = 'address';
    else if (state.tokens < 1) reason = 'rate';
    else state.tokens -= 1;
    if (reason) this.forget(address, state);
    return reason;
  }

  /** Drops an address with nothing open and a full bucket, so the map stays as small as the live connections. */
  private forget(address: string, state: AddressState): void {
    if (state.open > 0) return;
    const full = state.tokens + ((this.now() - state.refilledAt) / 1000) * this.limits.connectsPerSecondPerAddress >= this.limits.connectBurstPerAddress;
    if (full) this.addresses.delete(address);
  }
}
