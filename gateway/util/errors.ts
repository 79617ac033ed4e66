/** Every failure path has a name that health, logs and alerts share. */
export type ErrorCode =
  | 'timeout'
  | 'unreachable'
  | 'rate_limited'
  | 'server_error'
  | 'client_error'
  | 'auth_failed'
  | 'malformed_payload'
  | 'wrong_unit'
  | 'payload_mismatch'
  | 'store_failed'
  | 'config_invalid'
  | 'plugin_failed';

export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export class MalformedPayloadError extends GatewayError {
  constructor(source: string, detail: string) {
    super('malformed_payload', `${source}: malformed payload: ${detail}`, false);
    this.name = 'MalformedPayloadError';
  }
}

/** A payload that parses but is not the one that was asked for (another day, indicator, region, resolution or unit). */
export class PayloadMismatchError extends GatewayError {
  constructor(source: string, detail: string) {
    super('payload_mismatch', `${source}: not what was asked for: ${detail}`, false);
    this.name = 'PayloadMismatchError';
  }
}

/** The local store refused a read or write (disk full, damage, closed): not the fault of the device or source being read. */
export class StoreError extends GatewayError {
  constructor(message: string, cause?: unknown) {
    super('store_failed', message, false);
    this.name = 'StoreError';
    if (cause !== undefined) this.cause = cause;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  // Some libraries (modbus-serial) reject with plain objects carrying a message.
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

export function errorCode(error: unknown): ErrorCode | 'unknown' {
  return error instanceof GatewayError ? error.code : 'unknown';
}

/**
 * The words a health message starts with for a failure that will be retried, by its code: a source that asked too
 * often is "rate limited", not "unreachable" (it answered); a timeout, refused connection or 5xx is "unreachable".
 */
export function retryingLabel(code: string | undefined, transient: boolean | undefined): string {
  if (!transient) return '';
  return code === 'rate_limited' ? 'rate limited, retrying after the wait: ' : 'unreachable, retrying: ';
}
