/**
 * The error answers of the HTTP API: one shape, `{error, message}`, whatever refused the request (a route, the
 * schema, the router), `error` the word for the status (404 → "not found", never "bad request") and `message` one
 * sentence naming the parameter.
 *
 * - errorLabel(status): the `error` word of a 4xx/5xx status.
 * - schemaErrorText(errors, part): Ajv's errors of a query string or path as one sentence; a parameter that must be
 *   one of a few words (TypeBox Union of Literals, which Ajv checks as anyOf/const and reports three times, e.g.
 *   "querystring/lang must be equal to constant, querystring/lang must be equal to constant, querystring/lang must
 *   match a schema in anyOf") becomes "querystring/lang must be one of: es, en".
 * - notFoundText(method, url): the sentence for a route that does not exist.
 */

const LABELS: Record<number, string> = {
  400: 'bad request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  406: 'not acceptable',
  409: 'conflict',
  413: 'payload too large',
  415: 'unsupported media type',
  422: 'unprocessable',
  429: 'too many requests',
  503: 'unavailable',
};

export function errorLabel(status: number): string {
  return LABELS[status] ?? (status >= 500 ? 'internal error' : 'bad request');
}

/** The part of Ajv's ErrorObject the sentence uses. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
}

export function schemaErrorText(errors: readonly SchemaError[], part: string): string {
  const sentences: string[] = [];
  const byPath = new Map<string, SchemaError[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  for (const [path, list] of byPath) {
    const where = `${part}${path}`;
    const allowed = list.filter((e) => e.keyword === 'const').map((e) => e.params?.allowedValue);
    const anyOf = list.some((e) => e.keyword === 'anyOf');
    if (anyOf && allowed.length && list.every((e) => e.keyword === 'const' || e.keyword === 'anyOf')) {
      sentences.push(`${where} must be one of: ${allowed.map((v) => String(v)).join(', ')}`);
      continue;
    }
    const seen = new Set<string>();
    for (const e of list) {
      const text = `${where} ${e.message ?? 'is invalid'}`;
      if (!seen.has(text)) sentences.push(text);
      seen.add(text);
    }
  }
  return sentences.join('; ');
}

export function notFoundText(method: string, url: string): string {
  const path = url.split('?')[0]!.slice(0, 120);
  return `no route ${method} ${path}: the routes are listed at /openapi.json and browsable at /docs`;
}
