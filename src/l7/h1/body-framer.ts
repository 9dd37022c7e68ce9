/**
 * Where a message body ends, whatever its framing, so the bytes can be forwarded as the
 * socket delivers them and the next message found after them. Content-length bodies are
 * counted here; chunked ones are scanned by ChunkedScanner (chunked.ts).
 */

/** scan(): every byte given belongs to the body, and more follow. */
export const BODY_MORE = -1;
/** scan(): the framing is malformed. */
export const BODY_ERROR = -2;

export interface BodyFramer {
  /** Scans `buf[from, to)`: BODY_MORE, BODY_ERROR, or the index just past the body's last byte. */
  scan(buf: Buffer, from: number, to: number): number;
}

/** A content-length body; one per connection, reset for each message. */
export class LengthFramer implements BodyFramer {
  private remaining = 0;

  reset(length: number): this {
    this.remaining = length;
    return this;
  }

  scan(_buf: Buffer, from: number, to: number): number {
    const available = to - from;
    if (available < this.remaining) {
      this.remaining -= available;
      return BODY_MORE;
    }
    const end = from + this.remaining;
    this.remaining = 0;
    return end;
  }
}
