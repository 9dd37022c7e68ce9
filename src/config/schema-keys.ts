/**
 * The schema of any place in the config, found by walking the schema along a field path:
 * the keys an object may have (for "unknown field" problems, to suggest the key that was
 * meant), and which fields are percentages (to print them as written).
 */
import type { z } from 'zod';
import type { PathSegment } from './problem.js';

type Schema = z.core.$ZodType;
interface Def {
  type: string;
  [key: string]: unknown;
}

const def = (schema: Schema): Def => schema._zod.def as unknown as Def;

/**
 * The schemas that may hold the value at `path`, given the raw value (a union picks the
 * options whose discriminator accepts it); empty when the path leads nowhere.
 */
export function schemasAt(root: Schema, raw: unknown, path: readonly PathSegment[]): Schema[] {
  let candidates = [root];
  let value = raw;
  for (const segment of path) {
    const next: Schema[] = [];
    for (const schema of candidates.flatMap((s) => objects(s, value))) {
      const d = def(schema);
      if (d.type === 'object' && typeof segment === 'string') {
        const field = (d.shape as Record<string, Schema>)[segment];
        if (field) next.push(field);
      } else if (d.type === 'array' && typeof segment === 'number') {
        next.push(d.element as Schema);
      } else if (d.type === 'record') {
        next.push(d.valueType as Schema);
      }
    }
    candidates = next;
    value =
      isRecord(value) || Array.isArray(value) ? (value as Record<PathSegment, unknown>)[segment] : undefined;
  }
  return candidates;
}

/** The keys of the object schema at `path` (see `schemasAt`). */
export function keysAt(root: Schema, raw: unknown, path: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  const value = valueAt(raw, path);
  for (const schema of schemasAt(root, raw, path).flatMap((s) => objects(s, value))) {
    const d = def(schema);
    if (d.type === 'object') for (const key of Object.keys(d.shape as object)) keys.add(key);
  }
  return [...keys];
}

/** `schema` without its optional/default wrappers: what a field's value is checked against. */
export function unwrap(schema: Schema): Schema {
  const d = def(schema);
  return WRAPPERS.has(d.type) ? unwrap(d.innerType as Schema) : schema;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

/** The value at `path` in `raw`, or undefined. */
export function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let value = raw;
  for (const segment of path)
    value =
      isRecord(value) || Array.isArray(value) ? (value as Record<PathSegment, unknown>)[segment] : undefined;
  return value;
}

/** The object, array and record schemas under `schema`'s wrappers that `value` could meet. */
function objects(schema: Schema, value: unknown): Schema[] {
  const d = def(schema);
  if (WRAPPERS.has(d.type)) return objects(d.innerType as Schema, value);
  switch (d.type) {
    case 'object':
    case 'array':
    case 'record':
      return [schema];
    case 'lazy':
      return objects((d.getter as () => Schema)(), value);
    case 'pipe': {
      // A preprocess is a pipe from a transform to the real schema; a transform, the reverse.
      const input = d.in as Schema;
      return objects(def(input).type === 'transform' ? (d.out as Schema) : input, value);
    }
    case 'union': {
      const options = (d.options as Schema[]).flatMap((o) => objects(o, value));
      const discriminator = d.discriminator as string | undefined;
      if (discriminator === undefined || !isRecord(value)) return options;
      const matching = options.filter((o) => {
        const field = (def(o).shape as Record<string, z.ZodType> | undefined)?.[discriminator];
        return field?.safeParse(value[discriminator]).success ?? false;
      });
      return matching.length > 0 ? matching : options;
    }
    default:
      return [];
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
