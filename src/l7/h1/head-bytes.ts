/**
 * A message head written as bytes into a buffer that is reused from one message to the
 * next. Response heads are copied from the upstream's read buffer line by line instead of
 * being rebuilt as strings: the strings were a third of what a small request allocated,
 * and writing them made V8 flatten them first. A write still queued may hold the buffer
 * (retain()): the next head then gets a new one.
 */

/** Copies this short are cheaper as a loop than as a call into `Buffer#copy`. */
const LOOP_COPY_BYTES = 32;

export class HeadBytes {
  private buffer: Buffer | null = null;
  private retained = false;
  /** Bytes written since reset(). */
  length = 0;

  constructor(private readonly initialSize: number) {}

  /** Starts a new head (allocates the buffer on first use: idle connections keep none). */
  reset(): void {
    if (this.retained) {
      this.buffer = null;
      this.retained = false;
    }
    this.length = 0;
  }

  /** A write that is still queued points into the buffer: the next head uses another. */
  retain(): void {
    this.retained = true;
  }

  /** The bytes written so far (a view: retain() if the write that takes it stays queued). */
  view(): Buffer {
    return this.room(0).subarray(0, this.length);
  }

  /** Appends `source[from, to)`. */
  copy(source: Uint8Array, from = 0, to = source.length): void {
    const n = to - from;
    const buffer = this.room(n);
    let at = this.length;
    if (n <= LOOP_COPY_BYTES) for (let i = from; i < to; i++) buffer[at++] = source[i]!;
    else buffer.set(source.subarray(from, to), at);
    this.length += n;
  }

  /** A non-negative integer in decimal. */
  decimal(n: number): void {
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    const buffer = this.room(digits);
    let rest = n;
    for (let i = this.length + digits - 1; i >= this.length; i--) {
      buffer[i] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    this.length += digits;
  }

  /** The buffer, with room for `n` more bytes (grown by doubling, the bytes so far kept). */
  private room(n: number): Buffer {
    const needed = this.length + n;
    let buffer = this.buffer;
    if (buffer === null || needed > buffer.length) {
      let size = buffer === null ? this.initialSize : buffer.length * 2;
      while (size < needed) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      if (buffer !== null) buffer.copy(grown, 0, 0, this.length);
      this.buffer = buffer = grown;
    }
    return buffer;
  }
}
