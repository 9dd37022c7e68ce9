/**
 * The `protocol: http` listener: routes (match → cluster or weighted clusters), path
 * rewrite, header edits, retries, timeouts and the limits that protect the proxy itself.
 * Imported by schema.ts, which puts it beside the tcp listener in one discriminated union.
 */
import { z } from 'zod';
import { isHostValue } from '../l7/h1/chars.js';
import { HOP_BY_HOP_HEADERS } from '../l7/hop-by-hop.js';
import { normalizePath } from '../l7/path-normalize.js';
import { pathRegexProblem } from '../l7/path-regex.js';
import { percent } from './health-schema.js';
import type { duration as Duration, listenAddress as ListenAddress, name as Name } from './schema.js';
import { listenerTls } from './tls-schema.js';

/** The shared value types of schema.ts, passed in because schema.ts imports this file. */
export interface BaseTypes {
  name: typeof Name;
  duration: typeof Duration;
  listenAddress: typeof ListenAddress;
}

/** Whether `text` has a control character other than HTAB: never valid in a head. */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const headerName = z
  .string({ error: 'expected a header name' })
  .regex(HEADER_NAME, "not a valid HTTP header name (letters, digits and !#$%&'*+.^_`|~-)")
  .transform((s) => s.toLowerCase());
/**
 * A header value as sent on the wire: no CR, LF, NUL (header injection) or other control
 * characters but HTAB, which an upstream's parser would refuse (RFC 9110 §5.5).
 */
const headerValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'expected a header value (a string)' })
  .transform((v) => String(v))
  .refine(
    (v) => !hasControl(v),
    'header values cannot contain CR, LF, NUL or other control characters (only tabs)',
  );

/** Connection and framing headers: the proxy writes them itself on each hop. */
const RESERVED_HEADERS = new Set([...HOP_BY_HOP_HEADERS, 'content-length', 'expect']);

const path = z
  .string({ error: 'expected a path starting with "/"' })
  .refine((p) => p.startsWith('/'), 'paths start with "/"')
  .refine((p) => !/[?#\s]/.test(p), 'a path to match has no query ("?"), fragment ("#") or spaces')
  // A rewritten prefix goes into the request line: CR, LF or NUL there would inject.
  .refine((p) => !hasControl(p), 'a path has no control characters (CR, LF, NUL…)')
  .superRefine((p, ctx) => {
    // Requests are matched and forwarded normalised, so a path that is not would never match.
    if (!p.startsWith('/')) return;
    const normal = normalizePath(p, { escapedSlashes: 'keep', mergeSlashes: false });
    if (normal === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a "%" in a path starts a percent-encoding such as %20' });
    } else if (normal !== p) {
      ctx.addIssue({
        code: 'custom',
        message: `request paths are normalised before matching (dot segments removed, %-encoded letters, digits and -._~ decoded): write "${normal}"`,
      });
    }
  });

/** `api.example.com`, `*.example.com` or `*`; compared case-insensitively, port ignored. */
const host = z
  .string({ error: 'expected a host name, e.g. "api.example.com" or "*.example.com"' })
  .transform((h) => h.toLowerCase())
  .refine(
    (h) =>
      h === '*' || /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(h),
    'a host is a name like "api.example.com", a wildcard "*.example.com" or "*" (no port, no scheme)',
  );

/** A Host header to send: `host[:port]`, checked like a client's Host (CR/LF would inject fields). */
export const hostHeader = z
  .string({ error: 'expected a Host header value, e.g. "api.internal" or "10.0.0.1:8080"' })
  .refine(
    isHostValue,
    'a Host header value is host[:port], e.g. "api.internal", "10.0.0.1:8080" or "[::1]:80" (no scheme, path, spaces, CR or LF)',
  );

/** Checked by the engine that will run it (RE2: linear time, no backreferences or lookaround). */
const regex = z.string({ error: 'expected a regular expression' }).superRefine((source, ctx) => {
  const problem = pathRegexProblem(source);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const METHOD = /^[A-Z]+$/;
const method = z
  .string({ error: 'expected an HTTP method, e.g. GET' })
  .transform((m) => m.toUpperCase())
  .refine((m) => METHOD.test(m), 'an HTTP method is a word such as GET, POST or PUT');

/** `x-canary: "1"` (exact value) or `x-canary: { present: true }` (any value, or `false`: absent). */
const headerMatch = z.union(
  [headerValue, z.strictObject({ present: z.boolean() }), z.strictObject({ exact: headerValue })],
  { error: 'a header match is an exact value ("1"), { exact: "1" } or { present: true|false }' },
);

export const routeMatch = z
  .strictObject({
    host: host.optional(),
    path: path.optional(),
    pathPrefix: path.optional(),
    pathRegex: regex.optional(),
    methods: z.array(method).min(1, 'list at least one method, or leave "methods" out').optional(),
    headers: z
      .record(headerName, headerMatch, {
        error: (issue) => (issue.code === 'invalid_key' ? 'not a valid HTTP header name' : undefined),
      })
      .optional(),
  })
  .superRefine((m, ctx) => {
    const kinds = [m.path, m.pathPrefix, m.pathRegex].filter((v) => v !== undefined).length;
    if (kinds > 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'use only one of "path", "pathPrefix" and "pathRegex" in a match',
      });
    }
  });

export function httpSchemas({ name, duration, listenAddress }: BaseTypes) {
  const retryCondition = z.union(
    [
      z.enum([
        'connect-failure',
        'reset',
        'timeout',
        '5xx',
        'gateway-error',
        // gRPC statuses, read from grpc-status in the response headers or trailers.
        'unavailable',
        'resource-exhausted',
        'cancelled',
        'deadline-exceeded',
        'internal',
      ]),
      z.number().int().min(400, 'retry status codes are 400-599').max(599, 'retry status codes are 400-599'),
    ],
    {
      error:
        'a retry condition is connect-failure, reset, timeout, 5xx, gateway-error, a status code 400-599 (e.g. 503) or a gRPC status (unavailable, resource-exhausted, cancelled, deadline-exceeded, internal)',
    },
  );

  const retries = z.strictObject({
    /** Extra attempts after the first one; each picks an endpoint not yet tried. */
    attempts: z.number().int().min(0).max(10).default(1),
    on: z.array(retryCondition).default(['connect-failure']),
    /**
     * Request bodies up to this size (with a known content-length) are kept in memory so that
     * an idempotent request can be sent again after a reset or a retryable status. Larger or
     * chunked bodies stream straight through and are retried only after a connect failure,
     * except a gRPC call's: its body streams and is copied while it fits, for a retry.
     */
    bufferLimit: z
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
  });

  const headerEdits = z
    .strictObject({
      set: z.record(headerName, headerValue).default({}),
      remove: z.array(headerName).default([]),
    })
    .superRefine((edits, ctx) => {
      for (const name of Object.keys(edits.set)) {
        if (name === 'host') {
          ctx.addIssue({
            code: 'custom',
            path: ['set', name],
            message: 'set the Host header with rewrite.host',
          });
        } else if (RESERVED_HEADERS.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['set', name],
            message: `"${name}" is managed by the proxy (connection and framing headers cannot be set)`,
          });
        }
      }
    });

  const weightedCluster = z.strictObject({
    cluster: name,
    weight: z.number({ error: 'expected a weight (an integer >= 0)' }).int().min(0).max(1_000_000),
  });

  /** What a route does with a request once matched: timeouts, retries, header edits (shared with `catalog.route`). */
  const routePolicy = {
    /** From the end of the client's request to the upstream's response headers, all attempts together → 504; 0s: none. */
    timeout: duration.default('15s'),
    /** One attempt's limit to response headers; a `timeout` retry condition retries it. */
    perTryTimeout: duration.optional(),
    // Fresh objects per route, so the printed effective config has no YAML anchors.
    retries: retries.default(() => retries.parse({})),
    requestHeaders: headerEdits.optional(),
    responseHeaders: headerEdits.optional(),
  };

  const route = z
    .strictObject({
      /** Names the route in metrics and the admin API (default: `#INDEX MATCH`). */
      name: name.optional(),
      match: routeMatch.default({}),
      cluster: name.optional(),
      weightedClusters: z.array(weightedCluster).min(1, 'list at least one { cluster, weight }').optional(),
      rewrite: z
        .strictObject({
          /** Replaces the part of the path that `match.pathPrefix` (or `match.path`) matched. */
          pathPrefix: path.optional(),
          /** Replaces the Host header sent upstream. */
          host: hostHeader.optional(),
        })
        .optional(),
      ...routePolicy,
    })
    .superRefine((r, ctx) => {
      const targets = (r.cluster !== undefined ? 1 : 0) + (r.weightedClusters !== undefined ? 1 : 0);
      if (targets !== 1) {
        ctx.addIssue({
          code: 'custom',
          message: 'a route needs exactly one of "cluster" or "weightedClusters"',
          path: targets === 0 ? [] : ['weightedClusters'],
        });
      }
      if (r.weightedClusters?.every((w) => w.weight === 0)) {
        ctx.addIssue({
          code: 'custom',
          message: 'at least one weight must be above 0',
          path: ['weightedClusters'],
        });
      }
      if (
        r.rewrite?.pathPrefix !== undefined &&
        r.match.pathPrefix === undefined &&
        r.match.path === undefined
      ) {
        ctx.addIssue({
          code: 'custom',
          message:
            'rewrite.pathPrefix replaces the matched prefix, so the match needs "pathPrefix" or "path"',
          path: ['rewrite', 'pathPrefix'],
        });
      }
    });

  const httpLimits = z.strictObject({
    /** Request line plus headers, in bytes; larger → 431. */
    maxHeaderBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(16 * 1024),
    /** Header lines per request; more → 431. */
    maxHeaders: z.number().int().min(1).max(10_000).default(100),
    /** Time a client has to send the complete request headers (slowloris) → 408 and close. */
    headersTimeout: duration.default('10s'),
    /**
     * Longest silence between two reads of a request body while Portside is reading it
     * (nginx's client_body_timeout) → 408 and close; the upstream attempt is aborted.
     */
    bodyTimeout: duration.default('60s'),
    /** How long an idle client keep-alive connection stays open. */
    keepAliveTimeout: duration.default('60s'),
    /** How long an upgraded connection (WebSocket…) stays open with no byte either way. */
    tunnelIdleTimeout: duration.default('1h'),
  });

  const httpUpstream = z.strictObject({
    connectTimeout: duration.default('5s'),
    /** Keep-alive connections per endpoint (the pool bound); further requests queue. */
    maxConnectionsPerEndpoint: z.number().int().min(1).max(10_000).default(128),
    /**
     * Connections of one endpoint's pool that requests from one client address may hold at
     * once; its further requests wait behind other clients'. Default: half the pool.
     */
    maxConnectionsPerClient: z.number().int().min(1).max(10_000).optional(),
    /** How long an idle upstream keep-alive connection is kept. */
    idleTimeout: duration.default('30s'),
    /**
     * Abort an exchange whose body makes no progress this long: response bytes stop
     * arriving, or the upstream stops taking the request bytes queued for it.
     */
    bodyTimeout: duration.default('5m'),
    /** Requests multiplexed on one HTTP/2 upstream connection at most (the upstream's own limit may be lower). */
    maxStreamsPerConnection: z.number().int().min(1).max(10_000).default(100),
  });

  /** HTTP/2 from clients (h2c with prior knowledge, on the same port as HTTP/1.1). */
  const http2 = z.strictObject({
    /** Streams one client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
    maxConcurrentStreams: z.number().int().min(1).max(10_000).default(100),
    /**
     * Streams a client may reset within their first second, per second, before its
     * connection is closed with GOAWAY (rapid reset, CVE-2023-44487).
     */
    maxResetsPerSecond: z.number().int().min(1).max(100_000).default(200),
  });

  /** How request paths are normalised before matching and forwarding (path-normalize.ts). */
  const httpPaths = z.strictObject({
    /** `%2F`, `%5C` and `\` in a path: refused with 400, forwarded as they are, or turned into `/`. */
    escapedSlashes: z
      .enum(['reject', 'keep', 'decode'], { error: 'escapedSlashes is reject, keep or decode' })
      .default('reject'),
    /** `//` → `/` before matching and forwarding. */
    mergeSlashes: z.boolean().default(false),
  });

  /** `true` / `false`, or where and how much: `{ sample: 10%, file: /var/log/portside/web.log }`. */
  const accessLog = z.union(
    [
      z.boolean(),
      z.strictObject({
        /** Requests logged, at random; those Portside answered with its own error always are. */
        sample: percent.default(100),
        /** Lines go to this file (appended, reopened on SIGHUP for log rotation) instead of stdout. */
        file: z.string().min(1, 'a file path').optional(),
      }),
    ],
    { error: 'accessLog is true, false or { sample, file }' },
  );

  const httpListener = z.strictObject({
    name,
    address: listenAddress,
    protocol: z.literal('http'),
    routes: z
      .array(route, {
        error:
          'an http listener needs "routes": a list of { match, cluster } ("cluster" alone is for tcp listeners)',
      })
      // Empty only for a listener that routes the catalog's Hosts (checked in references.ts).
      .default([]),
    limits: httpLimits.default(() => httpLimits.parse({})),
    upstream: httpUpstream.default(() => httpUpstream.parse({})),
    paths: httpPaths.default(() => httpPaths.parse({})),
    http2: http2.default(() => http2.parse({})),
    /** One pino line per request at level info. */
    accessLog: accessLog.default(true),
    /** Terminate TLS; ALPN offers h2 and http/1.1 unless `tls.alpn` says otherwise. */
    tls: listenerTls.optional(),
  });
  return { httpListener, route, retries, routePolicy: z.strictObject(routePolicy) };
}

type Schemas = ReturnType<typeof httpSchemas>;
export type HttpListenerConfig = z.output<Schemas['httpListener']>;
export type RouteConfig = z.output<Schemas['route']>;
export type RouteMatchConfig = z.output<typeof routeMatch>;
export type RetryCondition = RouteConfig['retries']['on'][number];
export type HeaderEditsConfig = NonNullable<RouteConfig['requestHeaders']>;
