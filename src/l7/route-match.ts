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
  /** The regex as written, for `mismatches`. */
  private readonly pathRegexSource: string | undefined;
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
    this.pathRegexSource = match.pathRegex;
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
    if (!this.hostAccepts(host) || !this.pathAccepts(path)) return false;
    if (this.methods !== undefined && !this.methods.has(method)) return false;
    for (let i = 0; i < this.headers.length; i++) {
      if (!headerAccepts(this.headers[i]!, headers)) return false;
    }
    return true;
  }

  /**
   * Why the request does not match, one line per condition it fails (empty when it
   * matches), for `portside explain`. The same tests as `matchesRequest`, all of them run.
   */
  mismatches(method: string, host: string, path: string, headers: IncomingHttpHeaders): string[] {
    const reasons: string[] = [];
    const shown = host === '' ? 'no Host' : `Host "${host}"`;
    if (!this.hostAccepts(host)) {
      reasons.push(
        this.hostExact !== undefined
          ? `host: wants "${this.hostExact}", got ${shown}`
          : `host: wants a subdomain of "${this.hostSuffix!.slice(1)}" (*${this.hostSuffix}), got ${shown}`,
      );
    }
    if (this.path !== undefined && path !== this.path)
      reasons.push(`path: wants exactly "${this.path}", got "${path}"`);
    if (this.pathPrefix !== undefined && !pathHasPrefix(path, this.pathPrefix))
      reasons.push(`path: wants prefix "${this.pathPrefix}" (whole segments), got "${path}"`);
    if (this.pathRegex !== undefined && !this.pathRegex.matches(path))
      reasons.push(`path: "${path}" does not match the regex ${this.pathRegexSource}`);
    if (this.methods !== undefined && !this.methods.has(method))
      reasons.push(`method: wants ${[...this.methods].join(' or ')}, got ${method}`);
    for (const condition of this.headers) {
      if (headerAccepts(condition, headers)) continue;
      const actual = headers[condition.name];
      const got = actual === undefined ? 'absent' : `"${actual}"`;
      if (!condition.present) reasons.push(`header ${condition.name}: wants it absent, got ${got}`);
      else if (condition.value === undefined)
        reasons.push(`header ${condition.name}: wants it present, got none`);
      else reasons.push(`header ${condition.name}: wants "${condition.value}", got ${got}`);
    }
    return reasons;
  }

  private hostAccepts(host: string): boolean {
    if (this.hostExact !== undefined) return host === this.hostExact;
    if (this.hostSuffix !== undefined)
      return host.length > this.hostSuffix.length && host.endsWith(this.hostSuffix);
    return true;
  }

  private pathAccepts(path: string): boolean {
    return (
      (this.path === undefined || path === this.path) &&
      (this.pathPrefix === undefined || pathHasPrefix(path, this.pathPrefix)) &&
      (this.pathRegex === undefined || this.pathRegex.matches(path))
    );
  }
}

function headerAccepts(condition: HeaderCondition, headers: IncomingHttpHeaders): boolean {
  const actual = headers[condition.name];
  if (actual === undefined) return !condition.present;
  return condition.present && (condition.value === undefined || actual === condition.value);
}
