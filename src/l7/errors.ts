/**
 * Every answer Portside itself gives an HTTP client, with the stable code it carries in
 * `x-portside-error` (one table, like fastify's FST_ERR_* codes, so users can grep them).
 */
import type { Duplex } from 'node:stream';
import type { FailureKind } from './retry-policy.js';

export interface HttpError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export const HTTP_ERRORS = {
  /** No route matched the request's host, path, method and headers. */
  noRoute: { status: 404, code: 'no-route', message: 'no route matches this request' },
  /** The route's cluster has no endpoint that may take traffic (all down, ejected or none discovered). */
  noEndpoint: {
    status: 503,
    code: 'no-healthy-endpoint',
    message: 'no endpoint is available for this route',
  },
  /** The route names a cluster this config generation does not have. */
  unknownCluster: { status: 503, code: 'cluster-not-found', message: 'the route names an unknown cluster' },
  /** Every attempt failed to connect. */
  connectFailed: {
    status: 502,
    code: 'upstream-connect-failed',
    message: 'could not connect to an upstream endpoint',
  },
  /** The TLS handshake with the upstream failed (unknown CA, expired, name mismatch…; the log says which). */
  upstreamTls: { status: 502, code: 'upstream-tls', message: 'the TLS handshake with the upstream failed' },
  /** The upstream closed or reset the connection before a complete response. */
  upstreamReset: { status: 502, code: 'upstream-reset', message: 'the upstream closed the connection' },
  /** The upstream answered something that is not valid HTTP/1.1. */
  upstreamProtocol: {
    status: 502,
    code: 'upstream-protocol-error',
    message: 'the upstream sent an invalid response',
  },
  /** The proxy ran out of file descriptors (or socket buffers) opening the upstream connection. */
  outOfResources: {
    status: 503,
    code: 'proxy-out-of-resources',
    message: 'the proxy is out of file descriptors; try again later',
  },
  /** The route's timeout (or the last attempt's perTryTimeout) passed before response headers. */
  timeout: { status: 504, code: 'upstream-timeout', message: 'the upstream did not answer in time' },
  /** Malformed request, including conflicting content-length and transfer-encoding (smuggling). */
  badRequest: { status: 400, code: 'bad-request', message: 'malformed request' },
  /** Request line and headers above `limits.maxHeaderBytes`, or more than `limits.maxHeaders` lines. */
  headersTooLarge: { status: 431, code: 'headers-too-large', message: 'request headers are too large' },
  /** The client did not send complete headers within `limits.headersTimeout`. */
  headersTimeout: { status: 408, code: 'headers-timeout', message: 'request headers took too long' },
  /** The client sent no request body bytes for `limits.bodyTimeout` while Portside was reading them. */
  bodyTimeout: { status: 408, code: 'body-timeout', message: 'the request body stopped arriving' },
  /** A request body larger than the retry buffer arrived with a smaller content-length (or similar). */
  requestBody: { status: 400, code: 'bad-request-body', message: 'the request body could not be read' },
} as const satisfies Record<string, HttpError>;

/** What the client is told when the last attempt failed this way (see retry-policy.ts). */
export const ERROR_FOR_FAILURE: Record<FailureKind, HttpError> = {
  'connect-failure': HTTP_ERRORS.connectFailed,
  tls: HTTP_ERRORS.upstreamTls,
  reset: HTTP_ERRORS.upstreamReset,
  timeout: HTTP_ERRORS.timeout,
  protocol: HTTP_ERRORS.upstreamProtocol,
  'out-of-resources': HTTP_ERRORS.outOfResources,
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The whole response for an error, as latin1 text: status, `x-portside-error`, the
 * request id when known, and `connection: close` when the connection ends after it.
 */
export function errorResponse(error: HttpError, requestId: string | undefined, close: boolean): string {
  const body = `${error.message} (${error.code})\n`;
  return (
    `HTTP/1.1 ${error.status} ${STATUS_TEXT[error.status] ?? 'Error'}\r\n` +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n` +
    `x-portside-error: ${error.code}\r\n${requestId ? `x-request-id: ${requestId}\r\n` : ''}` +
    `${close ? 'connection: close\r\n' : ''}\r\n${body}`
  );
}

/** The answer written straight to a socket (bad requests, failed upgrades), which then closes. */
export function writeRawError(socket: Duplex, error: HttpError, requestId?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(errorResponse(error, requestId, true), 'latin1');
}
