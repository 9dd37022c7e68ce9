import { parseAddress } from '../config/values.js';
import { BindError } from './bind-error.js';

/** What a listener needs from the handler of each config generation, whatever its transport. */
export interface GenerationHandler {
  readonly openConnections: number;
  drain(): Promise<void>;
  close(): void;
}

/**
 * What the TCP `Listener` and the `UdpListener` share: a name, an address, and the handlers
 * of one listener: the current generation's, and retired ones that still own connections
 * (TCP, HTTP) or sessions (UDP).
 */
export abstract class ListenerBase<H extends GenerationHandler> {
  private readonly handlers = new Set<H>();
  private current: H | undefined;

  constructor(
    /** The configured name; a reload may rename a listener whose address is unchanged. */
    public name: string,
    /** Configured address, as normalised by the schema (`host:port`, port may be 0). */
    readonly configuredAddress: string,
  ) {}

  get handler(): H | undefined {
    return this.current;
  }

  /** Installs the next generation's handler; returns the retired one (still owning its connections). */
  swapHandler(next: H): H | undefined {
    const previous = this.current;
    this.current = next;
    this.handlers.add(next);
    return previous;
  }

  /** Forget a retired handler once it owns no connection. */
  release(handler: H): void {
    if (handler !== this.current) this.handlers.delete(handler);
  }

  /** Open connections (TCP) or sessions (UDP) of every handler. */
  get openConnections(): number {
    let total = 0;
    for (const h of this.handlers) total += h.openConnections;
    return total;
  }

  /** Where to bind; rejects `bind()` with the schema's message when the address is invalid. */
  protected bindAddress(): { host: string; port: number } {
    const parsed = parseAddress(this.configuredAddress, { allowPortZero: true });
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.value;
  }

  /** `transport` follows the address in the message: "/udp" for a UDP listener. */
  protected bindFailed(error: NodeJS.ErrnoException, transport = ''): BindError {
    return new BindError(`listener "${this.name}"`, `${this.configuredAddress}${transport}`, error);
  }

  /**
   * Lets every handler finish its connections for up to `timeoutMs`, then destroys what is
   * left. Resolves with the number of connections cut.
   */
  protected async drainHandlers(timeoutMs: number): Promise<number> {
    const handlers = [...this.handlers];
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
