/**
 * Byte classes of HTTP/1.1 (RFC 9110 §5.6.2, RFC 9112 §3-5) as lookup tables, so the head
 * parsers test each byte with one array read instead of a regex.
 */

function table(...ranges: [number, number][]): Uint8Array {
  const t = new Uint8Array(256);
  for (const [from, to] of ranges) t.fill(1, from, to + 1);
  return t;
}

function withChars(t: Uint8Array, chars: string): Uint8Array {
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** tchar: what a method and a header name are made of. */
export const TOKEN = withChars(table([0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]), "!#$%&'*+-.^_`|~");

/** field-vchar, SP, HTAB and obs-text: a header value (never CR, LF, NUL or other controls). */
export const FIELD_VALUE = table([0x09, 0x09], [0x20, 0x7e], [0x80, 0xff]);

/** A request target: visible ASCII and (leniently, as nginx does) obs-text; no SP or controls. */
export const TARGET = table([0x21, 0x7e], [0x80, 0xff]);

/** A Host's reg-name or IPv4 address (RFC 3986 §3.2.2): unreserved, sub-delims and pct-encoded. */
export const HOST_NAME = withChars(table([0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]), "-._~!$&'()*+,;=%");

/** What goes between the brackets of an IP literal (`[::1]`, `[v1.x]`). */
export const IP_LITERAL = withChars(table([0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]), "-._~!$&'()*+,;=:");

/** The reason phrase of a status line: HTAB, SP, VCHAR, obs-text. */
export const REASON = FIELD_VALUE;

export const SP = 0x20;
export const HTAB = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;

/**
 * True when every byte of `bytes[from, to)` is in `allowed`. Heads are checked on their
 * bytes, not on their latin1 text: an array read per byte is 2-3 times cheaper than
 * `charCodeAt`, and this loop sees every byte of every head.
 */
export function allIn(allowed: Uint8Array, bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (allowed[bytes[i]!] !== 1) return false;
  }
  return true;
}

/**
 * Whether `value` is `host [":" port]` (RFC 9110 §7.2): a reg-name or IPv4 address, or an
 * IP literal in brackets, then optional digits after a colon. Nothing else may reach the
 * routing, the Host sent upstream and x-forwarded-host.
 */
export function isHostValue(value: string): boolean {
  const n = value.length;
  let i = 0;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    if (close < 2) return false;
    for (i = 1; i < close; i++) if (IP_LITERAL[value.charCodeAt(i)] !== 1) return false;
    i = close + 1;
  } else {
    while (i < n && HOST_NAME[value.charCodeAt(i)] === 1) i++;
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (value.charCodeAt(i) !== 0x3a /* : */ || n - i > 6) return false;
  for (i++; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The latin1 bytes of a head given as text (tests, and callers without the bytes). */
export function latin1Bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/**
 * Parses a Content-Length value: digits only, or -1 when invalid. Leading zeros are
 * accepted (`005`, as llhttp, nginx and HAProxy do) and do not count towards the limit of
 * 15 significant digits that keeps the value a safe integer.
 */
export function parseLength(value: string): number {
  const length = value.length;
  if (length === 0) return -1;
  let n = 0;
  let significant = 0;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    if (n === 0 && c === 0) continue;
    if (++significant > 15) return -1;
    n = n * 10 + c;
  }
  return n;
}
