/**
 * A request path normalised before it is matched and forwarded, so that a route sees the
 * path the upstream will act on: `/public/../admin` and `/public/%2e%2e/admin` are
 * `/admin`, not something under `/public`. As RFC 3986 §6.2.2 and Envoy's `normalize_path`:
 * percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded, the hex digits
 * of the other percent-encodings are upper-cased (`%2f` and `%2F` are one path), and dot
 * segments are removed (§5.2.4; `..` at the root stays at the root, as the RFC says). An
 * encoded slash or backslash (`%2F`, `%5C`) or a raw backslash is what `escapedSlashes`
 * says: refused (the default, as Envoy's REJECT_REQUEST), kept as it is, or decoded to `/`
 * before dot segments are removed. A `%` not followed by two hex digits is refused.
 * Only the path is normalised, never the query.
 */

/** What to do with `%2F`, `%5C` and `\` in a path. */
export type EscapedSlashes = 'reject' | 'keep' | 'decode';

export interface PathOptions {
  readonly escapedSlashes: EscapedSlashes;
  /** `//` → `/` (off by default, as in Envoy: some upstreams give `//` a meaning). */
  readonly mergeSlashes: boolean;
}

export const DEFAULT_PATH_OPTIONS: PathOptions = { escapedSlashes: 'reject', mergeSlashes: false };

const PERCENT = 37;
const SLASH = 47;
const DOT = 46;
const BACKSLASH = 92;

/**
 * The normalised path, or undefined when the path must be refused with 400. The common
 * path (no `%`, no `\`, no segment starting with `.`, no `//` when merging) is returned as
 * it is after one scan, without allocating.
 */
export function normalizePath(path: string, options: PathOptions = DEFAULT_PATH_OPTIONS): string | undefined {
  const merge = options.mergeSlashes;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === PERCENT || c === BACKSLASH) return normalizeSlowly(path, options);
    if (c === SLASH) {
      const next = path.charCodeAt(i + 1);
      if (next === DOT || (merge && next === SLASH)) return normalizeSlowly(path, options);
    }
  }
  return path;
}

function normalizeSlowly(path: string, options: PathOptions): string | undefined {
  const decoded = decodePercents(path, options.escapedSlashes);
  if (decoded === undefined) return undefined;
  return removeDotSegments(options.mergeSlashes ? decoded.replace(/\/{2,}/g, '/') : decoded);
}

/** The path with unreserved characters decoded and other escapes upper-cased; undefined to refuse. */
function decodePercents(path: string, slashes: EscapedSlashes): string | undefined {
  let out = '';
  let from = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === BACKSLASH) {
      if (slashes === 'reject') return undefined;
      if (slashes === 'decode') {
        out += `${path.slice(from, i)}/`;
        from = i + 1;
      }
      continue;
    }
    if (c !== PERCENT) continue;
    const high = hexValue(path.charCodeAt(i + 1));
    const low = hexValue(path.charCodeAt(i + 2));
    if (high < 0 || low < 0) return undefined;
    const byte = high * 16 + low;
    let replacement: string;
    if (isUnreserved(byte)) replacement = String.fromCharCode(byte);
    else if (byte === SLASH || byte === BACKSLASH) {
      if (slashes === 'reject') return undefined;
      replacement = slashes === 'decode' ? '/' : ENCODED[byte]!;
    } else replacement = `%${HEX[high]}${HEX[low]}`;
    out += path.slice(from, i) + replacement;
    from = i + 3;
    i += 2;
  }
  return from === 0 ? path : out + path.slice(from);
}

const HEX = '0123456789ABCDEF';
const ENCODED: Record<number, string> = { [SLASH]: '%2F', [BACKSLASH]: '%5C' };

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 70) return c - 55; // A-F
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/** RFC 3986 §2.3: ALPHA DIGIT - . _ ~ */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 65 && byte <= 90) ||
    (byte >= 97 && byte <= 122) ||
    (byte >= 48 && byte <= 57) ||
    byte === 45 ||
    byte === DOT ||
    byte === 95 ||
    byte === 126
  );
}

/**
 * RFC 3986 §5.2.4 on an absolute path, segment by segment: `.` goes, `..` also takes the
 * segment before it (none at the root), and a path that ended in either ends in `/`.
 */
export function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  // segments[0] is the empty text before the leading "/".
  for (let i = 1; i <= last; i++) {
    const segment = segments[i]!;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      if (i === last) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}
