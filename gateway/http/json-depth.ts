/**
 * JSON bodies are refused by depth before they are parsed: no route takes more than a few levels (a plan quota is
 * two), and code that walks a body recursively (schema checks, the planner's quota reader) overflowed the stack on
 * a 30 KB body nesting 5000 objects (500 `Maximum call stack size exceeded`). The size is bounded by fastify's
 * `bodyLimit` (http.bodyLimitBytes); the depth here, in one linear pass that skips strings.
 */
export const MAX_JSON_DEPTH = 64;

/** The sentence refusing `text` when its objects and arrays nest deeper than `limit`, or null. */
export function jsonDepthProblem(text: string, limit = MAX_JSON_DEPTH): string | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return `JSON body nested deeper than ${limit} levels; no route takes more`;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}
