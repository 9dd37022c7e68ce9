/**
 * When a failed attempt may be tried again on another endpoint. A connect failure is always
 * safe (nothing reached the upstream); the other conditions apply only to idempotent
 * methods whose body can be sent again (none, buffered, or not yet read).
 */
import type { RouteConfig } from '../config/http-schema.js';
import { isResourceExhaustion } from '../listeners/resource-errors.js';
import { UPSTREAM_TLS_CODE } from '../tls/upstream-tls-errors.js';
import { GRPC_RETRY_CONDITIONS } from './grpc.js';

/** How an attempt failed, as far as retrying is concerned. */
export type FailureKind = 'connect-failure' | 'tls' | 'reset' | 'timeout' | 'protocol' | 'out-of-resources';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'PORTSIDE_CONNECT_TIMEOUT',
]);
const RESET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNABORTED',
  'PORTSIDE_UPSTREAM_CLOSED',
  'PORTSIDE_POOL_CLOSED',
  'PORTSIDE_H2_REFUSED',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'PORTSIDE_ATTEMPT_TIMEOUT',
  'PORTSIDE_BODY_TIMEOUT',
]);

/** Classifies an upstream socket error (and undici's codes, for the health checks); `reason` is the short code passed to `reportFailure`. */
export function classifyError(error: unknown): { kind: FailureKind; reason: string } {
  const code = (error as { code?: string } | null)?.code ?? '';
  // The proxy's own fd or buffer limit: never the endpoint's failure, never retried elsewhere.
  if (isResourceExhaustion(error)) return { kind: 'out-of-resources', reason: 'out-of-resources' };
  if (CONNECT_CODES.has(code)) {
    return {
      kind: 'connect-failure',
      reason:
        code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'PORTSIDE_CONNECT_TIMEOUT'
          ? 'connect-timeout'
          : 'connect-refused',
    };
  }
  // The TLS handshake with the endpoint failed (tls/upstream-tls.ts): nothing was sent.
  if (code === UPSTREAM_TLS_CODE) return { kind: 'tls', reason: 'tls-error' };
  if (RESET_CODES.has(code)) return { kind: 'reset', reason: 'reset' };
  // An HTTP/2 connection the endpoint closed without its SETTINGS: it speaks HTTP/1.1 only.
  if (code === 'PORTSIDE_H2_NOT_SPOKEN') return { kind: 'protocol', reason: 'not-http2' };
  if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', reason: 'timeout' };
  return { kind: 'protocol', reason: 'protocol-error' };
}

export class RetryPolicy {
  /** Extra attempts after the first. */
  readonly attempts: number;
  readonly bufferLimit: number;
  private readonly kinds: ReadonlySet<string>;
  private readonly any5xx: boolean;
  private readonly statuses: ReadonlySet<number>;
  private readonly grpcStatuses: ReadonlySet<number>;

  constructor(config: RouteConfig['retries']) {
    this.attempts = config.attempts;
    this.bufferLimit = config.bufferLimit;
    const statuses = new Set<number>();
    const kinds = new Set<string>();
    const grpcStatuses = new Set<number>();
    for (const condition of config.on) {
      if (typeof condition === 'number') statuses.add(condition);
      else if (condition === 'gateway-error') for (const s of [502, 503, 504]) statuses.add(s);
      else if (condition in GRPC_RETRY_CONDITIONS) {
        grpcStatuses.add(GRPC_RETRY_CONDITIONS[condition]!);
        // What Portside itself would answer UNAVAILABLE: a connect failure, a reset stream or connection.
        if (condition === 'unavailable') kinds.add('connect-failure').add('reset');
      } else kinds.add(condition);
    }
    this.grpcStatuses = grpcStatuses;
    this.kinds = kinds;
    this.any5xx = kinds.has('5xx');
    this.statuses = statuses;
  }

  /** Whether any condition beyond connect failure is configured (so a body is worth buffering). */
  get retriesAfterSending(): boolean {
    return (
      this.attempts > 0 &&
      (this.any5xx ||
        this.statuses.size > 0 ||
        this.grpcStatuses.size > 0 ||
        this.kinds.has('reset') ||
        this.kinds.has('timeout'))
    );
  }

  /** A gRPC status (from grpc-status) this route retries. */
  retriesGrpc(status: number): boolean {
    return this.grpcStatuses.has(status);
  }

  retriesStatus(status: number): boolean {
    return this.statuses.has(status) || (this.any5xx && status >= 500 && status <= 599);
  }

  /**
   * `attemptsMade` counts the one that just failed; `replayable` is true when the method is
   * idempotent and the body can be sent again.
   */
  allows(
    kind: FailureKind | 'status',
    attemptsMade: number,
    replayable: boolean,
    bodyUntouched: boolean,
  ): boolean {
    if (attemptsMade > this.attempts) return false;
    // A failed TLS handshake sent no request either: retried like a connect failure.
    if (kind === 'connect-failure' || kind === 'tls')
      return bodyUntouched && this.kinds.has('connect-failure');
    if (!replayable) return false;
    return kind === 'status' || this.kinds.has(kind);
  }
}
