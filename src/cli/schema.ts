import { readFile } from 'node:fs/promises';
import { packageFile } from '../core/package-info.js';

export interface SchemaOptions {
  /** Generate from the zod schema instead of printing the shipped file. */
  generate: boolean;
}

/** The file editors read; kept equal to the generated schema by a test. */
export const SHIPPED_SCHEMA = 'schema/portside.schema.json';

/** `portside schema`: prints the JSON Schema of the config file. */
export async function schemaCommand({ generate }: SchemaOptions): Promise<number> {
  if (generate) {
    const { configJsonSchemaText } = await import('../config/json-schema.js');
    process.stdout.write(configJsonSchemaText());
    return 0;
  }
  const file = packageFile(SHIPPED_SCHEMA);
  if (!file) {
    process.stderr.write(`portside: ${SHIPPED_SCHEMA} is missing from this installation; try --generate\n`);
    return 1;
  }
  process.stdout.write(await readFile(file, 'utf8'));
  return 0;
}
