/**
 * Running out of the proxy's own resources (file descriptors, socket buffers) is nobody
 * else's fault: an accept that fails with EMFILE says nothing about the clients, and a
 * connect that fails with EMFILE says nothing about the endpoint. So such errors never count
 * as endpoint failures (no ejection, no failover storm); they are counted here, once for
 * the whole process (the fd table is per process), and logged at most once a second with
 * the number of occurrences since the previous line, since under exhaustion they come by
 * the thousand.
 */
import type { Logger } from '../core/log.js';

/** Where the proxy ran out: accepting a client, or opening an upstream connection. */
export type ResourceSide = 'accept' | 'connect';

/** Error codes that mean the proxy itself is out of something, whatever the peer. */
const EXHAUSTION_CODES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

export function isResourceExhaustion(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && EXHAUSTION_CODES.has(code);
}

export interface ResourceErrorCount {
  side: ResourceSide;
  code: string;
  count: number;
}

const LOG_INTERVAL_MS = 1000;

export class ResourceErrors {
  private readonly counts = new Map<string, ResourceErrorCount>();
  /** Occurrences since the last log line, per side. */
  private unlogged = { accept: 0, connect: 0 };
  private lastCode = '';
  private log: Logger | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Counts one error; logs now if no line went out in the last second, else at the end of it. */
  record(side: ResourceSide, code: string, log: Logger | undefined, where?: Record<string, unknown>): void {
    const key = `${side} ${code}`;
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else this.counts.set(key, { side, code, count: 1 });
    this.unlogged[side]++;
    this.lastCode = code;
    this.log = log ?? this.log;
    if (this.timer === undefined) this.flush(where);
  }

  /** Every count since the process started, for metrics. */
  snapshot(): ResourceErrorCount[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }

  private flush(where?: Record<string, unknown>): void {
    const { accept, connect } = this.unlogged;
    if (accept + connect === 0) {
      this.timer = undefined;
      return;
    }
    this.unlogged = { accept: 0, connect: 0 };
    this.log?.error(
      {
        ...where,
        code: this.lastCode,
        occurrences: accept + connect,
        acceptErrors: accept,
        connectErrors: connect,
        hint: 'raise the open-files limit (ulimit -n, systemd LimitNOFILE) or lower connection limits',
      },
      EXHAUSTION_MESSAGE,
    );
    this.timer = setTimeout(() => this.flush(), LOG_INTERVAL_MS).unref();
  }
}

/** The message of every line logged here (greppable; the fields say which side and how often). */
export const EXHAUSTION_MESSAGE = 'out of file descriptors or socket buffers: connections refused';

/** The process's one instance: file descriptors are counted per process. */
export const resourceErrors = new ResourceErrors();
