/**
 * The effective config in the form a person writes it. The schema turns percentages into
 * numbers for the runtime (`jitter: 10%` becomes 10); printed back, they are percentages
 * again, so `validate --print-defaults` shows what could be pasted into a file.
 */
import { percent } from './health-schema.js';
import type { PathSegment } from './problem.js';
import { type Config, config as configSchema } from './schema.js';
import { schemasAt, unwrap } from './schema-keys.js';

export function asWritten(config: Config): unknown {
  const walk = (value: unknown, path: PathSegment[]): unknown => {
    if (typeof value === 'number') {
      const isPercent = schemasAt(configSchema, config, path).some((s) => unwrap(s) === percent);
      return isPercent ? `${value}%` : value;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    return value;
  };
  return walk(config, []);
}
