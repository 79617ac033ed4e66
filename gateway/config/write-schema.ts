import { ConfigSchema } from './schema.js';

/** The configuration schema as JSON Schema (for editors and for review); `npm run schema` writes it to config/schema.json. */
export function configJsonSchema(): string {
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', title: 'choco-edge configuration', ...ConfigSchema }, null, 2)}\n`;
}

