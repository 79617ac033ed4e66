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

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  // Some libraries (modbus-serial) reject with plain objects carrying a message.
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

export function errorCode(error: unknown): ErrorCode | 'unknown' {
  return error instanceof GatewayError ? error.code : 'unknown';
}
