/**
 * A small JSON Schema (draft 7) checker for the keywords the generated config schema uses,
 * standing in for an editor's: enough to show that an example config passes and a
 * misspelled key does not. Returns the failing paths; empty when valid.
 */
type Schema = Record<string, unknown>;

export function schemaErrors(schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  const fail = (message: string) => errors.push(`${path}: ${message}`);
  if (schema.type !== undefined) {
    const types = ([] as unknown[]).concat(schema.type);
    if (!types.some((t) => hasType(value, String(t)))) fail(`expected ${types.join('|')}`);
  }
  if ('const' in schema && value !== schema.const) fail(`expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) fail('not in enum');
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) fail('pattern');
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) fail('minLength');
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail('minimum');
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail('maximum');
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail('minItems');
    if (schema.items)
      value.forEach((v, i) => {
        errors.push(...schemaErrors(schema.items as Schema, v, `${path}[${i}]`));
      });
  }
  if (isObject(value)) errors.push(...objectErrors(schema, value, path));
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword];
    if (!Array.isArray(options)) continue;
    const results = options.map((s: Schema) => schemaErrors(s, value, path));
    const matches = results.filter((r) => r.length === 0).length;
    // Like an editor, show why the nearest option failed: one of the right type, fewest errors.
    const distance = (r: string[]) =>
      (r.some((e) => e.startsWith(`${path}: expected`)) ? 1000 : 0) + r.length;
    if (matches === 0) errors.push(...results.reduce((a, b) => (distance(b) < distance(a) ? b : a)));
    else if (keyword === 'oneOf' && matches > 1) fail(`matches ${matches} oneOf options`);
  }
  return errors;
}

function objectErrors(schema: Schema, value: Record<string, unknown>, path: string): string[] {
  const errors: string[] = [];
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, Schema>);
  for (const key of (schema.required ?? []) as string[])
    if (!(key in value)) errors.push(`${path}: missing ${key}`);
  for (const [key, inner] of Object.entries(value)) {
    const here = `${path}.${key}`;
    if (schema.propertyNames)
      errors.push(...schemaErrors(schema.propertyNames as Schema, key, `${here} (name)`));
    const matched = patterns.filter(([p]) => new RegExp(p, 'u').test(key));
    for (const [, s] of matched) errors.push(...schemaErrors(s, inner, here));
    if (properties[key]) errors.push(...schemaErrors(properties[key], inner, here));
    else if (matched.length === 0) {
      if (schema.additionalProperties === false) errors.push(`${here}: unknown key`);
      else if (isObject(schema.additionalProperties))
        errors.push(...schemaErrors(schema.additionalProperties, inner, here));
    }
  }
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
