/**
 * Listen addresses that cannot all be bound: the same address twice, or one port taken on
 * a wildcard address and again on a specific one. Linux refuses the second bind of
 * 0.0.0.0:P when 127.0.0.1:P is bound (and the reverse), and Node binds [::] dual-stack, so
 * [::]:P takes port P on every IPv4 address too. Hostnames are compared as written: which
 * address `localhost` means is up to the resolver at start.
 */
import { isIP } from 'node:net';
import type { AdminConfig } from './admin-schema.js';
import type { PathSegment } from './problem.js';
import type { ReferenceProblem } from './references.js';
import { parseAddress } from './values.js';

interface Bound {
  path: PathSegment[];
  /** How a message names it: `listeners[2]` or `the admin server`. */
  label: string;
  address: string;
  host: string;
  port: number;
}

export function checkAddressOverlaps(
  listenerAddresses: readonly (string | undefined)[],
  admin: AdminConfig | undefined,
): ReferenceProblem[] {
  const bound: Bound[] = [];
  const add = (path: PathSegment[], label: string, address: string) => {
    const parsed = parseAddress(address, { allowPortZero: true });
    // Port 0 asks the OS for a free port: never a conflict.
    if (parsed.ok && parsed.value.port !== 0)
      bound.push({ path, label, address, host: parsed.value.host.toLowerCase(), port: parsed.value.port });
  };
  listenerAddresses.forEach((address, i) => {
    if (address !== undefined) add(['listeners', i, 'address'], `listeners[${i}]`, address);
  });
  if (admin) add(['admin', 'address'], 'the admin server', admin.address);

  const problems: ReferenceProblem[] = [];
  bound.forEach((later, j) => {
    const earlier = bound.slice(0, j).find((b) => b.port === later.port && overlap(b.host, later.host));
    if (!earlier) return;
    const subject = later.path[0] === 'admin' ? `admin address ${later.address}` : `address ${later.address}`;
    const message =
      earlier.address === later.address
        ? `${subject} is already used by ${earlier.label}`
        : `${subject} overlaps ${earlier.label} (${earlier.address}): ${whyOverlap(earlier, later)}; only one can bind`;
    problems.push({ path: later.path, message, severity: 'error' });
  });
  return problems;
}

type Kind = 'any-ipv4' | 'any' | 'ipv4' | 'ipv6' | 'name';

function kind(host: string): Kind {
  if (host === '0.0.0.0') return 'any-ipv4';
  if (host === '::') return 'any';
  const family = isIP(host);
  return family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : 'name';
}

function overlap(a: string, b: string): boolean {
  if (a === b) return true;
  const ka = kind(a);
  const kb = kind(b);
  if (ka === 'any' || kb === 'any') return true;
  // 0.0.0.0 covers every IPv4 address, and a hostname may well resolve to one.
  if (ka === 'any-ipv4') return kb !== 'ipv6';
  if (kb === 'any-ipv4') return ka !== 'ipv6';
  return false;
}

function whyOverlap(a: Bound, b: Bound): string {
  const wildcard =
    [a, b].find((x) => kind(x.host) === 'any') ?? [a, b].find((x) => kind(x.host) === 'any-ipv4')!;
  return kind(wildcard.host) === 'any'
    ? `[::] takes port ${wildcard.port} on every IPv4 and IPv6 address`
    : `0.0.0.0 takes port ${wildcard.port} on every IPv4 address`;
}
