import type { Socket } from 'node:net';
import type { Cluster } from '../core/cluster.js';
import type { Logger } from '../core/log.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import { resourceErrors } from '../listeners/resource-errors.js';
import { ConnectionLog } from './connection-log.js';
import { TcpSession, type TcpSessionSettings, type TcpSessionSummary } from './tcp-session.js';

/** The L4 handler of one listener in one config generation: each socket becomes a TcpSession. */
export class TcpProxyHandler implements ConnectionHandler {
  private readonly sessions = new Set<TcpSession>();
  private readonly drainWaiters: (() => void)[] = [];
  private readonly connectionLog: ConnectionLog;

  constructor(
    private readonly settings: TcpSessionSettings,
    private readonly cluster: Cluster,
    private readonly stats: ListenerStats,
    private readonly log: Logger,
  ) {
    this.connectionLog = new ConnectionLog(log);
  }

  get openConnections(): number {
    return this.sessions.size;
  }

  handle(socket: Socket): void {
    const session = new TcpSession(socket, this.cluster, this.settings, this.onSessionDone);
    // With no usable endpoint the session has already ended (and reported) in its constructor.
    if (!session.finished) this.sessions.add(session);
  }

  private readonly onSessionDone = (session: TcpSession, summary: TcpSessionSummary): void => {
    this.sessions.delete(session);
    this.stats.bytesReceived += summary.bytesFromClient;
    this.stats.bytesSent += summary.bytesToClient;
    if (summary.end === 'out_of_resources') {
      resourceErrors.record('connect', summary.error ?? 'unknown', this.log, { listener: summary.listener });
    } else if (summary.end === 'no_endpoint' || summary.end === 'connect_failed') {
      this.stats.rejectedTotal++;
      this.log.warn(
        { ...summary, cluster: this.cluster.name },
        'tcp connection rejected: no usable endpoint',
      );
    } else if (this.log.isLevelEnabled('info')) {
      this.connectionLog.write(summary);
    }
    if (this.sessions.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  };

  drain(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    for (const session of [...this.sessions]) session.cut();
  }
}
