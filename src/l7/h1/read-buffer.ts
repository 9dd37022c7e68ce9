/**
 * A socket read buffer reused from one read to the next (Node's `onread` option), so
 * reads allocate nothing. A write that is still queued may point into it: whoever hands
 * its bytes on calls retain(), and the next read gets a fresh buffer instead.
 */
export class ReusableReadBuffer {
  private buffer: Buffer | null = null;
  private retained = false;

  constructor(private readonly size: number) {}

  /** For `onread.buffer`: Node asks for the next read's buffer after each read. */
  readonly next = (): Buffer => {
    if (this.buffer === null || this.retained) {
      this.buffer = Buffer.allocUnsafe(this.size);
      this.retained = false;
    }
    return this.buffer;
  };

  retain(): void {
    this.retained = true;
  }
}
