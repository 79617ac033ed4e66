import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';

export type { Logger };

const REDACT = ['token', 'password', 'webhookUrl', '*.webhookUrl', 'apiKey', 'api_key', 'appid', 'headers["x-api-key"]', '*.token', '*.password', '*.apiKey'];

/** JSON lines to stdout (journald-friendly); pretty when stdout is a terminal; per-module levels from config. */
export function createLogger(config: Config['log'], destination?: NodeJS.WritableStream): Logger {
  const pretty = config.pretty === 'auto' ? Boolean(process.stdout.isTTY) && !destination : config.pretty;
  const options = { level: config.level === 'silent' ? 'silent' : 'trace', redact: { paths: REDACT, censor: '***' } };
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
