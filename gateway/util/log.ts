import { pino, type Logger } from 'pino';
import { readSecret } from '../config/load.js';
import type { Config } from '../config/schema.js';

export type { Logger };

const REDACT = ['token', 'password', 'webhookUrl', '*.webhookUrl', 'apiKey', 'api_key', 'appid', 'headers["x-api-key"]', '*.token', '*.password', '*.apiKey'];

/** Query parameters that carry a credential, whatever the route: `?token=…`, `&api_key=…`, `appid`, … */
const SECRET_QUERY = /([?&;](?:token|access_token|id_token|api[_-]?key|appid|key|password|passwd|pwd|secret|sig|signature|auth|code)=)[^&#\s"'<>]*/giu;
/** `scheme://user:password@host` */
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@/?#\s]*@/giu;
/** `Authorization: Bearer …` / `Basic …` values */
const AUTH_SCHEME = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}/giu;
const knownSecrets = new Set<string>();

/**
 * Every configured secret value (any `Secret` field: tokens, API keys, passwords, webhook URLs, commandSecret), read
 * from the config or its file, so that no log line carries it in any form (a URL, an error message, a header).
 */
export function registerSecrets(config: Config): void {
  const walk = (value: unknown, key: string): void => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === 'file' && /token|password|key|secret|webhook/iu.test(key)) {
        try {
          const v = readSecret(value as { file: string }, key);
          if (v && v.length >= 4) knownSecrets.add(v);
        } catch {
          // an unreadable secret file is reported by the config check, not here
        }
        return;
      }
      for (const [k, v] of Object.entries(value)) walk(v, k);
    } else if (Array.isArray(value)) for (const v of value) walk(v, key);
    else if (typeof value === 'string' && value.length >= 4 && /token|password|apikey|api_key|secret|webhookurl/iu.test(key)) knownSecrets.add(value);
  };
  walk(config, '');
}

/** `text` with every credential in it replaced by `***`: secret query parameters, URL passwords, bearer values, configured secrets. */
export function scrubSecrets(text: string): string {
  let out = text.replace(SECRET_QUERY, '$1***').replace(URL_USERINFO, '$1***@').replace(AUTH_SCHEME, '$1 ***');
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (!value || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Error) return { type: value.name, message: scrubSecrets(value.message), ...(value.stack ? { stack: scrubSecrets(value.stack) } : {}), ...('code' in value ? { code: (value as { code: unknown }).code } : {}) };
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  if (Buffer.isBuffer(value) || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, depth + 1)]));
}

/** JSON lines to stdout (journald-friendly); pretty when stdout is a terminal; per-module levels from config. */
export function createLogger(config: Config['log'], destination?: NodeJS.WritableStream): Logger {
  const pretty = config.pretty === 'auto' ? Boolean(process.stdout.isTTY) && !destination : config.pretty;
  const options = {
    level: config.level === 'silent' ? 'silent' : 'trace',
    redact: { paths: REDACT, censor: '***' },
    // Every line, whatever module or route wrote it, goes through scrubSecrets before it is serialised.
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((a) => scrubValue(a)));
      },
    },
  };
  const root = pretty
    ? pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard', ignore: 'pid,hostname' } } })
    : destination
      ? pino(options, destination as unknown as pino.DestinationStream)
      : pino(options);
  root.level = config.level;
  return root;
}

export function moduleLogger(root: Logger, config: Config['log'], module: string): Logger {
  const child = root.child({ module });
  const level = config.modules[module];
  if (level) child.level = level;
  return child;
}
