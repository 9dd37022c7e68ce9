/**
 * A message head written as bytes into a buffer that is reused from one message to the
 * next. Response heads are copied from the upstream's read buffer line by line instead of
 * being rebuilt as strings: the strings were a third of what a small request allocated,
 * and writing them made V8 flatten them first.
 *
 * Buffers are shared, not kept per connection: a head takes a spare one when it starts
 * and gives it back once written (written()), unless the write is still queued and holds
 * it. So an idle keep-alive connection keeps no buffer, and a busy proxy cycles a few.
 */

/** Copies this short are cheaper as a loop than as a call into `Buffer#copy`. */
const LOOP_COPY_BYTES = 32;
/** Buffers of written heads, ready for the next head of any connection. */
const spare: Buffer[] = [];
const MAX_SPARE = 16;

export class HeadBytes {
  private buffer: Buffer | null = null;
  /** Bytes written since reset(). */
  length = 0;

  constructor(private readonly initialSize: number) {}

  /** Starts a new head (in the buffer it still has, or a spare one on its first byte). */
  reset(): void {
    this.length = 0;
  }

  /**
   * The head was written, or dropped: its buffer goes back to the spares, unless `queued`
   * (a write still pending holds it; it is then left to that write and the GC).
   */
  written(queued: boolean): void {
    const buffer = this.buffer;
    this.buffer = null;
    this.length = 0;
    if (buffer !== null && !queued && spare.length < MAX_SPARE) spare.push(buffer);
  }

  /** The bytes written so far (a view: pass whether its write is queued to written()). */
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
    let buffer = this.buffer ?? spare.pop() ?? null;
    this.buffer = buffer;
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
