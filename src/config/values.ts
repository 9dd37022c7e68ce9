/**
 * Parsers for the scalar value types of the config file: durations and addresses.
 * Each returns a result instead of throwing so that the schema can report every problem.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** "500ms", "1s", "1.5s", "10m", "3h", "1m30s" → milliseconds. */
export function parseDuration(text: string): Parsed<number> {
  const trimmed = text.trim();
  if (trimmed === '')
    return { ok: false, message: 'empty duration; write e.g. "500ms", "1s", "10m" or "3h"' };
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < trimmed.length) {
    const match = DURATION_PART.exec(trimmed);
    if (!match) {
      return {
        ok: false,
        message: `invalid duration "${text}"; write a number with a unit: ms, s, m or h (e.g. "500ms", "1m30s")`,
      };
    }
    total += Number(match[1]) * DURATION_UNIT_MS[match[2]!]!;
  }
  return { ok: true, value: Math.round(total) };
}

/** Milliseconds of a duration the schema already validated. */
export function ms(duration: string): number {
  const parsed = parseDuration(duration);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

export function formatDuration(milliseconds: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (milliseconds >= size && milliseconds % size === 0) return `${milliseconds / size}${unit}`;
  }
  return `${milliseconds}ms`;
}

export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*\.?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export interface AddressOptions {
  /** Host used when only a port is given. */
  defaultHost?: string;
  /** Whether port 0 (an ephemeral port chosen by the OS) is allowed: true for listeners. */
  allowPortZero?: boolean;
}

/**
 * "host:port", "[ipv6]:port", or a bare port ("6380" or 6380) meaning defaultHost:port.
 */
export function parseAddress(input: string | number, options: AddressOptions = {}): Parsed<HostPort> {
  const text = String(input).trim();
  let host: string;
  let portText: string;
  if (/^\d+$/.test(text)) {
    if (!options.defaultHost) return { ok: false, message: `"${text}" has no host; write host:port` };
    host = options.defaultHost;
    portText = text;
  } else if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') {
      return { ok: false, message: `invalid address "${text}"; write IPv6 addresses as [::1]:8080` };
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!host.includes(':')) return { ok: false, message: `"${host}" in brackets is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { ok: false, message: `invalid address "${text}": missing port; write host:port` };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      return {
        ok: false,
        message: `invalid address "${text}"; write IPv6 addresses in brackets, e.g. [::1]:8080`,
      };
    }
    if (!IPV4.test(host) && !HOSTNAME.test(host)) {
      return { ok: false, message: `invalid host "${host}" in address "${text}"` };
    }
  }
  if (!/^\d+$/.test(portText))
    return { ok: false, message: `invalid port "${portText}" in address "${text}"` };
  const port = Number(portText);
  const min = options.allowPortZero ? 0 : 1;
  if (port < min || port > 65535) {
    return { ok: false, message: `port ${port} is out of range (${min}-65535) in address "${text}"` };
  }
  return { ok: true, value: { host, port } };
}

export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
