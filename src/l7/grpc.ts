/**
 * gRPC over HTTP/2 as the proxy sees it: which requests are gRPC, the status codes of
 * Portside's own answers (a trailers-only response, which gRPC clients decode, where an
 * HTTP 502 would read as "unknown"), `grpc-timeout`, and which statuses count as failures.
 */
import type { HttpError } from './errors.js';
import { HTTP_ERRORS } from './errors.js';

/** gRPC status codes Portside uses by name. */
export const GRPC_STATUS = {
  ok: 0,
  cancelled: 1,
  unknown: 2,
  deadlineExceeded: 4,
  resourceExhausted: 8,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  dataLoss: 15,
} as const;

/** `retries.on` names for gRPC statuses (as Envoy's `retry_on` has them). */
export const GRPC_RETRY_CONDITIONS: Readonly<Record<string, number>> = {
  cancelled: GRPC_STATUS.cancelled,
  'deadline-exceeded': GRPC_STATUS.deadlineExceeded,
  'resource-exhausted': GRPC_STATUS.resourceExhausted,
  internal: GRPC_STATUS.internal,
  unavailable: GRPC_STATUS.unavailable,
};

/** `content-type: application/grpc`, `application/grpc+proto`, `application/grpc-web`… */
export function isGrpcContentType(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.startsWith('application/grpc');
}

/** The gRPC status of each of Portside's own errors (the gRPC spec's HTTP mapping, and 4 for timeouts). */
export function grpcStatusOf(error: HttpError): number {
  switch (error) {
    case HTTP_ERRORS.noRoute:
      return GRPC_STATUS.unimplemented;
    case HTTP_ERRORS.timeout:
    case HTTP_ERRORS.bodyTimeout:
      return GRPC_STATUS.deadlineExceeded;
    case HTTP_ERRORS.outOfResources:
      return GRPC_STATUS.resourceExhausted;
    case HTTP_ERRORS.badRequest:
    case HTTP_ERRORS.headersTooLarge:
    case HTTP_ERRORS.requestBody:
      return GRPC_STATUS.internal;
    default:
      return GRPC_STATUS.unavailable;
  }
}

/** Statuses that say the server (not the caller) failed: outlier detection counts them. */
export function isGrpcServerFailure(status: number): boolean {
  return (
    status === GRPC_STATUS.unknown ||
    status === GRPC_STATUS.deadlineExceeded ||
    status === GRPC_STATUS.internal ||
    status === GRPC_STATUS.unavailable ||
    status === GRPC_STATUS.dataLoss
  );
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** `grpc-timeout: 1500m` → 1500 (ms); undefined when absent or malformed (up to 8 digits and a unit). */
export function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined;
  const unit = TIMEOUT_UNIT_MS[value[value.length - 1]!];
  const digits = value.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return undefined;
  return Math.max(1, Math.ceil(Number(digits) * unit));
}

/** A grpc-message value: percent-encoded outside printable ASCII (the gRPC spec's rule). */
export function grpcMessage(text: string): string {
  return text.replace(/[^\x20-\x24\x26-\x7e]/g, (c) => encodeURIComponent(c));
}
