/**
 * A `protocol: tls` listener: reads each connection's ClientHello (plain text) for its server
 * name, and hands the connection, those bytes put back first, to the tcp handler of the
 * cluster that name selects. Nothing is decrypted: the backend's own certificate reaches the
 * client. A name no route lists (and no defaultCluster) gets a TLS `unrecognized_name` alert.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import { readClientHello } from './client-hello.js';
import type { ServerNameTable } from './server-names.js';

/** A fatal `unrecognized_name` (112) alert record, as a TLS 1.0-1.3 server would send it. */
const UNRECOGNIZED_NAME_ALERT = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x70]);

export class TlsPassthroughHandler implements ConnectionHandler {
  /** Connections whose ClientHello is still being read. */
  private readonly peeking = new Set<Socket>();
  private draining = false;

  constructor(
    private readonly routes: ServerNameTable<ConnectionHandler>,
    private readonly fallback: ConnectionHandler | undefined,
    /** Every handler above (one per cluster), for counting, draining and closing. */
    private readonly targets: readonly ConnectionHandler[],
    private readonly helloTimeoutMs: number,
    private readonly stats: ListenerStats,
    private readonly log: Logger,
  ) {}

  get openConnections(): number {
    let open = this.peeking.size;
    for (const target of this.targets) open += target.openConnections;
    return open;
  }

  handle(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.peeking.add(socket);
    let received: Buffer = Buffer.alloc(0);
    const stop = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      this.peeking.delete(socket);
    };
    const refuse = (reason: string, alert: boolean) => {
      stop();
      this.stats.rejectedTotal++;
      if (this.log.isLevelEnabled('info')) {
        this.log.info({ client: socket.remoteAddress, reason }, 'tls passthrough connection refused');
      }
      if (alert && socket.writable) socket.end(UNRECOGNIZED_NAME_ALERT);
      else socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const hello = readClientHello(received);
      if (hello.kind === 'incomplete') return;
      if (hello.kind === 'invalid') {
        refuse(hello.reason, false);
        return;
      }
      const target = this.routes.find(hello.serverName) ?? this.fallback;
      if (target === undefined) {
        refuse(`no route for server name ${hello.serverName ?? '(none sent)'}`, true);
        return;
      }
      stop();
      // The hello goes to the backend first, as the client sent it.
      socket.pause();
      socket.unshift(received);
      target.handle(socket);
    };
    const onError = () => stop();
    const onClose = () => stop();
    const timer = setTimeout(() => refuse('no ClientHello within helloTimeout', false), this.helloTimeoutMs);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', onClose);
    socket.resume();
  }

  drain(): Promise<void> {
    this.draining = true;
    // Nothing of theirs reached a backend yet: closing them loses no work.
    for (const socket of this.peeking) socket.destroy();
    return Promise.all(this.targets.map((t) => t.drain())).then(() => {});
  }

  close(): void {
    this.draining = true;
    for (const socket of this.peeking) socket.destroy();
    for (const target of this.targets) target.close();
  }
}
