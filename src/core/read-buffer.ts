/**
 * A socket read buffer reused from one read to the next (Node's `onread` option), so
 * reads allocate nothing. A write that is still queued may point into it: whoever hands
 * its bytes on calls retain(), and the next read gets a fresh buffer instead. It starts
 * small (an idle keep-alive connection keeps little resident) and grows to `maxSize` the
 * first time a read fills it.
 */
export class ReusableReadBuffer {
  private buffer: Buffer | null = null;
  private retained = false;
  private size: number;

  constructor(
    initialSize: number,
    private readonly maxSize: number,
  ) {
    this.size = initialSize;
  }

  /** For `onread.buffer`: Node asks for the next read's buffer after each one. */
  readonly next = (): Buffer => {
    if (this.buffer === null || this.retained || this.buffer.length !== this.size) {
      this.buffer = Buffer.allocUnsafe(this.size);
      this.retained = false;
    }
    return this.buffer;
  };

  /** Call with each read's length: a full read means bigger reads would pay off. */
  read(length: number): void {
    if (length === this.size && this.size < this.maxSize) this.size = this.maxSize;
  }

  retain(): void {
    this.retained = true;
  }
}
