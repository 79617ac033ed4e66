import { sleepUnlessAborted, type Clock } from '../time/clock.js';
import { GatewayError } from './errors.js';

export interface RetryPolicy {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export interface FetchRequest {
  url: string;
  headers?: Record<string, string>;
  /** Query parameters whose values must never appear in logs or errors. */
  secretParams?: string[];
  /** How long to wait after a 429 that carries no Retry-After (AEMET: until the next minute). */
  rateLimitWaitMs?: (now: number) => number;
}

export interface FetchResult {
  status: number;
  contentType: string;
  body: Buffer;
  attempts: number;
}

const MAX_RETRY_AFTER_MS = 10 * 60_000;
const SECRET_PARAM_NAMES = ['api_key', 'apikey', 'appid', 'token', 'key'];

/** The URL as it may be logged: secret query parameters masked. */
export function redactUrl(url: string, extra: string[] = []): string {
  try {
    const u = new URL(url);
    for (const name of [...SECRET_PARAM_NAMES, ...extra]) if (u.searchParams.has(name)) u.searchParams.set(name, '***');
    return u.toString().replace(/%2A%2A%2A/g, '***');
  } catch {
    return '<invalid url>';
  }
}

/**
 * GET with a timeout, retries with exponential backoff and full jitter on timeouts, network errors, 429 and 5xx.
 * When `stopping` aborts (the gateway shuts down), the request in flight is abandoned and no retry follows: the
 * caller gets a transient `unreachable` error saying so, and the shutdown does not wait out timeouts and backoffs.
 */
export class Fetcher {
  constructor(
    private readonly clock: Clock,
    private readonly policy: RetryPolicy,
    private readonly random: () => number = Math.random,
    private readonly stopping?: AbortSignal,
    /** Every answer's `Date` header (ms) and host: evidence for or against the wall clock (ClockTrust). */
    private readonly onServerDate?: (host: string, dateMs: number) => void,
  ) {}

  async get(request: FetchRequest): Promise<FetchResult> {
    let lastError: GatewayError | undefined;
    for (let attempt = 1; attempt <= this.policy.retries + 1; attempt++) {
      try {
        if (this.stopping?.aborted) throw this.abandoned(request);
        const result = await this.once(request);
        return { ...result, attempts: attempt };
      } catch (error) {
        if (!(error instanceof GatewayError)) throw error;
        lastError = error;
        if (!error.transient || attempt > this.policy.retries || this.stopping?.aborted) break;
        const delay = this.delayFor(attempt, error.retryAfterMs);
        if (delay > 0) await (this.stopping ? sleepUnlessAborted(this.clock, delay, this.stopping) : this.clock.sleep(delay));
      }
    }
    throw this.stopping?.aborted ? this.abandoned(request) : lastError!;
  }

  private abandoned(request: FetchRequest): GatewayError {
    return new GatewayError('unreachable', `GET ${redactUrl(request.url, request.secretParams)}: abandoned, the gateway is stopping`, true);
  }


  delayFor(attempt: number, retryAfterMs?: number): number {
    const exp = Math.min(this.policy.maxBackoffMs, this.policy.backoffMs * 2 ** (attempt - 1));
    const jittered = exp / 2 + this.random() * (exp / 2);
    // A wait the server asked for is honoured even past our own backoff cap, up to ten minutes.
    return retryAfterMs !== undefined ? Math.min(Math.max(retryAfterMs, jittered), MAX_RETRY_AFTER_MS) : jittered;
  }

  private async once(request: FetchRequest): Promise<Omit<FetchResult, 'attempts'>> {
    const shown = redactUrl(request.url, request.secretParams);
    let response: Response;
    try {
      response = await fetch(request.url, {
        headers: request.headers,
        signal: this.stopping ? AbortSignal.any([AbortSignal.timeout(this.policy.timeoutMs), this.stopping]) : AbortSignal.timeout(this.policy.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new GatewayError('timeout', `GET ${shown}: no answer within ${this.policy.timeoutMs} ms`, true);
      }
      const cause = (error as { cause?: { code?: string } })?.cause?.code ?? (error as Error)?.message;
      throw new GatewayError('unreachable', `GET ${shown}: unreachable (${cause})`, true);
    }
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      const name = (error as Error)?.name;
      const code = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'unreachable';
      throw new GatewayError(code, `GET ${shown}: body not received (${(error as Error).message})`, true);
    }
    const status = response.status;
    const date = response.headers.get('date');
    if (date && this.onServerDate) this.onServerDate(new URL(request.url).host, Date.parse(date));
    const contentType = response.headers.get('content-type') ?? '';
    if (status === 429) {
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.clock.now()) ?? request.rateLimitWaitMs?.(this.clock.now());
      throw new GatewayError('rate_limited', `GET ${shown}: HTTP 429 rate limited${snippet(body)}`, true, retryAfter);
    }
    if (status >= 500) throw new GatewayError('server_error', `GET ${shown}: HTTP ${status} ${snippet(body)}`, true);
    if (status === 401 || status === 403) {
      if (status === 403 && contentType.includes('text/html')) {
        throw new GatewayError('client_error', `GET ${shown}: HTTP 403 with an HTML page (bot protection); will retry on the next run`, false);
      }
      throw new GatewayError('auth_failed', `GET ${shown}: HTTP ${status}: credentials refused ${snippet(body)}`, false);
    }
    if (status >= 400) throw new GatewayError('client_error', `GET ${shown}: HTTP ${status} (permanent, not retried) ${snippet(body)}`, false);
    return { status, contentType, body };
  }
}

export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function snippet(body: Buffer): string {
  const text = body.toString('utf8', 0, 200).replace(/\s+/g, ' ').trim();
  return text ? `: ${text}` : '';
}
