/**
 * `${VAR}` and `${VAR:-default}` in config values, replaced from the environment before the
 * schema sees them, so containers can configure Portside without templating the file.
 * `$${` writes a literal `${`. Keys are never substituted. A plain (unquoted) value that is
 * entirely one reference takes the type of what it expands to (`weight: ${W}` with W=3 is
 * the number 3); a quoted one stays a string.
 */
import { type Document, isPair, isScalar, isSeq, type Node, parse, type Scalar, visit } from 'yaml';
import type { PathSegment } from './problem.js';

export interface Substitutions {
  /** Unset variables and malformed references, at the value they are in. */
  problems: { path: PathSegment[]; offset: number; message: string }[];
  /** Source offset of each substituted value → the variables it used, for later messages. */
  variables: Map<number, string[]>;
}

const MALFORMED = `a "\${" here starts no variable: write \${NAME} or \${NAME:-default}, or $\${ for a literal "\${"`;

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

export function substituteEnvironment(doc: Document, env: NodeJS.ProcessEnv): Substitutions {
  const result: Substitutions = { problems: [], variables: new Map() };
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const offset = node.range?.[0] ?? 0;
      const used: string[] = [];
      const text = node.value.replace(REFERENCE, (match, name?: string, fallback?: string) => {
        if (match === '$${') return '${';
        if (name === undefined) {
          result.problems.push({
            path: fieldPath(path, node),
            offset,
            message: MALFORMED,
          });
          return match;
        }
        used.push(name);
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        result.problems.push({
          path: fieldPath(path, node),
          offset,
          message: `environment variable ${name} is not set (or empty); set it, or give a default: \${${name}:-VALUE}`,
        });
        return '';
      });
      if (used.length > 0) result.variables.set(offset, used);
      node.value = node.type === 'PLAIN' ? typed(text) : text;
    },
  });
  return result;
}

/** What YAML would have read had the expanded text been written unquoted: 3, true, or the string. */
function typed(text: string): unknown {
  try {
    const value = parse(text);
    if (typeof value === 'number' || typeof value === 'boolean') return value;
  } catch {
    // Not a scalar YAML can read alone (e.g. "a: b"): it stays the string it is.
  }
  return text;
}

function fieldPath(ancestors: readonly unknown[], node: Scalar): PathSegment[] {
  const path: PathSegment[] = [];
  const chain = [...ancestors, node];
  chain.forEach((item, i) => {
    if (isPair(item) && isScalar(item.key)) path.push(String(item.key.value));
    else if (isSeq(item)) path.push(item.items.indexOf(chain[i + 1] as Node));
  });
  return path;
}
