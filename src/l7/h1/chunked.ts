/**
 * Tracks the boundaries of a chunked body (RFC 9112 §7.1) as its bytes pass through, so
 * the proxy forwards the bytes as they came (no re-chunking) and still knows exactly where
 * the body ends. Strict: hex sizes without whitespace, CRLF everywhere, extensions limited
 * to field characters, trailers checked as field lines. With a sink it also hands out the chunk data
 * alone (decoding, for HTTP/1.0 peers).
 */
import { BODY_ERROR, BODY_MORE, type BodyFramer } from './body-framer.js';
import { CR, FIELD_VALUE, LF, TOKEN } from './chars.js';

export interface ChunkSink {
  chunkData(buf: Buffer, start: number, end: number): void;
}

const SIZE = 0;
const SIZE_MORE = 1;
const EXTENSION = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER_START = 7;
const TRAILER_NAME = 8;
const TRAILER_VALUE = 9;
const TRAILER_LF = 10;
const FINAL_LF = 11;
const DONE = 12;
const COLON = 0x3a;

/** Chunk sizes up to 2^48: more hex digits than that is an attack, not a body. */
const MAX_SIZE_DIGITS = 12;
/** Extension and trailer bytes allowed in total. */
const MAX_METADATA = 16 * 1024;

export class ChunkedScanner implements BodyFramer {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private metadata = 0;

  constructor(private readonly sink: ChunkSink | null = null) {}

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Scans `buf[from, to)`: BODY_MORE when the body continues after `to`, the index just
   * past its last byte when it ends inside, or BODY_ERROR.
   */
  scan(buf: Buffer, from: number, to: number): number {
    let i = from;
    while (i < to) {
      const state = this.state;
      if (state === DATA) {
        const take = Math.min(this.size, to - i);
        if (this.sink !== null) this.sink.chunkData(buf, i, i + take);
        i += take;
        this.size -= take;
        if (this.size === 0) this.state = DATA_CR;
        continue;
      }
      const c = buf[i++]!;
      switch (state) {
        case SIZE:
        case SIZE_MORE: {
          const digit = hexValue(c);
          if (digit >= 0) {
            // Leading zeros (`000a`, accepted by llhttp, nginx and HAProxy) are not size digits.
            if (this.size === 0 && digit === 0) {
              if (++this.metadata > MAX_METADATA) return BODY_ERROR;
            } else if (++this.digits > MAX_SIZE_DIGITS) return BODY_ERROR;
            this.size = this.size * 16 + digit;
            this.state = SIZE_MORE;
          } else if (state === SIZE) return BODY_ERROR;
          else if (c === CR) this.state = SIZE_LF;
          else if (c === 0x3b /* ; */) this.state = EXTENSION;
          else return BODY_ERROR;
          break;
        }
        case EXTENSION:
          if (c === CR) this.state = SIZE_LF;
          else if (FIELD_VALUE[c] !== 1 || ++this.metadata > MAX_METADATA) return BODY_ERROR;
          break;
        case SIZE_LF:
          if (c !== LF) return BODY_ERROR;
          this.digits = 0;
          this.state = this.size === 0 ? TRAILER_START : DATA;
          break;
        case DATA_CR:
          if (c !== CR) return BODY_ERROR;
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== LF) return BODY_ERROR;
          this.state = SIZE;
          break;
        // Trailer lines are field lines (RFC 9112 §7.1.2): the same rules as in a head.
        case TRAILER_START:
          if (c === CR) this.state = FINAL_LF;
          else if (TOKEN[c] !== 1) return BODY_ERROR;
          else this.state = TRAILER_NAME;
          break;
        case TRAILER_NAME:
          if (c === COLON) this.state = TRAILER_VALUE;
          else if (TOKEN[c] !== 1 || ++this.metadata > MAX_METADATA) return BODY_ERROR;
          break;
        case TRAILER_VALUE:
          if (c === CR) this.state = TRAILER_LF;
          else if (FIELD_VALUE[c] !== 1 || ++this.metadata > MAX_METADATA) return BODY_ERROR;
          break;
        case TRAILER_LF:
          if (c !== LF) return BODY_ERROR;
          this.state = TRAILER_START;
          break;
        case FINAL_LF:
          if (c !== LF) return BODY_ERROR;
          this.state = DONE;
          return i;
        default:
          return BODY_ERROR;
      }
    }
    return BODY_MORE;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
