/** What a listener needs from the handler of each config generation, whatever its transport. */
export interface GenerationHandler {
  readonly openConnections: number;
  drain(): Promise<void>;
  close(): void;
}

/**
 * The handlers of one listener: the current generation's, and retired ones that still own
 * connections (TCP, HTTP) or sessions (UDP). Both kinds of listener keep theirs here.
 */
export class HandlerSet<H extends GenerationHandler> {
  private readonly all = new Set<H>();
  private active: H | undefined;

  get current(): H | undefined {
    return this.active;
  }

  /** Installs the next generation's handler; returns the retired one (still owning its connections). */
  swap(next: H): H | undefined {
    const previous = this.active;
    this.active = next;
    this.all.add(next);
    return previous;
  }

  /** Forget a retired handler once it owns no connection. */
  release(handler: H): void {
    if (handler !== this.active) this.all.delete(handler);
  }

  get openConnections(): number {
    let total = 0;
    for (const h of this.all) total += h.openConnections;
    return total;
  }

  /**
   * Lets every handler finish its connections for up to `timeoutMs`, then destroys what is
   * left. Resolves with the number of connections cut.
   */
  async drain(timeoutMs: number): Promise<number> {
    const handlers = [...this.all];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([Promise.all(handlers.map((h) => h.drain())), timedOut]);
    clearTimeout(timer);
    let cut = 0;
    if (result === 'timeout') {
      for (const h of handlers) {
        cut += h.openConnections;
        h.close();
      }
    }
    return cut;
  }
}
