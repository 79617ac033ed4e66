import { readFileSync, existsSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, type Config, type SecretValue } from './schema.js';
import { topicNameProblems } from './topic-names.js';

export const ENV_PREFIX = 'CHOCO_EDGE_';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(problems.length ? `${message}\n  - ${problems.join('\n  - ')}` : message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra values merged over the file and under the environment (used by `demo` and tests). */
  overrides?: Record<string, unknown>;
}

/** Reads YAML (optional), applies CHOCO_EDGE_* overrides, fills defaults and validates against the schema. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  let raw: unknown = {};
  const file = options.file ?? env[`${ENV_PREFIX}CONFIG`];
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`, []);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`config file ${file} cannot be read: ${(error as Error).message}`, []);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (error) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, []);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`config file ${file} must hold a mapping at the top level, got ${describe(raw)}`, []);
    }
  }
  const merged = deepMerge(raw as Record<string, unknown>, options.overrides ?? {});
  const problems: string[] = [];
  applyEnvOverrides(merged, env, problems);
  const withDefaults = Value.Default(ConfigSchema, merged) as Record<string, unknown>;
  for (const e of Value.Errors(ConfigSchema, withDefaults)) {
    problems.push(`${e.path || '/'}: ${e.message.toLowerCase()}, got ${describe(e.value)}`);
  }
  if (!problems.length) problems.push(...topicNameProblems(withDefaults as Config));
  if (problems.length) throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}`, dedupe(problems));
  return withDefaults as Config;
}

/** The environment variable name for a config path: ['http','port'] → CHOCO_EDGE_HTTP_PORT. */
export function envName(path: string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function applyEnvOverrides(target: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[]): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || name === `${ENV_PREFIX}CONFIG`) continue;
    const tokens = name.slice(ENV_PREFIX.length).split('_');
    const resolved = resolvePath(ConfigSchema, tokens);
    if (!resolved) {
      problems.push(`${name}: no configuration setting has this name`);
      continue;
    }
    const { path, schema, asFile } = resolved;
    try {
      setPath(target, path, asFile ? { file: value } : coerce(value, schema));
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
    }
  }
}

interface Resolved {
  path: string[];
  schema: TSchema;
  asFile: boolean;
}

function resolvePath(schema: TSchema, tokens: string[]): Resolved | undefined {
  if (tokens.length === 0) return { path: [], schema, asFile: false };
  if (isSecret(schema) && tokens.length === 1 && tokens[0] === 'FILE') return { path: [], schema, asFile: true };
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (props) {
    for (const [key, child] of Object.entries(props)) {
      const keyTokens = envName([key]).slice(ENV_PREFIX.length).split('_');
      if (keyTokens.every((t, i) => tokens[i] === t)) {
        const rest = resolvePath(child, tokens.slice(keyTokens.length));
        if (rest) return { ...rest, path: [key, ...rest.path] };
      }
    }
  }
  const record = (schema as { patternProperties?: Record<string, TSchema> }).patternProperties;
  if (record && tokens.length === 1) {
    return { path: [tokens[0]!.toLowerCase()], schema: Object.values(record)[0]!, asFile: false };
  }
  return undefined;
}

function isSecret(schema: TSchema): boolean {
  return (schema as { secret?: boolean }).secret === true;
}

function coerce(value: string, schema: TSchema): unknown {
  const types = schemaTypes(schema);
  if (types.has('integer') || types.has('number')) {
    const n = Number(value);
    if (value.trim() !== '' && Number.isFinite(n)) return n;
    if (types.size === 1) throw new Error(`expected a number, got ${JSON.stringify(value)}`);
  }
  if (types.has('boolean')) {
    if (/^(true|1|yes|on)$/i.test(value)) return true;
    if (/^(false|0|no|off)$/i.test(value)) return false;
    if (types.size === 1) throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
  }
  if (types.has('array')) {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) return JSON.parse(trimmed);
    const items = trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
    const itemTypes = schemaTypes((schema as { items?: TSchema }).items ?? ({} as TSchema));
    return itemTypes.has('integer') || itemTypes.has('number') ? items.map(Number) : items;
  }
  return value;
}

function schemaTypes(schema: TSchema): Set<string> {
  const out = new Set<string>();
  const s = schema as { type?: string; anyOf?: TSchema[]; const?: unknown };
  if (s.type) out.add(s.type);
  if (s.const !== undefined) out.add(typeof s.const);
  for (const alt of s.anyOf ?? []) for (const t of schemaTypes(alt)) out.add(t);
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** Resolves a secret to its text; `{file}` is read now (systemd credentials), so a missing file fails loudly. */
export function readSecret(secret: SecretValue | undefined, what: string): string | undefined {
  if (secret === undefined) return undefined;
  if (typeof secret === 'string') return secret;
  try {
    return readFileSync(secret.file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`${what}: secret file ${secret.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, []);
  }
}

/** The configuration as it may be printed: every secret replaced. */
export function redactConfig(config: Config): unknown {
  return redactWith(ConfigSchema, config);
}

function redactWith(schema: TSchema, value: unknown): unknown {
  if (value === undefined) return value;
  if (isSecret(schema)) return '***';
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (props && value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = props[k] ? redactWith(props[k], v) : v;
    return out;
  }
  return value;
}
