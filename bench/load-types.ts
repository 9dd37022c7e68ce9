/** The jobs the load side runs and what it reports back. */
export type LoadJob =
  | {
      kind: 'http';
      port: number;
      path: string;
      method: 'GET' | 'POST';
      /** Request body size (POST uploads). */
      bodyBytes?: number;
      connections: number;
      durationSec: number;
      /** Close and reopen the connection after every request. */
      newConnection?: boolean;
      /** Requests per second offered in all, paced (bench/paced-load.ts). */
      ratePerSec?: number;
      /** Over TLS; with `newConnection`, `resumed` offers the newest session ticket (bench/scenarios.ts). */
      tls?: 'full' | 'resumed';
    }
  | { kind: 'bulk'; port: number; durationSec: number }
  | { kind: 'hold'; port: number; connections: number };

export type HttpJob = Extract<LoadJob, { kind: 'http' }>;

export interface HttpResult {
  requests: number;
  durationSec: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The slowest request (absent in results written before it was recorded). */
  maxMs?: number;
  bytesPerSec: number;
  /** Connection errors, resets and timeouts. */
  errors: number;
  non2xx: number;
  /** New TLS connections whose session was resumed (new-connection TLS loads only). */
  resumed?: number;
}

export interface BulkResult {
  bytes: number;
  durationSec: number;
  mbPerSec: number;
}
