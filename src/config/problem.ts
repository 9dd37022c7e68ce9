/**
 * A config problem and how it is printed (`FILE:LINE:COL field.path: message`). Kept apart
 * from the loader so that the proxy's own process can report problems without loading the
 * YAML parser and the schema (see load-in-child.ts).
 */
import type { Config } from './schema.js';

export type PathSegment = string | number;

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted field path with indexes, e.g. `listeners[0].address`; empty for the whole file. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export interface LoadResult {
  /** Present only when there is no error (warnings allowed). */
  config?: Config;
  problems: ConfigProblem[];
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.path ? ` ${p.path}:` : '';
  const tag = p.severity === 'warning' ? ' warning:' : '';
  return `${p.file}:${p.line}:${p.col}${where}${tag} ${p.message}`;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${segment}` : segment;
  }
  return out;
}
