import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

export type MqttRole = 'admin' | 'viewer' | 'line';

export interface MqttUser {
  username: string;
  passwordHash: string;
  role: MqttRole;
  lines?: string[];
  /** A regular expression the whole client id must match (config `clientIdPattern`); any id when absent. */
  clientIdPattern?: string;
}

/**
 * Why a client authenticated as someone other than the gateway may not use `clientId`, or null when it may:
 * the gateway's own ids (`reserved`) are refused to everybody else, and a user's ids may be limited by a pattern.
 */
export function clientIdProblem(clientId: string, reserved: readonly string[], user?: Pick<MqttUser, 'clientIdPattern'>): string | null {
  if (reserved.includes(clientId)) return `client id ${JSON.stringify(clientId)} belongs to the gateway`;
  if (user?.clientIdPattern && !new RegExp(`^(?:${user.clientIdPattern})$`, 'u').test(clientId)) return `client id ${JSON.stringify(clientId)} does not match ${user.clientIdPattern}`;
  return null;
}

/** `scrypt:<salt>:<hash>` (base64), N = 16384: what `choco-edge hash-password` prints and the config stores. */
export function hashPassword(password: string, salt = randomBytes(16)): string {
  return `scrypt:${salt.toString('base64')}:${scryptSync(password, salt, 32).toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, salt, hash] = stored.split(':');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const got = scryptSync(password, Buffer.from(salt, 'base64'), expected.length);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * `verifyPassword` on libuv's thread pool: the event loop (Modbus writes, heartbeats, HTTP) keeps running during
 * the ~16 MB, tens-of-ms scrypt. Resolves false for a malformed stored hash; never rejects.
 */
export function verifyPasswordAsync(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split(':');
  if (scheme !== 'scrypt' || !salt || !hash) return Promise.resolve(false);
  const expected = Buffer.from(hash, 'base64');
  return new Promise((resolve) => {
    scrypt(password, Buffer.from(salt, 'base64'), expected.length, (error, got) => resolve(!error && got.length === expected.length && timingSafeEqual(got, expected)));
  });
}

/** Topic ACLs: line controllers read their commands and the plan and write their acknowledgements; viewers read. */
export function allowed(user: { role: MqttRole; lines?: string[] }, base: string, action: 'publish' | 'subscribe', topic: string): boolean {
  if (user.role === 'admin') return true;
  if (user.role === 'viewer') return action === 'subscribe';
  const lines = user.lines ?? [];
  if (action === 'publish') return lines.some((l) => topic === `${base}/lines/${l}/set`);
  // Exact topics only: a wildcard subscription could reach other lines' commands.
  return [`${base}/plan`, `${base}/bridge/state`, `${base}/alerts`, ...lines.flatMap((l) => [`${base}/lines/${l}/command`, `${base}/lines/${l}/state`])].includes(topic);
}
