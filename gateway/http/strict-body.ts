import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { FastifySchemaCompiler, RouteOptions } from 'fastify';

/**
 * Request bodies are checked as sent, never type-coerced.
 *
 * The server's Ajv coerces types (`coerceTypes`), which query strings and path parameters need ("5" → 5) but a JSON
 * body must not get: coerced, `{"dry_run": null}`, `0` or `"false"` became `false` and switched the plant live.
 * {@link strictBodies} (an `onRoute` hook) gives every route whose schema has a body, and no query, path or header
 * schema, a validator compiled by TypeBox's own checker, which coerces nothing and applies no defaults: a value of
 * another JSON type is refused with 400 and one sentence (`body/dry_run must be a JSON boolean (true or false), got
 * null`). Routes that also type a query or path keep Ajv for those parts (their body is then coerced); none of them
 * changes the plant (the model recommendation route only). Errors: the validator returns `{ error }` (Fastify → 400).
 */
export function strictBodyCompiler(): FastifySchemaCompiler<TSchema> {
  return ({ schema, httpPart }) => {
    if (httpPart !== 'body') throw new Error(`strictBodyCompiler is for request bodies only, not ${String(httpPart)}`);
    const check = TypeCompiler.Compile(schema);
    return (data: unknown) => {
      if (check.Check(data)) return { value: data };
      const first = check.Errors(data).First();
      // A property the body does not take is reported at its path with the object's schema: name it as unknown
      // (not "must be a JSON object"), with the properties the body does take.
      if (first?.type === ValueErrorType.ObjectAdditionalProperties) {
        const known = Object.keys((first.schema as { properties?: Record<string, unknown> }).properties ?? {});
        return { error: Object.assign(new Error(`body${first.path}: unknown property${known.length ? `; this object takes ${known.join(', ')}` : ''}`), { statusCode: 400 }) };
      }
      return { error: Object.assign(new Error(describe(first?.path ?? '', first?.schema, first?.value, first?.message)), { statusCode: 400 }) };
    };
  };
}

const JSON_TYPE_WORDS: Record<string, string> = {
  boolean: 'a JSON boolean (true or false)',
  integer: 'a JSON integer (a number, not a string)',
  number: 'a JSON number (not a string)',
  string: 'a JSON string',
  object: 'a JSON object',
  array: 'a JSON array',
  null: 'null',
};

function describe(path: string, schema: TSchema | undefined, value: unknown, message: string | undefined): string {
  const where = `body${path || ''}`;
  // JSON.parse reads 1e309 as Infinity, which JSON.stringify would show as null
  const got = value === undefined ? 'nothing' : typeof value === 'number' && !Number.isFinite(value) ? `${value} (a number too large to be finite)` : (JSON.stringify(value)?.slice(0, 60) ?? String(value));
  const type = typeof schema?.type === 'string' ? schema.type : undefined;
  const typeOf = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (type && JSON_TYPE_WORDS[type] && (type === 'integer' ? !(typeof value === 'number') : type !== typeOf)) {
    return value === undefined ? `${where} is required and must be ${JSON_TYPE_WORDS[type]}` : `${where} must be ${JSON_TYPE_WORDS[type]}, got ${got}`;
  }
  return `${where}: ${(message ?? 'invalid').toLowerCase()}, got ${got}`;
}

/** `onRoute` hook: a route with a body schema and no query, path or header schema gets {@link strictBodyCompiler}. */
export function strictBodies(route: RouteOptions): void {
  const schema = route.schema as { body?: unknown; querystring?: unknown; params?: unknown; headers?: unknown } | undefined;
  if (!schema?.body || schema.querystring || schema.params || schema.headers || route.validatorCompiler) return;
  route.validatorCompiler = strictBodyCompiler() as RouteOptions['validatorCompiler'];
}
