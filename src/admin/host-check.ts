/**
 * DNS-rebinding and cross-site defences for an admin API without a token. A web page can
 * make its own host name resolve to 127.0.0.1 and then read or POST to a loopback admin
 * port as if it were same-origin, but the browser still sends the page's name in `Host`.
 * So, as Envoy's and Consul's local agents do, a tokenless admin answers only to loopback
 * names. With a token the token is the check: a page cannot send an `Authorization`
 * header cross-origin without a CORS preflight, which the admin never grants.
 */
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../config/admin-schema.js';

/**
 * Whether a Host header names this machine's loopback:
 * `localhost`, 127.0.0.0/8 or `[::1]`, with or without a port. WHATWG URL parsing gives the
 * forms browsers send (`127.1` → `127.0.0.1`, `[0::1]` → `[::1]`).
 */
export function isLoopbackHostHeader(host: string): boolean {
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    return false;
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return false;
  return isLoopbackHost(url.hostname);
}

/**
 * Why a request must be refused by a tokenless admin API, or undefined when it may go on.
 * A request without `Host` (HTTP/1.0 tools) cannot come from a browser and passes.
 */
export function hostRefusal(request: IncomingMessage): string | undefined {
  const host = request.headers.host;
  if (host === undefined || isLoopbackHostHeader(host)) return undefined;
  return (
    `Host ${JSON.stringify(host)} is not a loopback name: without admin.token the admin API ` +
    'answers only to localhost, 127.0.0.0/8 and [::1] (DNS rebinding protection); ' +
    'use one of those names or set admin.token'
  );
}

/**
 * A browser names the page that sent a request in `Origin`. A state-changing request is
 * accepted without one (curl, kubelet, preStop hooks) or from the admin's own origin (the
 * dashboard), never from another site, `null` (sandboxed frames, file: pages) included.
 */
export function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const host = request.headers.host;
  return host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
}
