/**
 * A route's match, compiled once per config generation into plain fields so that matching
 * a request allocates nothing: host exact or `*.` suffix, path exact / segment-aware
 * prefix / regex, methods, and headers (exact value or present/absent). The host and path
 * fields are public so that `RouteIndex` can bucket routes by them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteMatchConfig } from '../config/http-schema.js';
import { compilePathRegex, type PathRegex } from './path-regex.js';

const SLASH = 47;
const UPPER_CASE = /[A-Z]/;

/**
 * Segment-aware prefix test: `/v1` matches `/v1` and `/v1/x` but not `/v10`.
 * A prefix ending in `/` matches whatever starts with it.
 */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return (
    path.length === prefix.length ||
    prefix.charCodeAt(prefix.length - 1) === SLASH ||
    path.charCodeAt(prefix.length) === SLASH
  );
}

/**
 * A regex whose source starts with a literal segment (`/users/...`, or is just `/users`) pins
 * every path it accepts to that first segment. Conservative on purpose: no `|` anywhere (an
 * alternative could start elsewhere), only plain characters in the segment, and the closing
 * `/` must not be quantified (`/re/?x` also accepts `/rex`).
 */
const REGEX_FIRST_SEGMENT = /^\/([A-Za-z0-9_~-]*)(?:\/(?![?*+{])|$)/;

/** The text between a path's first and second `/` (`/api/v1` → `api`, `/` → ``). */
export function firstSegmentOf(path: string): string | undefined {
  if (path.charCodeAt(0) !== SLASH) return undefined;
  const end = path.indexOf('/', 1);
  return path.slice(1, end < 0 ? path.length : end);
}

/** The first segment every path matching `match` must have, or undefined when any may match. */
function requiredFirstSegment(match: RouteMatchConfig): string | undefined {
  if (match.path !== undefined) return firstSegmentOf(match.path);
  // `/` accepts every path; `/api`, `/api/` and `/api/v1` only paths under `/api`.
  if (match.pathPrefix !== undefined)
    return match.pathPrefix === '/' ? undefined : firstSegmentOf(match.pathPrefix);
  if (match.pathRegex !== undefined && !match.pathRegex.includes('|')) {
    return REGEX_FIRST_SEGMENT.exec(match.pathRegex)?.[1];
  }
  return undefined;
}

/** `Host` header → lower-case name without port (`[::1]:80` → `[::1]`); '' when absent. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  let end = header.length;
  if (header.charCodeAt(0) === 91 /* [ */) {
    const close = header.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = header.lastIndexOf(':');
    if (colon >= 0) end = colon;
  }
  const host = end === header.length ? header : header.slice(0, end);
  // Most hosts are already lower case; only allocate when not.
  return UPPER_CASE.test(host) ? host.toLowerCase() : host;
}

interface HeaderCondition {
  readonly name: string;
  /** Exact value wanted, or undefined to test presence only. */
  readonly value: string | undefined;
  readonly present: boolean;
}

/** What a request offers to matching; `path` excludes the query string. */
export interface MatchInput {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export class RouteMatcher {
  readonly hostExact: string | undefined;
  /** `.example.com` for `*.example.com`. */
  readonly hostSuffix: string | undefined;
  readonly path: string | undefined;
  /** Also used by rewrite: the part of the path that is replaced. */
  readonly pathPrefix: string | undefined;
  private readonly pathRegex: PathRegex | undefined;
  private readonly methods: ReadonlySet<string> | undefined;
  private readonly headers: readonly HeaderCondition[];
  /** The first segment of every path this accepts (see `requiredFirstSegment`), if pinned. */
  readonly firstSegment: string | undefined;

  constructor(match: RouteMatchConfig) {
    if (match.host !== undefined && match.host !== '*') {
      if (match.host.startsWith('*.')) this.hostSuffix = match.host.slice(1);
      else this.hostExact = match.host;
    }
    this.path = match.path;
    this.pathPrefix = match.pathPrefix;
    // Anchored: like Envoy's safe_regex, the whole path must match (in linear time).
    this.pathRegex = match.pathRegex === undefined ? undefined : compilePathRegex(match.pathRegex);
    this.firstSegment = requiredFirstSegment(match);
    this.methods = match.methods ? new Set(match.methods) : undefined;
    this.headers = Object.entries(match.headers ?? {}).map(([name, m]) =>
      typeof m === 'string'
        ? { name, value: m, present: true }
        : 'exact' in m
          ? { name, value: m.exact, present: true }
          : { name, value: undefined, present: m.present },
    );
  }

  /** True when the match looks at request headers (so the request collects them). */
  get usesHeaders(): boolean {
    return this.headers.length > 0;
  }

  /** True when the match uses the Host header (so the table computes it). */
  get usesHost(): boolean {
    return this.hostExact !== undefined || this.hostSuffix !== undefined;
  }

  matches(input: MatchInput): boolean {
    return this.matchesRequest(input.method, input.host, input.path, input.headers);
  }

  /** `matches` with the fields as arguments, so the route lookup allocates no input object. */
  matchesRequest(method: string, host: string, path: string, headers: IncomingHttpHeaders): boolean {
    if (this.hostExact !== undefined && host !== this.hostExact) return false;
    if (
      this.hostSuffix !== undefined &&
      !(host.length > this.hostSuffix.length && host.endsWith(this.hostSuffix))
    ) {
      return false;
    }
    if (this.path !== undefined && path !== this.path) return false;
    if (this.pathPrefix !== undefined && !pathHasPrefix(path, this.pathPrefix)) return false;
    if (this.pathRegex !== undefined && !this.pathRegex.matches(path)) return false;
    if (this.methods !== undefined && !this.methods.has(method)) return false;
    for (let i = 0; i < this.headers.length; i++) {
      const condition = this.headers[i]!;
      const actual = headers[condition.name];
      if (actual === undefined) {
        if (condition.present) return false;
      } else if (!condition.present || (condition.value !== undefined && actual !== condition.value)) {
        return false;
      }
    }
    return true;
  }
}
