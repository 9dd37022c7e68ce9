/**
 * Finds and parses a request head at the start of a client's buffered bytes, enforcing the
 * listener's limits: `limits.maxHeaderBytes` and `limits.maxHeaders` ('too-large'), a
 * malformed head or a bare LF ('malformed', so no later parser can disagree about where
 * lines end).
 */
import { CR, LF } from './chars.js';
import { RequestHead } from './request-head.js';

/** Why a head is refused: the connection manager answers 431 or 400. */
export type HeadRefusal = 'too-large' | 'malformed';

const HEAD_END = Buffer.from('\r\n\r\n');

export class HeadReader {
  /** Where the head started (after empty lines) and the index just past its empty line. */
  start = 0;
  end = 0;
  /** Set when read() refuses the bytes, with the reason for the debug log. */
  error: HeadRefusal | undefined = undefined;
  reason = '';
  /**
   * Bytes of the current incomplete head already searched (for its end and for bare LFs):
   * the next read, given the same head with more bytes after, resumes there instead of
   * rescanning from its start (a head sent byte by byte would cost quadratic time).
   */
  private scanned = 0;

  constructor(
    private readonly maxHeaderBytes: number,
    private readonly maxHeaders: number,
  ) {}

  /**
   * The head at the start of `buf`, or undefined: incomplete (wait for more bytes from
   * `start`) unless `error` is set. Returns undefined with start === buf.length when `buf`
   * holds only empty lines. After an incomplete head, the next call must get that head's
   * bytes (from `start`) with more after them.
   */
  read(buf: Buffer): RequestHead | undefined {
    this.error = undefined;
    let pos = 0;
    // Empty lines before a request line are allowed (RFC 9112 §2.2), e.g. after a POST body.
    while (pos + 1 < buf.length && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
    this.start = pos;
    const scanned = this.scanned;
    this.scanned = 0;
    if (pos === buf.length) return undefined;
    // A lone LF, or a CR not followed by LF, where a request line should start: other parsers
    // skip these one by one, so they are refused here as a bare LF in a head is.
    if (buf[pos] === LF || (buf[pos] === CR && pos + 1 < buf.length && buf[pos + 1] !== LF)) {
      this.refuse('malformed', 'stray CR or LF before the request line');
      return undefined;
    }
    // The end's four bytes may straddle the bytes scanned before and the new ones.
    const end = buf.indexOf(HEAD_END, Math.max(pos, pos + scanned - 3));
    if (end < 0) {
      if (buf.length - pos > this.maxHeaderBytes) this.refuse('too-large', 'head too large');
      else if (hasBareLf(buf, pos, Math.max(pos, pos + scanned))) this.refuse('malformed', 'bare LF');
      else this.scanned = buf.length - pos;
      return undefined;
    }
    this.end = end + 4;
    if (this.end - pos > this.maxHeaderBytes) {
      this.refuse('too-large', 'head too large');
      return undefined;
    }
    const head = new RequestHead();
    const error = head.parse(buf.toString('latin1', pos, end + 2), buf, pos);
    if (error !== undefined) this.refuse('malformed', error);
    else if (head.fieldCount > this.maxHeaders) this.refuse('too-large', 'too many fields');
    else return head;
    return undefined;
  }

  private refuse(error: HeadRefusal, reason: string): void {
    this.error = error;
    this.reason = reason;
  }
}

/** A LF not preceded by CR in the head starting at `start` (searched from `from`): some parsers end lines there, so it is refused. */
function hasBareLf(buf: Buffer, start: number, from: number): boolean {
  for (let i = buf.indexOf(LF, from); i >= 0; i = buf.indexOf(LF, i + 1)) {
    if (i === start || buf[i - 1] !== CR) return true;
  }
  return false;
}
