/**
 * An index over a route table's matchers that finds the first matching route (the order
 * rule) by running only the matchers that could match: routes are bucketed by host (exact
 * name, `*.` suffix, any host) and, inside a bucket, by exact path, first path segment, or
 * "any path". A lookup gathers the few candidate lists for the request's host and path and
 * walks them merged in route order. Built once per config generation; lookups allocate
 * nothing.
 *
 * Keys are 30-bit hashes computed in plain loops over the request's own strings. Cutting
 * out substrings and hashing them in a `Map` costs more per lookup (each fresh string is
 * hashed by a runtime call), and allocates. Two keys sharing a hash only share a list:
 * every candidate still runs its full matcher, so a collision costs a matcher call, never
 * a wrong answer.
 *
 * Small tables skip the index: hashing the host and path costs about as much as 20-30
 * failed matcher calls (bench/route-matching.ts), so below `INDEX_FROM` routes a plain scan
 * in order is faster.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteMatcher } from './route-match.js';

const SLASH = 47;
const DOT = 46;
const SEED = 0x811c9dc5 | 0;
/** Keys stay small integers: V8 boxes numbers past 31 bits, which makes them slow Map keys. */
const SMALL = 0x3fffffff;
/** Not a key (keys are ≥ 0): the request has no such part to look up. */
const NONE = -1;
/** Tables with fewer routes are scanned in order (see above). */
export const INDEX_FROM = 24;

function mix(hash: number, code: number): number {
  return (Math.imul(hash, 31) + code) | 0;
}

/** Key of `text[start..end)` read left to right (paths, segments). */
function forwardKey(text: string, start: number, end: number): number {
  let hash = SEED;
  for (let i = start; i < end; i++) hash = mix(hash, text.charCodeAt(i));
  return hash & SMALL;
}

/** Key of `text` read right to left (hosts, wildcard suffixes): one pass over a host keys all its suffixes. */
function backwardKey(text: string): number {
  let hash = SEED;
  for (let i = text.length - 1; i >= 0; i--) hash = mix(hash, text.charCodeAt(i));
  return hash & SMALL;
}

/** Routes of one host (exact name, wildcard suffix, or any), as ascending route positions. */
class HostBucket {
  readonly byPath = new Map<number, number[]>();
  readonly bySegment = new Map<number, number[]>();
  readonly anyPath: number[] = [];

  /** `name` is the exact host or the suffix (`.example.com`); '' for any host. */
  constructor(readonly name: string) {}

  add(position: number, matcher: RouteMatcher): void {
    const { path, firstSegment } = matcher;
    if (path !== undefined) push(this.byPath, forwardKey(path, 0, path.length), position);
    else if (firstSegment !== undefined) {
      push(this.bySegment, forwardKey(firstSegment, 0, firstSegment.length), position);
    } else this.anyPath.push(position);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

export class RouteIndex {
  /** By key of the host (several buckets only when names share a key). */
  private readonly exactHosts = new Map<number, HostBucket[]>();
  /** By key of the suffix: `.example.com` for `*.example.com`. */
  private readonly wildcardHosts = new Map<number, HostBucket[]>();
  private readonly anyHost = new HostBucket('');
  /** False for small tables: every lookup scans all routes in order. */
  private readonly indexed: boolean;
  /**
   * Lengths of the longest exact path, first segment and host name (exact or suffix) the
   * routes name, or -1: a lookup hashes no further, so a long path or Host header costs
   * no more than the longest name in the config.
   */
  private readonly longestPath: number;
  private readonly longestSegment: number;
  private readonly longestHost: number;
  /** Scratch for one lookup: the candidate lists and a cursor into each (lookups never overlap). */
  private readonly lists: (readonly number[])[];
  private readonly cursors: Int32Array;

  /** `indexFrom` is for tests, which check the index on small tables too. */
  constructor(
    private readonly matchers: readonly RouteMatcher[],
    indexFrom = INDEX_FROM,
  ) {
    this.indexed = matchers.length >= indexFrom;
    const named = new Map<string, HostBucket>();
    matchers.forEach((matcher, position) => {
      if (!this.indexed) return;
      let bucket = this.anyHost;
      if (matcher.hostExact !== undefined)
        bucket = this.bucket(named, this.exactHosts, matcher.hostExact, '=');
      else if (matcher.hostSuffix !== undefined) {
        bucket = this.bucket(named, this.wildcardHosts, matcher.hostSuffix, '*');
      }
      bucket.add(position, matcher);
    });
    const longest = (length: (m: RouteMatcher) => number | undefined) =>
      this.indexed ? matchers.reduce((most, m) => Math.max(most, length(m) ?? -1), -1) : -1;
    this.longestPath = longest((m) => m.path?.length);
    this.longestSegment = longest((m) => (m.path === undefined ? m.firstSegment?.length : undefined));
    this.longestHost = longest((m) => (m.hostExact ?? m.hostSuffix)?.length);
    // At most three lists from each bucket a request can reach: its exact host, each
    // wildcard suffix (one per `.` at most, so never more than all of them), any host.
    const wildcards = matchers.filter((m) => m.hostSuffix !== undefined).length;
    const most = this.indexed ? 3 * (2 + wildcards) : 0;
    this.lists = Array.from({ length: most }, () => []);
    this.cursors = new Int32Array(most);
  }

  private bucket(
    named: Map<string, HostBucket>,
    byKey: Map<number, HostBucket[]>,
    name: string,
    kind: string,
  ) {
    let bucket = named.get(kind + name);
    if (bucket === undefined) {
      bucket = new HostBucket(name);
      named.set(kind + name, bucket);
      push(byKey, backwardKey(name), bucket);
    }
    return bucket;
  }

  /**
   * Position of the first matcher that accepts the request, or -1. `host` is what the
   * matchers compare: lower case, no port (`hostOf`), or '' when no route looks at it.
   */
  firstMatch(method: string, host: string, path: string, headers: IncomingHttpHeaders): number {
    if (!this.indexed) return this.scan(method, host, path, headers);
    const pathKey = path.length <= this.longestPath ? forwardKey(path, 0, path.length) : NONE;
    let segmentKey = NONE;
    if (this.longestSegment >= 0 && path.charCodeAt(0) === SLASH) {
      // Reads no more than the longest segment: a longer one has no key to find.
      const stop = Math.min(path.length, this.longestSegment + 1);
      let hash = SEED;
      let i = 1;
      for (; i < stop; i++) {
        const code = path.charCodeAt(i);
        if (code === SLASH) break;
        hash = mix(hash, code);
      }
      if (i === path.length || path.charCodeAt(i) === SLASH) segmentKey = hash & SMALL;
    }
    let count = 0;
    if (this.longestHost >= 0) {
      // Right to left: at each `.` (but a leading one: `*.b.c` wants more than `.b.c`) the
      // hash so far is the key of a suffix a wildcard could name; at the end, of the host.
      const stop = Math.max(0, host.length - this.longestHost);
      let hash = SEED;
      for (let i = host.length - 1; i >= stop; i--) {
        const code = host.charCodeAt(i);
        hash = mix(hash, code);
        if (code === DOT && i > 0 && this.wildcardHosts.size > 0) {
          count = this.gatherHost(this.wildcardHosts.get(hash & SMALL), host, i, pathKey, segmentKey, count);
        }
      }
      if (stop === 0 && this.exactHosts.size > 0) {
        count = this.gatherHost(this.exactHosts.get(hash & SMALL), host, 0, pathKey, segmentKey, count);
      }
    }
    count = this.gather(this.anyHost, pathKey, segmentKey, count);
    return this.walk(count, method, host, path, headers);
  }

  /** Gathers the buckets whose name is `host` from `start` on (the key only narrows them down). */
  private gatherHost(
    buckets: readonly HostBucket[] | undefined,
    host: string,
    start: number,
    pathKey: number,
    segmentKey: number,
    count: number,
  ): number {
    if (buckets === undefined) return count;
    for (let b = 0; b < buckets.length; b++) {
      const bucket = buckets[b]!;
      const name = bucket.name;
      if (start === 0 ? name === host : name.length === host.length - start && host.endsWith(name)) {
        count = this.gather(bucket, pathKey, segmentKey, count);
      }
    }
    return count;
  }

  /** Adds the bucket's non-empty candidate lists for this path to the scratch; returns the new count. */
  private gather(bucket: HostBucket, pathKey: number, segmentKey: number, count: number): number {
    const lists = this.lists;
    const byPath = pathKey !== NONE && bucket.byPath.size > 0 ? bucket.byPath.get(pathKey) : undefined;
    if (byPath !== undefined) lists[count++] = byPath;
    const bySegment =
      segmentKey !== NONE && bucket.bySegment.size > 0 ? bucket.bySegment.get(segmentKey) : undefined;
    if (bySegment !== undefined) lists[count++] = bySegment;
    if (bucket.anyPath.length > 0) lists[count++] = bucket.anyPath;
    return count;
  }

  private scan(method: string, host: string, path: string, headers: IncomingHttpHeaders): number {
    const matchers = this.matchers;
    for (let i = 0; i < matchers.length; i++) {
      if (matchers[i]!.matchesRequest(method, host, path, headers)) return i;
    }
    return -1;
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
    for (let l = 0; l < count; l++) cursors[l] = 0;
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
