/**
 * One pino line per finished request. Built only when the logger's level lets it through,
 * so a quiet proxy does no log work on the hot path.
 */
import type { Logger } from '../core/log.js';

export interface AccessRecord {
  method: string;
  host: string | undefined;
  path: string;
  status: number;
  route: number | undefined;
  cluster: string | undefined;
  endpoint: string | undefined;
  attempts: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  requestId: string | undefined;
  /** The x-portside-error code when Portside answered, or `client-abort`. */
  error: string | undefined;
  /** A gRPC call's grpc-status as its client got it (see RoutedRequest.finalGrpcStatus). */
  grpcStatus: number | undefined;
}

export function accessLogEnabled(log: Logger, enabled: boolean): boolean {
  return enabled && log.isLevelEnabled('info');
}

export function writeAccessLog(log: Logger, record: AccessRecord): void {
  log.info(record, 'http request');
}
