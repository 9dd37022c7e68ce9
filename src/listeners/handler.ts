import type { Socket } from 'node:net';

/**
 * What a listener hands each accepted socket to: the L4 TCP proxy or the L7 HTTP proxy
 * of one config generation. A reload swaps a listener's handler; connections already
 * accepted stay with the handler (and generation) they started on.
 */
export interface ConnectionHandler {
  /**
   * Takes ownership of an accepted client socket. Never throws. The socket arrives paused
   * with nothing read yet (`pauseOnConnect`): the handler resumes it or adopts its handle.
   */
  handle(socket: Socket): void;
  /**
   * Optional, for HTTP listeners: a TLS socket whose handshake chose `h2` by ALPN (no
   * preface sniffing needed). Same ownership rules as handle().
   */
  handleHttp2?(socket: Socket): void;
  /** Client connections this handler still owns. */
  readonly openConnections: number;
  /**
   * Stop taking new work (L7: close idle keep-alive connections, answer `connection: close`),
   * and resolve once every connection has finished.
   */
  drain(): Promise<void>;
  /** Destroy every remaining connection now. */
  close(): void;
  /**
   * Optional, for a reload that replaces this handler with `successor` on the same
   * listener: keep the open connections, but serve their next requests with `successor`
   * (L7 keep-alive: closing an idle connection races with the client's next request).
   * Resolves once every connection has closed; returns undefined when it cannot hand
   * over (e.g. the successor speaks another protocol) and the caller drains instead.
   */
  handOver?(successor: ConnectionHandler): Promise<void> | undefined;
}
