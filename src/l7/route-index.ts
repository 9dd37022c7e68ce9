/**
 * An index over a route table's matchers that finds the first matching route (the order
 * rule) by running only the matchers that could match: routes are bucketed by host (exact
 * name, `*.` suffix, any host) and, inside a bucket, by exact path, first path segment, or
 * "any path". A lookup gathers the few candidate lists for the request's host and path and
 * walks them merged in route order. Built once per config generation; lookups allocate
 * nothing.
 *
 * Lists are keyed by a 32-bit hash of the path (or segment, or host suffix) read straight
 * from the request's strings, so a lookup slices no substrings. Two keys sharing a hash
 * only share a list: every candidate still goes through its full matcher, so a collision
 * costs a matcher call, never a wrong answer.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteMatcher } from './route-match.js';

const SLASH = 47;
const DOT = 46;
const SEED = 0x811c9dc5 | 0;

/** Hash of `text[start..end)`, read left to right. */
function hashRange(text: string, start: number, end: number): number {
  let hash = SEED;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Hash of `text[start..]` read right to left, so a lookup can hash every suffix of a host in one pass. */
function hashSuffix(text: string, start: number): number {
  let hash = SEED;
  for (let i = text.length - 1; i >= start; i--) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Route positions, ascending, for one host bucket. */
class HostBucket {
  readonly byPath = new Map<number, number[]>();
  readonly bySegment = new Map<number, number[]>();
  readonly anyPath: number[] = [];

  constructor(readonly suffix = '') {}

  add(position: number, matcher: RouteMatcher): void {
    if (matcher.path !== undefined)
      push(this.byPath, hashRange(matcher.path, 0, matcher.path.length), position);
    else if (matcher.firstSegment !== undefined) {
      push(this.bySegment, hashRange(matcher.firstSegment, 0, matcher.firstSegment.length), position);
    } else this.anyPath.push(position);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

export class RouteIndex {
  private readonly exactHosts = new Map<string, HostBucket>();
  /** By the hash of the suffix (`.example.com`); more than one bucket only on a hash collision. */
  private readonly wildcardHosts = new Map<number, HostBucket[]>();
  private readonly anyHost = new HostBucket();
  /** Scratch for one lookup: the candidate lists and a cursor into each (lookups never overlap). */
  private readonly lists: (readonly number[])[];
  private readonly cursors: Int32Array;

  constructor(private readonly matchers: readonly RouteMatcher[]) {
    const suffixes = new Map<string, HostBucket>();
    matchers.forEach((matcher, position) => {
      let bucket = this.anyHost;
      if (matcher.hostExact !== undefined) {
        bucket = this.exactHosts.get(matcher.hostExact) ?? new HostBucket();
        this.exactHosts.set(matcher.hostExact, bucket);
      } else if (matcher.hostSuffix !== undefined) {
        const suffix = matcher.hostSuffix;
        bucket = suffixes.get(suffix) ?? new HostBucket(suffix);
        if (!suffixes.has(suffix)) {
          suffixes.set(suffix, bucket);
          push(this.wildcardHosts, hashSuffix(suffix, 0), bucket);
        }
      }
      bucket.add(position, matcher);
    });
    // Three lists per bucket: the exact host, each matching wildcard, and any host.
    const most = 3 * (2 + suffixes.size);
    this.lists = Array.from({ length: most }, () => []);
    this.cursors = new Int32Array(most);
  }

  /**
   * Position of the first matcher that accepts the request, or -1. `host` is what the
   * matchers compare: lower case, no port (`hostOf`), or '' when no route looks at it.
   */
  firstMatch(method: string, host: string, path: string, headers: IncomingHttpHeaders): number {
    const pathHash = hashRange(path, 0, path.length);
    let segmentHash: number | undefined;
    if (path.charCodeAt(0) === SLASH) {
      const end = path.indexOf('/', 1);
      segmentHash = hashRange(path, 1, end < 0 ? path.length : end);
    }
    let count = 0;
    if (this.exactHosts.size > 0) {
      const exact = this.exactHosts.get(host);
      if (exact !== undefined) count = this.gather(exact, pathHash, segmentHash, count);
    }
    if (this.wildcardHosts.size > 0) {
      // Every `.` but a leading one starts a suffix a wildcard could name (`*.b.c` wants more than `.b.c`).
      let hash = SEED;
      for (let i = host.length - 1; i >= 1; i--) {
        const code = host.charCodeAt(i);
        hash = (Math.imul(hash, 31) + code) | 0;
        if (code !== DOT) continue;
        const buckets = this.wildcardHosts.get(hash);
        if (buckets === undefined) continue;
        for (const bucket of buckets) {
          if (bucket.suffix.length === host.length - i && host.endsWith(bucket.suffix)) {
            count = this.gather(bucket, pathHash, segmentHash, count);
          }
        }
      }
    }
    count = this.gather(this.anyHost, pathHash, segmentHash, count);
    return this.walk(count, method, host, path, headers);
  }

  /** Adds the bucket's non-empty candidate lists for this path to the scratch; returns the new count. */
  private gather(
    bucket: HostBucket,
    pathHash: number,
    segmentHash: number | undefined,
    count: number,
  ): number {
    const lists = this.lists;
    const byPath = bucket.byPath.size > 0 ? bucket.byPath.get(pathHash) : undefined;
    if (byPath !== undefined) lists[count++] = byPath;
    const bySegment =
      segmentHash !== undefined && bucket.bySegment.size > 0 ? bucket.bySegment.get(segmentHash) : undefined;
    if (bySegment !== undefined) lists[count++] = bySegment;
    if (bucket.anyPath.length > 0) lists[count++] = bucket.anyPath;
    return count;
  }

  /** Runs the candidates of the first `count` lists merged in route order; the first match wins. */
  private walk(
    count: number,
    method: string,
    host: string,
    path: string,
    headers: IncomingHttpHeaders,
  ): number {
    const { lists, cursors, matchers } = this;
    if (count === 1) {
      const only = lists[0]!;
      for (let i = 0; i < only.length; i++) {
        const position = only[i]!;
        if (matchers[position]!.matchesRequest(method, host, path, headers)) return position;
      }
      return -1;
    }
    cursors.fill(0, 0, count);
    for (;;) {
      let next = -1;
      let nextPosition = matchers.length;
      for (let l = 0; l < count; l++) {
        const list = lists[l]!;
        const cursor = cursors[l]!;
        if (cursor < list.length && list[cursor]! < nextPosition) {
          next = l;
          nextPosition = list[cursor]!;
        }
      }
      if (next < 0) return -1;
      cursors[next]!++;
      if (matchers[nextPosition]!.matchesRequest(method, host, path, headers)) return nextPosition;
    }
  }
}
