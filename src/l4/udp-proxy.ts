import type { RemoteInfo } from 'node:dgram';
import type { Cluster } from '../core/cluster.js';
import type { Logger } from '../core/log.js';
import { resourceErrors } from '../listeners/resource-errors.js';
import type { DatagramHandler, DropReason, UdpListener } from '../listeners/udp-listener.js';
import { type UdpEnd, UdpSession, type UdpSessionOwner } from './udp-session.js';

/** Ticks per timeout: a session ends between 1 and 1 + 1/TICKS idle timeouts after its last datagram. */
const TICKS_PER_TIMEOUT = 4;
/** At most one "no usable endpoint" warning per listener per this long; drops are counted anyway. */
const WARN_INTERVAL_MS = 1000;

export interface UdpProxySettings {
  listener: string;
  idleTimeoutMs: number;
  maxSessions: number;
  /** Unset: no answer is expected, so none counts for or against an endpoint. */
  replyTimeoutMs: number | undefined;
  /** Whether every session is logged when it ends. */
  logsEachSession: () => boolean;
}

/**
 * The UDP handler of one listener in one config generation: a session per client address
 * and port, in one map. One clock per handler (not a timer per session) ends idle sessions
 * and counts unanswered datagrams: it ticks only while sessions are open, and each tick
 * looks at every session, which costs a few microseconds per thousand sessions.
 */
export class UdpProxyHandler implements DatagramHandler, UdpSessionOwner {
  tick = 0;
  readonly replyTimeoutTicks: number | undefined;
  private readonly sessions = new Map<string, UdpSession>();
  private readonly tickMs: number;
  private readonly idleTicks: number;
  private timer: NodeJS.Timeout | undefined;
  private opening = true;
  private lastWarnAt = 0;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(
    private readonly settings: UdpProxySettings,
    readonly cluster: Cluster,
    readonly listener: Pick<UdpListener, 'socket' | 'stats'>,
    private readonly log: Logger,
  ) {
    const { idleTimeoutMs, replyTimeoutMs } = settings;
    this.tickMs = Math.max(
      1,
      Math.ceil(Math.min(idleTimeoutMs, replyTimeoutMs ?? idleTimeoutMs) / TICKS_PER_TIMEOUT),
    );
    this.idleTicks = Math.ceil(idleTimeoutMs / this.tickMs);
    this.replyTimeoutTicks =
      replyTimeoutMs === undefined ? undefined : Math.ceil(replyTimeoutMs / this.tickMs);
  }

  get openConnections(): number {
    return this.sessions.size;
  }

  receive(datagram: Buffer, client: RemoteInfo): void {
    const key = `${client.address}|${client.port}`;
    const session = this.sessions.get(key);
    if (session) {
      session.fromClient(datagram);
      return;
    }
    if (!this.opening) {
      this.dropped('draining');
      return;
    }
    if (this.sessions.size >= this.settings.maxSessions) {
      this.dropped('session_limit');
      return;
    }
    const opened = new UdpSession(client, this);
    // With no usable endpoint there is no session: the next datagram tries again.
    if (!opened.fromClient(datagram)) return;
    this.sessions.set(key, opened);
    this.listener.stats.connectionsTotal++;
    this.startClock();
  }

  dropped(reason: DropReason, count = 1): void {
    this.listener.stats.dropped[reason] += count;
    if (reason !== 'no_endpoint') return;
    this.listener.stats.rejectedTotal += count;
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_INTERVAL_MS) return;
    this.lastWarnAt = now;
    this.log.warn(
      { listener: this.settings.listener, cluster: this.cluster.name, dropped: this.listener.stats.dropped },
      'udp datagram dropped: no usable endpoint',
    );
  }

  outOfResources(code: string): void {
    resourceErrors.record('connect', code, this.log, { listener: this.settings.listener });
  }

  stopOpening(): void {
    this.opening = false;
  }

  drain(): Promise<void> {
    this.opening = false;
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    for (const [key, session] of this.sessions) this.end(key, session, 'drain_cut');
  }

  /** A reload: the next generation takes every session as it is (same listener socket). */
  handOver(successor: DatagramHandler): Promise<void> | undefined {
    if (!(successor instanceof UdpProxyHandler) || successor.listener !== this.listener) return undefined;
    for (const [key, session] of this.sessions) successor.adopt(key, session);
    this.sessions.clear();
    this.stopClock();
    return Promise.resolve();
  }

  private adopt(key: string, session: UdpSession): void {
    session.adoptedBy(this);
    this.sessions.set(key, session);
    this.startClock();
  }

  private startClock(): void {
    this.timer ??= setInterval(this.onTick, this.tickMs);
  }

  private stopClock(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly onTick = (): void => {
    const tick = ++this.tick;
    for (const [key, session] of this.sessions) {
      if (session.onTick(tick, this.idleTicks)) this.end(key, session, 'idle_timeout');
    }
  };

  private end(key: string, session: UdpSession, end: UdpEnd): void {
    this.sessions.delete(key);
    const summary = session.finish(end, this.settings.listener);
    if (this.settings.logsEachSession()) this.log.info(summary, 'udp session');
    if (this.sessions.size > 0) return;
    this.stopClock();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
