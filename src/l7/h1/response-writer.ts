/**
 * Writes responses to one client socket, one at a time. The head is held back until the
 * first body bytes so that a small response leaves in one write (and one buffer); the
 * framing is what the client can read: the upstream's content-length or chunked bytes as
 * they are, a close-delimited upstream body re-chunked for HTTP/1.1, chunked bodies
 * decoded and ended by closing for HTTP/1.0.
 */
import type { Socket } from 'node:net';
import { HeadBytes } from './head-bytes.js';
import { BodyKind, type ResponseHead } from './response-head.js';

/**
 * Writes the status line and the fields of a response head that the client gets (the
 * proxy's header policy and a route's edits live above the codec and implement this).
 */
export interface ResponseFields {
  copyResponseFields(out: HeadBytes, response: ResponseHead): void;
}

/** Bodies this small go out in the same write (and buffer) as their response head. */
const COALESCE_BYTES = 2048;
/** A typical head and a coalesced small body fit; larger ones grow it. */
const HEAD_BUFFER_BYTES = 1024;
const LAST_CHUNK = '0\r\n\r\n';
const LAST_CHUNK_BYTES = Buffer.from(LAST_CHUNK, 'latin1');
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const CONTENT_LENGTH = latin1('content-length: ');
const CRLF = latin1('\r\n');
const CHUNKED = latin1('transfer-encoding: chunked\r\n');
const CLOSE = latin1('connection: close\r\n');
const KEEP_ALIVE = latin1('connection: keep-alive\r\n');
const SWITCH = latin1('connection: upgrade\r\nupgrade: ');

export class ResponseWriter {
  /** The prepared head, until the first body bytes (or the end) are written with it. */
  private readonly head = new HeadBytes(HEAD_BUFFER_BYTES);
  private headPending = false;
  private rechunk = false;
  private started = false;

  constructor(private readonly socket: Socket) {}

  reset(): void {
    this.headPending = false;
    this.rechunk = false;
    this.started = false;
  }

  /** Nothing of the response was written yet: an error answer can still replace it. */
  get replaceable(): boolean {
    return !this.started || this.headPending;
  }

  /** Bytes are still queued for the client (a buffer given to body() may be held). */
  get writing(): boolean {
    return this.socket.writableLength > 0;
  }

  /**
   * Prepares the head: the status line and fields of `response` as `fields` copies them
   * (`response` must be the head being handed over: its bytes are copied now), then
   * framing and connection lines. Returns whether the connection must close after it.
   */
  start(
    response: ResponseHead,
    fields: ResponseFields,
    kind: BodyKind,
    http11: boolean,
    close: boolean,
  ): boolean {
    const head = this.head;
    head.reset();
    fields.copyResponseFields(head, response);
    if (response.contentLength >= 0 && !response.chunked) {
      head.copy(CONTENT_LENGTH);
      head.decimal(response.contentLength);
      head.copy(CRLF);
    } else if (kind === BodyKind.chunked || (kind === BodyKind.none && response.chunked)) {
      if (http11) head.copy(CHUNKED);
      else close = true; // decoded, and ended by closing
    } else if (kind === BodyKind.close) {
      if (http11) {
        head.copy(CHUNKED);
        this.rechunk = true;
      } else close = true;
    }
    if (close) head.copy(CLOSE);
    else if (!http11) head.copy(KEEP_ALIVE);
    head.copy(CRLF);
    this.headPending = true;
    this.started = true;
    return close;
  }

  /** Writes a `101` head: its fields as `fields` copies them, then the protocol switched to. */
  switchProtocols(response: ResponseHead, fields: ResponseFields, protocol: string): void {
    const head = this.head;
    head.reset();
    fields.copyResponseFields(head, response);
    head.copy(SWITCH);
    head.copy(latin1(protocol));
    head.copy(CRLF);
    head.copy(CRLF);
    this.started = true;
    this.writeHead();
  }

  /** Body bytes; false when the client is slower than the upstream. */
  body(buf: Buffer, start: number, end: number): boolean {
    if (end <= start) return true;
    const socket = this.socket;
    const pending = this.headPending;
    this.headPending = false;
    if (!pending && !this.rechunk)
      return socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    if (!this.rechunk && end - start <= COALESCE_BYTES) {
      this.head.copy(buf, start, end);
      return this.writeHead();
    }
    socket.cork();
    if (pending) socket.write(this.head.view());
    if (this.rechunk) socket.write(`${(end - start).toString(16)}\r\n`, 'latin1');
    let more = socket.write(buf.subarray(start, end));
    if (this.rechunk) more = socket.write('\r\n', 'latin1');
    socket.uncork();
    if (pending) this.headWritten();
    return more;
  }

  /** The response is complete: writes what is left (a head without body, the last chunk). */
  end(): void {
    const pending = this.headPending;
    this.headPending = false;
    if (pending) {
      if (this.rechunk) this.head.copy(LAST_CHUNK_BYTES);
      this.writeHead();
    } else if (this.rechunk) this.socket.write(LAST_CHUNK, 'latin1');
  }

  /** Writes the prepared head (with whatever was appended to it). */
  private writeHead(): boolean {
    const more = this.socket.write(this.head.view());
    this.headWritten();
    return more;
  }

  /** The head's buffer is free again unless its write is still queued. */
  private headWritten(): void {
    this.head.written(this.socket.writableLength > 0);
  }

  /** A whole response (latin1 text: the proxy's own answer) instead of the upstream's (check `replaceable` first). */
  error(response: string): void {
    if (this.headPending) this.head.written(false);
    this.headPending = false;
    this.started = true;
    this.socket.write(response, 'latin1');
  }
}
