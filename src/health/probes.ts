/**
 * Active health probes: one attempt against one endpoint, bounded by a timeout and
 * cancellable. A probe never throws and never leaves a socket open.
 */
import { connect } from 'node:net';
import type { HttpCheckConfig } from '../config/health-schema.js';
import { parseStatusRange } from '../config/status-range.js';
import type { Endpoint } from '../core/endpoint.js';
import { isResourceExhaustion } from '../listeners/resource-errors.js';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

/** What a probe needs of an endpoint; registration probes a local application that is no cluster's endpoint. */
export type ProbeTarget = Pick<Endpoint, 'id' | 'host' | 'port'>;

export type Probe = (endpoint: ProbeTarget, timeoutMs: number, signal: AbortSignal) => Promise<ProbeResult>;

/** A probe the proxy could not even start (EMFILE...): it says nothing about the endpoint. */
export const PROBE_OUT_OF_RESOURCES = 'out-of-resources';

/** Short failure code for a socket error: connect-refused, reset, unreachable, ... */
export function socketFailure(error: NodeJS.ErrnoException): string {
  if (isResourceExhaustion(error)) return PROBE_OUT_OF_RESOURCES;
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connect-refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case undefined:
      return error.message;
    default:
      return error.code.toLowerCase();
  }
}

/**
 * Runs `attempt` with a deadline and an abort signal; `attempt` gets a `finish` that
 * settles the probe once and a place to register cleanup (destroying its socket).
 */
export function bounded(
  timeoutMs: number,
  signal: AbortSignal,
  attempt: (finish: (result: ProbeResult) => void) => () => void,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let cleanup: () => void = () => {};
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      cleanup();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, reason: 'aborted' });
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    cleanup = attempt(finish);
    if (settled) cleanup();
    else if (signal.aborted) onAbort();
  });
}

/** Healthy when a TCP connection is established within the timeout. */
export const tcpProbe: Probe = (endpoint, timeoutMs, signal) =>
  bounded(timeoutMs, signal, (finish) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    socket.once('connect', () => finish({ ok: true }));
    socket.on('error', (error) => finish({ ok: false, reason: socketFailure(error) }));
    return () => socket.destroy();
  });

/** Healthy when GET `path` answers with an expected status within the timeout. */
export function httpProbe(config: HttpCheckConfig): Probe {
  const ranges = config.expectedStatus.map((status) => {
    const parsed = parseStatusRange(status);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.value;
  });
  return (endpoint, timeoutMs, signal) =>
    bounded(timeoutMs, signal, (finish) => {
      // node:http is loaded by the first HTTP check, not at start: a proxy without HTTP
      // checks never holds it (about 1 MB).
      const req = process.getBuiltinModule('node:http').request({
        host: endpoint.host,
        port: endpoint.port,
        path: config.path,
        method: 'GET',
        // A fresh connection per check: a pooled one could hide that new connects fail.
        agent: false,
        headers: {
          host: config.host ?? endpoint.id,
          'user-agent': 'portside-health-check',
          connection: 'close',
        },
      });
      req.on('response', (res) => {
        res.on('error', () => {}); // destroyed below, mid-body
        const status = res.statusCode ?? 0;
        const expected = ranges.some(([from, to]) => status >= from && status <= to);
        finish(expected ? { ok: true } : { ok: false, reason: `http-${status}` });
      });
      req.on('error', (error) => finish({ ok: false, reason: socketFailure(error) }));
      req.end();
      // Only the status matters: drop the body and the connection.
      return () => req.destroy();
    });
}
