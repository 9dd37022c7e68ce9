/**
 * How many listening sockets a TCP listener binds on its address.
 *
 * Why more than one: libuv (1.45 and later, so Node 20 to 26 at least) accepts one
 * connection per listening socket per event-loop turn (libuv PR #3696). While a thousand
 * connections keep the loop busy a turn takes milliseconds, so a burst of a thousand
 * connects waits seconds in the kernel's accept queue. Several sockets bound with
 * `SO_REUSEPORT` (Node's `reusePort`, from 22.12) each get a share of the incoming
 * connections from the kernel and each accept one per turn. See "New connections and
 * accept storms" in bench/RESULTS.md for the figures behind the number.
 */
export const ACCEPTORS_WHERE_SUPPORTED = 16;

/** `reusePort` exists from Node 22.12 and 23.1; Linux spreads connections over the sockets. */
export function reusePortSupported(
  version: string = process.versions.node,
  platform: string = process.platform,
): boolean {
  if (platform !== 'linux') return false;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** One socket where `reusePort` is missing (Node 20, macOS): a second bind would fail. */
export function defaultAcceptors(): number {
  return reusePortSupported() ? ACCEPTORS_WHERE_SUPPORTED : 1;
}

/**
 * `http` listeners keep one socket: with several, new connections per request through the
 * L7 proxy ran 20-24 % fewer per second at the same CPU per connection (Node 26, any count
 * from 4), a cost not explained yet; `tcp` and `tls` listeners showed none. Decided when an
 * address is first bound: a reload that changes a listener's protocol keeps its sockets.
 */
export function acceptorsFor(protocol: 'tcp' | 'http' | 'tls'): number {
  return protocol === 'http' ? 1 : defaultAcceptors();
}
