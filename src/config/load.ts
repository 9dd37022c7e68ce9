/**
 * Reads a YAML config file, fills in `${VAR}` references from the environment, validates it
 * against the schema and the cross-references between its sections, and reports every
 * problem as `FILE:LINE:COL field.path: message`: all of them in one pass, as far as the
 * file can be read (a YAML syntax error stops it; a schema error does not).
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
import type { z } from 'zod';
import { admin as adminSchema } from './admin-schema.js';
import { selfLocality } from './balancing-schema.js';
import { substituteEnvironment } from './environment.js';
import { issueMessage } from './messages.js';
import {
  type ConfigProblem,
  formatPath,
  formatProblem,
  type LoadResult,
  type PathSegment,
} from './problem.js';
import { checkReferences, type ReadableConfig } from './references.js';
import {
  cluster as clusterSchema,
  config as configSchema,
  listenAddress,
  listener as listenerSchema,
} from './schema.js';
import { keysAt, valueAt } from './schema-keys.js';
import { suggest } from './suggest.js';

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

export async function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { problems: [unreadable(file, error as NodeJS.ErrnoException)] };
  }
  return loadConfigText(text, file, env);
}

/** The one problem of a file that cannot be read, in words rather than an errno. */
export function unreadable(file: string, error: NodeJS.ErrnoException): ConfigProblem {
  const reasons: Record<string, string> = {
    ENOENT: 'file not found',
    EISDIR: 'this is a directory; name a config file',
    EACCES: 'permission denied',
  };
  const reason = reasons[error.code ?? ''] ?? error.message;
  return { file, line: 1, col: 1, path: '', message: `cannot read config: ${reason}`, severity: 'error' };
}

export function loadConfigText(
  text: string,
  file = '<config>',
  env: NodeJS.ProcessEnv = process.env,
): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    // `<<: *defaults` merges a mapping defined once (under an `x-` key, say) into another.
    merge: true,
  });
  const at = (offset: number) => {
    const pos = lines.linePos(offset);
    return { line: pos.line, col: pos.col };
  };

  if (doc.errors.length > 0) {
    // One mistake (an unclosed bracket) makes the parser trip on every token after it:
    // the first error of each line, and only the first few lines, say all there is to say.
    const problems: ConfigProblem[] = [];
    for (const e of doc.errors) {
      const where = at(e.pos[0]);
      if (problems.some((p) => p.line === where.line)) continue;
      if (problems.length === MAX_SYNTAX_ERRORS) {
        const last = problems[problems.length - 1]!;
        last.message += ' (more YAML errors follow, likely caused by these)';
        break;
      }
      let message = `YAML syntax error: ${e.message.split('\n')[0]}`;
      // Braces end a value inside { ... }: the reference must be quoted there.
      if (UNQUOTED_FLOW_REFERENCE.test(text.split('\n')[where.line - 1] ?? ''))
        message += `; inside { } quote a variable reference: "\${VAR}"`;
      problems.push({ file, ...where, path: '', message, severity: 'error' });
    }
    return { problems };
  }

  const substituted = substituteEnvironment(doc, env);
  const locate = (
    path: readonly PathSegment[],
    severity: 'error' | 'warning',
    message: string,
    atKey = false,
  ): ConfigProblem => {
    const offset = offsetOf(doc, path, atKey);
    // A value that came from the environment says so: the file alone does not show it.
    const variables = atKey ? undefined : substituted.variables.get(offset);
    const from = variables ? ` (value from ${variables.map((v) => `\${${v}}`).join(', ')})` : '';
    return { file, ...at(offset), path: formatPath(path), message: message + from, severity };
  };
  const problems: ConfigProblem[] = substituted.problems.map((p) => ({
    file,
    ...at(p.offset),
    path: formatPath(p.path),
    message: p.message,
    severity: 'error',
  }));
  // A value whose variable is missing already has its problem; what the schema says about the
  // empty value would only repeat it.
  const unsubstituted = new Set(substituted.problems.map((p) => p.offset));
  const report = (
    path: readonly PathSegment[],
    severity: 'error' | 'warning',
    message: string,
    atKey = false,
  ) => {
    if (!unsubstituted.has(offsetOf(doc, path, atKey))) problems.push(locate(path, severity, message, atKey));
  };

  let raw: unknown;
  try {
    // The yaml library limits alias expansion (billion laughs) and throws on an unknown alias.
    raw = withoutExtensions(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {});
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

  const parsed = configSchema.safeParse(raw, { error: issueMessage });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const known = keysAt(configSchema, raw, path);
        for (const key of issue.keys) report([...path, key], 'error', unknownField(key, known), true);
      } else if (
        (issue.code === 'invalid_type' || issue.code === 'invalid_union') &&
        valueAt(raw, path) === undefined
      ) {
        report(path, 'error', `missing required field "${String(path[path.length - 1])}"`);
      } else {
        report(path, 'error', issue.message);
      }
    }
  }

  const readable = parsed.success
    ? { ...parsed.data, addresses: parsed.data.listeners.map((l) => l.address) }
    : readAsFarAsPossible(raw);
  for (const r of checkReferences(raw, readable)) report(r.path, r.severity, r.message);
  const sorted = sortProblems(problems);
  return parsed.success && !sorted.some((p) => p.severity === 'error')
    ? { config: parsed.data, problems: sorted }
    : { problems: sorted };
}

/** Top-level keys starting with "x-" hold YAML anchors to reuse (as in Compose files); the schema never sees them. */
function withoutExtensions(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
}

function unknownField(key: string, known: readonly string[]): string {
  const hint = suggest(key, known);
  if (hint) return `unknown field "${key}"${hint}`;
  return known.length > 0
    ? `unknown field "${key}"; fields here: ${known.join(', ')}`
    : `unknown field "${key}"`;
}

/** Each listener, cluster and section parsed alone, for the cross-section checks of a config with errors. */
function readAsFarAsPossible(raw: unknown): ReadableConfig {
  const top = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const each = <T>(schema: z.ZodType<T>, list: unknown): (T | undefined)[] =>
    Array.isArray(list) ? list.map((item) => schema.safeParse(item).data) : [];
  const addresses = Array.isArray(top.listeners)
    ? top.listeners.map((l) => listenAddress.safeParse((l as Record<string, unknown> | null)?.address).data)
    : [];
  return {
    listeners: each(listenerSchema, top.listeners),
    addresses,
    clusters: each(clusterSchema, top.clusters),
    node: selfLocality.safeParse(top.node).data,
    admin: top.admin === undefined ? undefined : adminSchema.safeParse(top.admin).data,
  };
}

/** `{ key: ${VAR} }`: a `${` written unquoted as a value in a flow mapping. */
const UNQUOTED_FLOW_REFERENCE = /\{[^}]*:\s*\$\{/;

/** YAML syntax errors reported, at most one a line. */
const MAX_SYNTAX_ERRORS = 5;

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
