import { cronSentence } from './cron-check.js';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { checkInputFile } from './cli-input.js';
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { fieldNameProblems } from './field-names.js';
import { ConfigSchema, type Config, type SecretValue } from './schema.js';
import { topicNameProblems } from './topic-names.js';
import { mqttUserProblems } from './mqtt-users.js';
import { contractProblems } from './contract-schema.js';
import { meterProblems } from './meters-schema.js';

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

/** The config file loadConfig reads for these options (--config, else CHOCO_EDGE_CONFIG), or undefined for none. */
export function configFile(options: LoadOptions = {}): string | undefined {
  return options.file ?? (options.env ?? process.env)[`${ENV_PREFIX}CONFIG`];
}

/**
 * Reads YAML (optional), applies CHOCO_EDGE_* overrides, fills defaults and validates: the schema, every cron
 * expression as the scheduler will parse it, and every secret, whose `{file}` is read here and replaced by its text
 * (so a missing, empty or unreadable secret file stops `check-config` and `start` alike, before anything opens).
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  let raw: unknown = {};
  const file = configFile(options);
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
      throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message.trimEnd()}`, []);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`config file ${file} must hold a mapping at the top level, got ${describe(raw)}`, []);
    }
  }
  const merged = deepMerge(raw as Record<string, unknown>, options.overrides ?? {});
  const problems: string[] = [];
  applyEnvOverrides(merged, env, problems);
  const withDefaults = Value.Default(ConfigSchema, merged) as Record<string, unknown>;
  for (const e of oneErrorPerMissing([...Value.Errors(ConfigSchema, withDefaults)])) {
    // A cron field gets one sentence naming the job (not the schema's pattern); a message keeps its case (a pattern's \S is not \s).
    const cron = (e.schema as { cron?: boolean }).cron && typeof e.value === 'string' ? cronSentence(jobOf(e.path), e.value) : undefined;
    problems.push(cron ? `${e.path}: ${cron}` : `${e.path || '/'}: ${expected(e)}, got ${describe(e.value)}${e.required ? ' (a required setting)' : ''}${booleanHint(e.schema, e.value)}`);
  }
  if (!problems.length) walkSchema(ConfigSchema, withDefaults, '', (schema, value, path, replace) => {
    if ((schema as { cron?: boolean }).cron && typeof value === 'string') {
      const problem = cronSentence(jobOf(path), value);
      if (problem) problems.push(`${path}: ${problem}`);
    }
    if ((schema as { readableFile?: boolean }).readableFile && typeof value === 'string') {
      try {
        checkInputFile(value, 'file');
      } catch (error) {
        problems.push(`${path}: ${(error as Error).message}`);
      }
    }
    if (isSecret(schema) && value !== undefined) {
      try {
        replace(resolveSecret(value as SecretValue));
      } catch (error) {
        problems.push(`${path}: ${(error as Error).message}`);
      }
    }
  });
  if (!problems.length) problems.push(...topicNameProblems(withDefaults as Config));
  if (!problems.length) problems.push(...contractProblems((withDefaults as Config).energy?.contract));
  if (!problems.length) problems.push(...meterProblems((withDefaults as Config).energy?.meters, (withDefaults as Config).energy?.meterProfiles));
  if (!problems.length) problems.push(...fieldNameProblems(withDefaults as Config));
  if (!problems.length) problems.push(...mqttUserProblems(withDefaults as Config));
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

/**
 * The schema's errors with one per missing setting: TypeBox reports a required property that is absent twice, as
 * "Expected required property" on it and again as its type's error with no value ("Expected object", "Expected union
 * value"), which listed two lines for one missing setting. The type's error is kept (it says what to write there),
 * marked `required`; the required-property error only when no type error names that path.
 */
function oneErrorPerMissing(errors: readonly ValueError[]): Array<ValueError & { required?: boolean }> {
  const missing = new Set(errors.filter((e) => e.type === ValueErrorType.ObjectRequiredProperty).map((e) => e.path));
  const typed = new Set(errors.filter((e) => e.type !== ValueErrorType.ObjectRequiredProperty && e.value === undefined && missing.has(e.path)).map((e) => e.path));
  const seen = new Set<string>();
  const out: Array<ValueError & { required?: boolean }> = [];
  for (const e of errors) {
    if (e.type === ValueErrorType.ObjectRequiredProperty && typed.has(e.path)) continue;
    if (e.value === undefined && missing.has(e.path)) {
      // One line per missing setting, the first type error (a union's members repeat it).
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      out.push(e.type === ValueErrorType.ObjectRequiredProperty ? e : { ...e, required: true });
    } else out.push(e);
  }
  return out;
}

/** What a schema error expects, in words: its message, or for a choice of fixed values `expected one of "2.0TD", "3.0TD"` (not "expected union value"). */
function expected(e: ValueError): string {
  const choices = (e.schema as { anyOf?: Array<{ const?: unknown }> }).anyOf;
  if (e.type === ValueErrorType.Union && choices?.length && choices.every((c) => c.const !== undefined)) return `expected one of ${choices.map((c) => JSON.stringify(c.const)).join(', ')}`;
  return `${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`;
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** Resolves a secret to its text; `{file}` is read now (systemd credentials), so a missing file fails loudly. */
export function readSecret(secret: SecretValue | undefined, what: string): string | undefined {
  if (secret === undefined) return undefined;
  try {
    return resolveSecret(secret);
  } catch (error) {
    throw new ConfigError(`${what}: ${(error as Error).message}`, []);
  }
}

function resolveSecret(secret: SecretValue): string {
  if (typeof secret === 'string') return secret;
  let text: string;
  try {
    if (statSync(secret.file).isDirectory()) throw new Error(`secret file ${secret.file} is a directory`);
    text = readFileSync(secret.file, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!code) throw error;
    throw new Error(`secret file ${secret.file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`);
  }
  if (!text) throw new Error(`secret file ${secret.file} is empty`);
  return text;
}

/** The job a cron setting belongs to: `/scheduler/jobs/planning/cron` → `planning`. */
function jobOf(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.at(-1) === 'cron' && parts.length >= 2 ? parts.at(-2)! : path;
}

/** YAML 1.2 reads yes/no/on/off as text: say so when a boolean setting got one of them. */
function booleanHint(schema: TSchema, value: unknown): string {
  if ((schema as { type?: string }).type !== 'boolean' || typeof value !== 'string') return '';
  return /^(yes|no|on|off|y|n)$/i.test(value) ? ` (write true or false: YAML reads ${value} as text)` : ' (write true or false)';
}

type Visit = (schema: TSchema, value: unknown, path: string, replace: (v: unknown) => void) => void;

/** Visits every value with the schema that describes it (objects, records and lists), depth first. */
function walkSchema(schema: TSchema, value: unknown, path: string, visit: Visit, replace: (v: unknown) => void = () => undefined): void {
  visit(schema, value, path || '/', replace);
  if (value === null || typeof value !== 'object' || isSecret(schema)) return;
  const s = schema as { properties?: Record<string, TSchema>; patternProperties?: Record<string, TSchema>; items?: TSchema };
  if (Array.isArray(value)) {
    const item = s.items;
    if (item) value.forEach((v, i) => walkSchema(item, v, `${path}/${i}`, visit, (n) => (value[i] = n)));
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(record)) {
    const child = s.properties?.[key] ?? (s.patternProperties ? Object.values(s.patternProperties)[0] : undefined);
    if (child) walkSchema(child, v, `${path}/${key}`, visit, (n) => (record[key] = n));
  }
}

/** The configuration as it may be printed: every secret replaced. */
export function redactConfig(config: Config): unknown {
  return redactWith(ConfigSchema, config);
}

function redactWith(schema: TSchema, value: unknown): unknown {
  if (value === undefined) return value;
  if (isSecret(schema)) return '***';
  // A secret inside a list (opcua.devices[].auth.password) is a secret too.
  const items = (schema as { items?: TSchema }).items;
  if (items && Array.isArray(value)) return value.map((v) => redactWith(items, v));
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (props && value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = props[k] ? redactWith(props[k], v) : v;
    return out;
  }
  return value;
}
