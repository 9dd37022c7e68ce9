/**
 * An upstream's response head (RFC 9112 §4): status line and fields, validated like a
 * request head. The body framing follows RFC 9112 §6.3 and depends on the request too
 * (HEAD, and statuses that never have a body).
 */
import { allIn, latin1Bytes, REASON } from './chars.js';
import { type HeadError, MessageHead } from './fields.js';

/** How a response body ends. */
export const BodyKind = {
  none: 0,
  length: 1,
  chunked: 2,
  /** Until the upstream closes the connection. */
  close: 3,
} as const;
export type BodyKind = (typeof BodyKind)[keyof typeof BodyKind];

const EMPTY = new Uint8Array(0);

export class ResponseHead extends MessageHead {
  status = 0;
  reason = '';
  /** The `upgrade` field of a 101 (the protocol switched to). */
  upgrade: string | undefined = undefined;
  /** Seconds from `keep-alive: timeout=N`, -1 when absent: the upstream's idle limit. */
  keepAliveTimeout = -1;
  /**
   * The bytes the head was parsed from, and where its status line starts in them: the
   * head's lines are forwarded from there. Valid only while the upstreamHead callback runs
   * (read buffers are reused).
   */
  bytes: Uint8Array = EMPTY;
  start = 0;
  override lines: number[] = [];

  protected onField(name: string, value: string): HeadError | undefined {
    if (name === 'keep-alive') this.keepAliveTimeout = keepAliveTimeoutOf(value);
    else if (name === 'upgrade') this.upgrade = value;
    return undefined;
  }

  /** Parses `text`: the status line and field lines, each ending with CRLF (`bytes` from `base`: the same). */
  parse(text: string, bytes: Uint8Array = latin1Bytes(text), base = 0): HeadError | undefined {
    this.bytes = bytes;
    this.start = base;
    const eol = text.indexOf('\r\n');
    if (eol < 12 || text.charCodeAt(8) !== 0x20) return 'invalid status line';
    const version = text.slice(0, 8);
    if (version === 'HTTP/1.1') this.http11 = true;
    else if (version === 'HTTP/1.0') this.http11 = false;
    else return 'unsupported HTTP version';
    const status = statusOf(text);
    if (status < 0) return 'invalid status code';
    this.status = status;
    if (eol > 12) {
      if (text.charCodeAt(12) !== 0x20 || !allIn(REASON, bytes, base + 13, base + eol))
        return 'invalid reason phrase';
      this.reason = text.slice(13, eol);
    }
    return this.parseFields(text, eol + 2, bytes, base);
  }

  /** The body framing, given the request method (RFC 9112 §6.3). */
  bodyKind(method: string): BodyKind {
    const status = this.status;
    if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return BodyKind.none;
    if (this.chunked) return BodyKind.chunked;
    if (this.contentLength >= 0) return this.contentLength === 0 ? BodyKind.none : BodyKind.length;
    return BodyKind.close;
  }
}

/** `timeout=5, max=100` → 5; -1 without a timeout parameter (no regex: Node upstreams send it on every response). */
function keepAliveTimeoutOf(value: string): number {
  const at = value.toLowerCase().indexOf('timeout=');
  if (at < 0) return -1;
  let seconds = 0;
  let digits = 0;
  for (let i = at + 8; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9 || ++digits > 9) break;
    seconds = seconds * 10 + d;
  }
  return digits === 0 ? -1 : seconds;
}

/** Three digits at 9..11, 100-999; -1 otherwise. */
function statusOf(text: string): number {
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    status = status * 10 + d;
  }
  return status < 100 ? -1 : status;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** Larger response heads are a protocol error. */
const MAX_RESPONSE_HEAD = 64 * 1024;

/**
 * Finds the final response head in an upstream's reads, skipping interim 1xx heads and
 * keeping a copy of an incomplete head between reads (read buffers are reused). A `101
 * Switching Protocols` ends the HTTP exchange only when the request asked for an upgrade;
 * otherwise it is a protocol error.
 */
export class ResponseHeadReader {
  private partial: Buffer | null = null;
  /** The request being answered asked for an upgrade: a 101 is its final head. */
  upgrade = false;
  /** After a head was read: the buffer it was found in, where its body starts, where the read ends. */
  buffer: Buffer = Buffer.alloc(0);
  bodyStart = 0;
  limit = 0;
  error: HeadError | undefined = undefined;

  /** The final head in `chunk[0, length)` (with earlier partial bytes), undefined if none yet or `error`. */
  read(chunk: Buffer, length: number): ResponseHead | undefined {
    let buf = chunk;
    let limit = length;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk.subarray(0, length)]);
      limit = buf.length;
      this.partial = null;
    }
    let pos = 0;
    for (;;) {
      const end = buf.indexOf(HEAD_END, pos);
      if (end < 0 || end + 4 > limit) {
        if (limit - pos > MAX_RESPONSE_HEAD) this.error = 'response head too large';
        else this.partial = Buffer.from(buf.subarray(pos, limit));
        return undefined;
      }
      const head = new ResponseHead();
      this.error = head.parse(buf.toString('latin1', pos, end + 2), buf, pos);
      pos = end + 4;
      if (this.error !== undefined) return undefined;
      if (head.status >= 200 || (head.status === 101 && this.upgrade)) {
        this.buffer = buf;
        this.bodyStart = pos;
        this.limit = limit;
        return head;
      }
      if (head.status === 101) {
        this.error = 'unexpected 101 response';
        return undefined;
      }
    }
  }
}
