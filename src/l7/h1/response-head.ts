/**
 * An upstream's response head (RFC 9112 §4): status line and fields, validated like a
 * request head. The body framing follows RFC 9112 §6.3 and depends on the request too
 * (HEAD, and statuses that never have a body).
 */
import { allIn, REASON } from './chars.js';
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

const KEEP_ALIVE_TIMEOUT = /timeout=(\d+)/i;

export class ResponseHead extends MessageHead {
  status = 0;
  reason = '';
  /** Seconds from `keep-alive: timeout=N`, -1 when absent: the upstream's idle limit. */
  keepAliveTimeout = -1;

  protected onField(name: string, value: string): HeadError | undefined {
    if (name === 'keep-alive') {
      const match = KEEP_ALIVE_TIMEOUT.exec(value);
      if (match) this.keepAliveTimeout = Number(match[1]);
    }
    return undefined;
  }

  /** Parses `text`: the status line and field lines, each ending with CRLF. */
  parse(text: string): HeadError | undefined {
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
      if (text.charCodeAt(12) !== 0x20 || !allIn(REASON, text, 13, eol)) return 'invalid reason phrase';
      this.reason = text.slice(13, eol);
    }
    return this.parseFields(text, eol + 2);
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
