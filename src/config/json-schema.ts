/**
 * The JSON Schema of the config file, generated from the zod schema (the one source of
 * truth), for editors: shipped as schema/portside.schema.json and printed by
 * `portside schema`. It describes what may be written (zod's input side); checks only code
 * can do (durations, addresses, references) stay with `portside validate`.
 */
import { z } from 'zod';
import { httpCheck } from './health-schema.js';
import { config, endpoint } from './schema.js';

type JsonSchema = z.core.JSONSchema.BaseSchema;

/**
 * Preprocessed fields accept more than the schema they lead to; zod sees only the latter,
 * so each such field says here what else it takes.
 */
const SHORTHANDS = new Map<unknown, (full: JsonSchema) => JsonSchema>([
  // An endpoint may be written as its address alone: "10.0.0.1:80".
  [endpoint, (full) => ({ anyOf: [{ type: ['string', 'integer'] }, full] })],
  // expectedStatus: a lone code or range needs no list.
  [
    (httpCheck.shape.expectedStatus as z.ZodDefault).def.innerType,
    (full) => ({ anyOf: [full.items as JsonSchema, full] }),
  ],
]);

export function configJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(config, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const widen = SHORTHANDS.get(zodSchema);
      if (!widen) return;
      const full = { ...jsonSchema };
      for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
      Object.assign(jsonSchema, widen(full));
    },
  });
  return {
    $schema: schema.$schema,
    title: 'Portside config',
    description:
      'The config file of Portside, a node-local L4/L7 proxy. Check a file with `portside validate FILE`.',
    ...schema,
    // Top-level `x-*` keys hold YAML anchors for reuse; Portside ignores them.
    patternProperties: { '^x-': {} },
  };
}

/** The schema as the shipped file holds it. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
