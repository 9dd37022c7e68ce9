import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { formatAddress, parseAddress } from '../config/values.js';
import type { Logger } from '../core/log.js';
import { ListenerStats } from './listener.js';
import { type GenerationHandler, ListenerBase } from './listener-base.js';
import { isResourceExhaustion, resourceErrors } from './resource-errors.js';

const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** Why a client datagram was not forwarded: one label of `portside_listener_dropped_datagrams_total`. */
export type DropReason =
  | 'session_limit' // a new client while maxSessions sessions are open
  | 'no_endpoint' // nothing usable in the cluster
  | 'not_connected' // the session's upstream socket is still connecting and its queue is full
  | 'out_of_resources' // no upstream socket could be opened (EMFILE...)
  | 'draining'; // a new client while the listener drains

/** A UDP listener's counters: the TCP ones (a session counts as a connection) and datagrams. */
export class UdpListenerStats extends ListenerStats {
  datagramsReceived = 0;
  datagramsSent = 0;
  readonly dropped: Record<DropReason, number> = {
    session_limit: 0,
    no_endpoint: 0,
    not_connected: 0,
    out_of_resources: 0,
    draining: 0,
  };
}

/**
 * What a UDP listener hands each datagram to: the UDP proxy of one config generation. On a
 * reload the retired handler hands its sessions to the next one, since they all answer
 * clients through the one listener socket.
 */
export interface DatagramHandler extends GenerationHandler {
  /** One datagram from a client. Never throws. */
  receive(datagram: Buffer, client: RemoteInfo): void;
  /** Stop opening sessions: datagrams from new clients are dropped, open sessions go on. */
  stopOpening(): void;
  /** Moves every session to `successor`; undefined when it cannot (the caller drains instead). */
  handOver?(successor: DatagramHandler): Promise<void> | undefined;
}

/**
 * Binds one UDP address and owns its socket: every client datagram arrives here and every
 * answer leaves from here. Like the TCP `Listener`, a reload swaps the handler and keeps
 * the socket, so no datagram meets a closed port.
 */
export class UdpListener extends ListenerBase<DatagramHandler> {
  readonly stats = new UdpListenerStats();
  /** Where datagrams arrive and answers leave; handlers send through it. */
  readonly socket: Socket;
  private listening = false;
  private closed = false;

  constructor(
    name: string,
    configuredAddress: string,
    private readonly log?: Logger,
  ) {
    super(name, configuredAddress);
    const parsed = parseAddress(configuredAddress, { allowPortZero: true });
    const v6 = parsed.ok && isIPv6(parsed.value.host);
    // Every client shares this socket: a burst above the default receive buffer (about 256
    // small datagrams) would be lost in the kernel. The kernel caps this at net.core.rmem_max.
    this.socket = createSocket({ type: v6 ? 'udp6' : 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
    this.socket.on('message', (datagram, client) => {
      this.stats.datagramsReceived++;
      this.stats.bytesReceived += datagram.length;
      const handler = this.handler;
      if (handler) handler.receive(datagram, client);
      else this.stats.dropped.draining++;
    });
  }

  bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { host, port } = this.bindAddress();
      const onError = (error: NodeJS.ErrnoException) => reject(this.bindFailed(error, '/udp'));
      this.socket.once('error', onError);
      this.socket.bind({ address: host, port, exclusive: true }, () => {
        this.socket.off('error', onError);
        this.listening = true;
        // Sending an answer can fail (ENOBUFS under a burst): the datagram is lost, as UDP
        // allows, and the error is counted or logged instead of crashing the process.
        this.socket.on('error', (error: NodeJS.ErrnoException) => {
          const code = error.code ?? 'unknown';
          if (isResourceExhaustion(error))
            resourceErrors.record('accept', code, this.log, { listener: this.name });
          else this.log?.debug({ listener: this.name, code }, 'udp listener socket error');
        });
        resolve();
      });
    });
  }

  get bound(): boolean {
    return this.listening && !this.closed;
  }

  get boundAddress(): string {
    if (!this.bound) return this.configuredAddress;
    const a = this.socket.address();
    return formatAddress({ host: a.address, port: a.port });
  }

  get port(): number {
    return this.bound ? this.socket.address().port : 0;
  }

  /**
   * Release the port at once (a reload that failed after binding this listener): sessions
   * opened meanwhile end with it, since their answers could only leave through this socket.
   */
  stopAccepting(): void {
    this.handler?.stopOpening();
    this.handler?.close();
    this.close();
  }

  /**
   * Open no new session, let open ones run until they idle out, for up to `timeoutMs`, then
   * end the rest and close the socket. Resolves with the number of sessions cut.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.handler?.stopOpening();
    const cut = await this.drainHandlers(timeoutMs);
    this.close();
    return cut;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
