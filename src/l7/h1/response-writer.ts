/**
 * Writes responses to one client socket, one at a time. The head is held back until the
 * first body bytes so that a small response leaves in one write (and one string); the
 * framing is what the client can read: the upstream's content-length or chunked bytes as
 * they are, a close-delimited upstream body re-chunked for HTTP/1.1, chunked bodies
 * decoded and ended by closing for HTTP/1.0.
 */
import type { Socket } from 'node:net';
import { errorResponse, type HttpError } from '../errors.js';
import { BodyKind, type ResponseHead } from './response-head.js';

/** Bodies this small go out in the same write (and string) as their response head. */
const COALESCE_BYTES = 2048;
const LAST_CHUNK = '0\r\n\r\n';

export class ResponseWriter {
  private pendingHead: string | null = null;
  private rechunk = false;
  private started = false;

  constructor(private readonly socket: Socket) {}

  reset(): void {
    this.pendingHead = null;
    this.rechunk = false;
    this.started = false;
  }

  /** Nothing of the response was written yet: an error answer can still replace it. */
  get replaceable(): boolean {
    return !this.started || this.pendingHead !== null;
  }

  /** Bytes are still queued for the client (a buffer given to body() may be held). */
  get writing(): boolean {
    return this.socket.writableLength > 0;
  }

  /**
   * Prepares the head: `fields` is the status line and forwarded fields; framing and
   * connection lines are added here. Returns whether the connection must close after it.
   */
  start(response: ResponseHead, fields: string, kind: BodyKind, http11: boolean, close: boolean): boolean {
    let framing = '';
    if (response.contentLength >= 0 && !response.chunked)
      framing = `content-length: ${response.contentLength}\r\n`;
    else if (kind === BodyKind.chunked || (kind === BodyKind.none && response.chunked)) {
      if (http11) framing = 'transfer-encoding: chunked\r\n';
      else close = true; // decoded, and ended by closing
    } else if (kind === BodyKind.close) {
      if (http11) {
        framing = 'transfer-encoding: chunked\r\n';
        this.rechunk = true;
      } else close = true;
    }
    const connection = close ? 'connection: close\r\n' : http11 ? '' : 'connection: keep-alive\r\n';
    this.pendingHead = `${fields}${framing}${connection}\r\n`;
    this.started = true;
    return close;
  }

  /** Writes body bytes; false when the client is slower than the upstream. */
  body(buf: Buffer, start: number, end: number): boolean {
    if (end <= start) return true;
    const socket = this.socket;
    const head = this.pendingHead;
    this.pendingHead = null;
    if (this.rechunk) {
      socket.cork();
      if (head !== null) socket.write(head, 'latin1');
      socket.write(`${(end - start).toString(16)}\r\n`, 'latin1');
      socket.write(buf.subarray(start, end));
      const more = socket.write('\r\n', 'latin1');
      socket.uncork();
      return more;
    }
    if (head === null)
      return socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    if (end - start <= COALESCE_BYTES)
      return socket.write(head + buf.toString('latin1', start, end), 'latin1');
    socket.cork();
    socket.write(head, 'latin1');
    const more = socket.write(buf.subarray(start, end));
    socket.uncork();
    return more;
  }

  /** The response is complete: writes what is left (a head without body, the last chunk). */
  end(): void {
    let tail = this.pendingHead ?? '';
    this.pendingHead = null;
    if (this.rechunk) tail += LAST_CHUNK;
    if (tail !== '') this.socket.write(tail, 'latin1');
  }

  /** Portside's own answer instead of the response (check `replaceable` first). */
  error(error: HttpError, requestId: string | undefined, close: boolean): void {
    this.pendingHead = null;
    this.started = true;
    this.socket.write(errorResponse(error, requestId, close), 'latin1');
  }
}
