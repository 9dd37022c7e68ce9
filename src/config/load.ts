/**
 * Reads a YAML config file, validates it against the schema and the cross-references
 * between its sections, and reports every problem as `FILE:LINE:COL field.path: message`.
 */
import { readFile } from 'node:fs/promises';
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml';
import {
  type ConfigProblem,
  formatPath,
  formatProblem,
  type LoadResult,
  type PathSegment,
} from './problem.js';
import { checkReferences } from './references.js';
import { config as configSchema } from './schema.js';

// Callers that load configs in this thread find the problem types and formatting here too.
export * from './problem.js';

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      problems
        .filter((p) => p.severity === 'error')
        .map(formatProblem)
        .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export async function loadConfigFile(file: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    return {
      problems: [
        { file, line: 1, col: 1, path: '', message: `cannot read config: ${reason}`, severity: 'error' },
      ],
    };
  }
  return loadConfigText(text, file);
}

export function loadConfigText(text: string, file = '<config>'): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number) => {
    const pos = lines.linePos(offset);
    return { line: pos.line, col: pos.col };
  };

  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        file,
        ...at(e.pos[0]),
        path: '',
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        severity: 'error' as const,
      })),
    };
  }

  const locate = (
    path: readonly PathSegment[],
    severity: 'error' | 'warning',
    message: string,
    atKey = false,
  ): ConfigProblem => ({
    file,
    ...at(offsetOf(doc, path, atKey)),
    path: formatPath(path),
    message,
    severity,
  });

  let raw: unknown;
  try {
    // The yaml library limits alias expansion (billion laughs) and throws on an unknown alias.
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    const message = (error as Error).message;
    return {
      problems: [
        {
          file,
          ...at(aliasOffset(doc, message)),
          path: '',
          message: `YAML alias error: ${message}`,
          severity: 'error' as const,
        },
      ],
    };
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems: ConfigProblem[] = [];
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          problems.push(locate([...path, key], 'error', `unknown field "${key}"`, true));
      } else if (issue.code === 'invalid_type' && valueAt(raw, path) === undefined) {
        problems.push(locate(path, 'error', `missing required field "${String(path[path.length - 1])}"`));
      } else {
        problems.push(locate(path, 'error', issue.message));
      }
    }
    return { problems: sortProblems(problems) };
  }

  const problems = checkReferences(parsed.data).map((r) => locate(r.path, r.severity, r.message));
  const hasError = problems.some((p) => p.severity === 'error');
  return hasError
    ? { problems: sortProblems(problems) }
    : { config: parsed.data, problems: sortProblems(problems) };
}

/** Alias nodes a config may expand (a real config uses a few; billion laughs uses millions). */
const MAX_ALIAS_COUNT = 100;

/** Where the alias toJS() refused is: the first unresolved one, else the first one (too many). */
function aliasOffset(doc: Document, message: string): number {
  let first = -1;
  let unresolved = -1;
  visit(doc, {
    Alias(_key, node) {
      const offset = node.range?.[0] ?? 0;
      if (first < 0) first = offset;
      if (unresolved < 0 && node.resolve(doc) === undefined) {
        unresolved = offset;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (/unresolved/i.test(message) && unresolved >= 0) return unresolved;
  return Math.max(first, 0);
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

/**
 * Source offset of the node at `path` (of its key when `atKey`); for a path that does not
 * exist (a missing required field), the nearest enclosing node that does.
 */
function offsetOf(doc: Document, path: readonly PathSegment[], atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) break;
      const key = pair.key as Node;
      const value = pair.value as Node | null;
      const last = segment === path[path.length - 1];
      offset = (atKey && last ? key.range?.[0] : value?.range?.[0]) ?? key.range?.[0] ?? offset;
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
