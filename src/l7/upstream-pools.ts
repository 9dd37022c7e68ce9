/**
 * Per-endpoint pools of upstream keep-alive connections (Portside's own HTTP/1.1
 * connections on raw sockets), bounded by `upstream.maxConnectionsPerEndpoint`: further
 * requests wait in a queue for the next free connection. One client address may hold (or
 * wait in the queue for) at most `upstream.maxConnectionsPerClient` of them; its further
 * requests are parked and join the back of the queue as its own connections free up, so
 * one client (stalled uploads, a flood) cannot take every connection from the others.
 * Owned by one HTTP handler; closed when it has drained. One timer per handler enforces
 * idle and body timeouts.
 */
import type { Endpoint } from '../core/endpoint.js';
import { type ConnectionPool, type TlsDialer, UpstreamConnection } from './h1/upstream-connection.js';
import { type UpstreamUser, upstreamError } from './h1/upstream-user.js';
import { H2EndpointPool } from './h2/upstream-pool.js';

export interface PoolSettings {
  connectTimeoutMs: number;
  maxConnections: number;
  /** Connections one client address may hold or wait for in one endpoint's pool. */
  maxConnectionsPerClient: number;
  idleTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Streams per HTTP/2 upstream connection at most (the peer's limit may be lower). */
  maxStreamsPerConnection: number;
}

/** How often pools with no connection and no request are dropped (endpoints discovery removed). */
const SWEEP_INTERVAL_MS = 60_000;
/** Granularity of the idle and body timeouts. */
const TICK_MS = 1000;

/** What one client address takes of one endpoint's pool. */
export class ClientShare {
  /** Connections it holds plus its requests in the pool's queue (at most the per-client limit). */
  taken = 0;
  /** Its requests over the limit, oldest first: they enter the queue as `taken` goes down. */
  readonly parked: UpstreamUser[] = [];
}

export class EndpointPool implements ConnectionPool {
  /** Idle connections, most recently used last (reused first: its socket is the warmest). */
  private readonly idle: UpstreamConnection[] = [];
  /** Requests waiting for a connection, oldest first, and (same index) their client's share. */
  private readonly waiting: UpstreamUser[] = [];
  private readonly waitingShares: ClientShare[] = [];
  /** By client address; forgotten by the sweep once a client holds and waits for nothing. */
  private readonly shares = new Map<string, ClientShare>();
  /**
   * Connections carrying a request or connecting, each knowing its slot (swap-remove):
   * a Set's add and delete on every request reallocated its table every few dozen.
   */
  private readonly busy: UpstreamConnection[] = [];
  /** Connections open or connecting. */
  open = 0;
  private closing = false;
  private onEmpty: (() => void) | undefined;

  constructor(
    readonly endpoint: Endpoint,
    readonly settings: PoolSettings,
    /** The cluster's TLS, when it originates TLS. */
    readonly tls?: PoolTls,
  ) {}

  /**
   * Gets `user` a connection: an idle one now, a new one once connected, or the next one
   * freed. Returns the connection unless `user` waits (in the queue, or parked behind it
   * when its client, `client` = its address, is at its share). `fresh` prefers a new
   * connection (after a reused one turned out closed, its idle siblings may be too). `now`
   * is `performance.now()`, read by the caller for its own timing too.
   */
  acquire(
    user: UpstreamUser,
    client: string,
    fresh = false,
    now = performance.now(),
  ): UpstreamConnection | undefined {
    let share = this.shares.get(client);
    if (share === undefined) {
      share = new ClientShare();
      this.shares.set(client, share);
    }
    if (share.taken >= this.settings.maxConnectionsPerClient) {
      share.parked.push(user);
      return undefined;
    }
    share.taken++;
    if (fresh && this.open < this.settings.maxConnections) return this.connect(user, share);
    let connection = this.idle.pop();
    if (connection !== undefined) {
      // The timer closes expired sockets once a second; the last second is checked here.
      while (connection !== undefined && now - connection.idleSince >= connection.idleLimitMs) {
        connection.close();
        connection = this.idle.pop();
      }
    }
    if (connection !== undefined) {
      this.markBusy(connection, share);
      connection.assign(user);
      return connection;
    }
    if (this.open < this.settings.maxConnections) return this.connect(user, share);
    this.waiting.push(user);
    this.waitingShares.push(share);
    return undefined;
  }

  /** Forgets a user still waiting for a connection (its client went away, or it timed out). */
  cancel(user: UpstreamUser, client: string): void {
    const i = this.waiting.indexOf(user);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      const share = this.waitingShares.splice(i, 1)[0]!;
      share.taken--;
      this.admitParked(share);
      return;
    }
    const parked = this.shares.get(client)?.parked;
    const j = parked?.indexOf(user) ?? -1;
    if (j >= 0) parked!.splice(j, 1);
  }

  /** Requests waiting for a connection, in the queue or parked (the admin API, tests). */
  get queued(): number {
    let parked = 0;
    for (const share of this.shares.values()) parked += share.parked.length;
    return this.waiting.length + parked;
  }

  /** A connection finished a request; reused for the next waiter or kept idle unless `reusable` is false. */
  release(connection: UpstreamConnection, reusable: boolean): void {
    this.unmarkBusy(connection);
    if (!reusable || this.closing) {
      connection.close();
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.markBusy(connection, this.waitingShares.shift()!);
      connection.assign(next);
      return;
    }
    connection.idleSince = performance.now();
    this.idle.push(connection);
  }

  /** A connection's socket closed. */
  closed(connection: UpstreamConnection): void {
    this.open--;
    this.unmarkBusy(connection);
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.waiting.length > 0 && !this.closing)
      this.connect(this.waiting.shift()!, this.waitingShares.shift()!);
    if (this.open === 0) this.onEmpty?.();
  }

  get empty(): boolean {
    return this.open === 0 && this.waiting.length === 0;
  }

  /** Idle timeout and body timeout, checked once a second. */
  tick(now: number): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const connection = this.idle[i]!;
      if (now - connection.idleSince >= connection.idleLimitMs) connection.close();
    }
    const stallTicks = Math.max(1, Math.ceil(this.settings.bodyTimeoutMs / TICK_MS));
    // Backwards: a connection leaving the list meanwhile is replaced by one already seen.
    for (let i = this.busy.length - 1; i >= 0; i--) {
      const connection = this.busy[i]!;
      if (connection.reads > 0 || !connection.stalling) {
        connection.reads = 0;
        connection.stalledTicks = 0;
      } else if (++connection.stalledTicks >= stallTicks) {
        connection.socket.destroy(upstreamError('PORTSIDE_BODY_TIMEOUT', 'the upstream stalled mid-body'));
      }
    }
  }

  /** Clients that hold and wait for nothing: their shares go (the handler's sweep). */
  forgetIdleClients(): void {
    for (const [client, share] of this.shares) if (share.taken === 0) this.shares.delete(client);
  }

  private connect(user: UpstreamUser, share: ClientShare): UpstreamConnection {
    this.open++;
    const connection = new UpstreamConnection(this, user);
    this.markBusy(connection, share);
    return connection;
  }

  /** `share`: the client the connection now serves (its `taken` already counts it). */
  private markBusy(connection: UpstreamConnection, share: ClientShare): void {
    if (connection.busySlot >= 0) return;
    connection.clientShare = share;
    connection.busySlot = this.busy.length;
    this.busy.push(connection);
  }

  private unmarkBusy(connection: UpstreamConnection): void {
    const slot = connection.busySlot;
    if (slot < 0) return;
    connection.busySlot = -1;
    const share = connection.clientShare as ClientShare;
    connection.clientShare = null;
    share.taken--;
    if (share.parked.length > 0) this.admitParked(share);
    const last = this.busy.pop()!;
    if (last === connection) return;
    this.busy[slot] = last;
    last.busySlot = slot;
  }

  /**
   * Parked requests of a client under its share again join the back of the queue, behind
   * other clients' requests (whoever frees a connection next serves the queue's head).
   */
  private admitParked(share: ClientShare): void {
    while (share.taken < this.settings.maxConnectionsPerClient && share.parked.length > 0) {
      share.taken++;
      this.waiting.push(share.parked.shift()!);
      this.waitingShares.push(share);
    }
  }

  /** Closes idle connections now and busy ones when their response ends. */
  close(): Promise<void> {
    this.closing = true;
    for (const connection of this.idle.splice(0)) connection.close();
    this.waitingShares.length = 0;
    const waiting = this.waiting.splice(0);
    for (const share of this.shares.values()) waiting.push(...share.parked.splice(0));
    for (const user of waiting)
      user.upstreamFailed(upstreamError('PORTSIDE_POOL_CLOSED', 'the proxy is shutting down'));
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => (this.onEmpty = resolve));
  }

  destroy(): void {
    void this.close();
    for (const connection of [...this.busy]) connection.close();
  }
}

/** A cluster's TLS as pools see it (src/tls/upstream-tls.ts): a dialer with an id to key pools by. */
export type PoolTls = TlsDialer & { readonly id: number };

export class UpstreamPools {
  private readonly pools = new Map<string, EndpointPool>();
  private readonly h2Pools = new Map<string, H2EndpointPool>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly ticker: NodeJS.Timeout;

  constructor(private readonly settings: PoolSettings) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    this.ticker = setInterval(() => this.tick(), TICK_MS).unref();
  }

  /**
   * The endpoint's HTTP/1.1 connections; `tls`: its cluster's, when it originates TLS. A
   * pool speaks one TLS config: a reload that changes it gets new pools (keyed by its id).
   */
  get(endpoint: Endpoint, tls?: PoolTls): EndpointPool {
    const key = tls === undefined ? endpoint.id : `${endpoint.id}\u0000tls${tls.id}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new EndpointPool(endpoint, this.settings, tls);
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** The endpoint's HTTP/2 connections (a cluster with `upstreamProtocol: http2`). */
  getH2(endpoint: Endpoint, tls?: PoolTls): H2EndpointPool {
    const key = tls === undefined ? endpoint.id : `${endpoint.id}\u0000tls${tls.id}`;
    let pool = this.h2Pools.get(key);
    if (pool === undefined) {
      const s = this.settings;
      const settings = {
        connectTimeoutMs: s.connectTimeoutMs,
        idleTimeoutMs: s.idleTimeoutMs,
        maxStreams: s.maxStreamsPerConnection,
        maxConnections: s.maxConnections,
      };
      pool = new H2EndpointPool(endpoint, settings, tls);
      this.h2Pools.set(key, pool);
    }
    return pool;
  }

  get size(): number {
    return this.pools.size + this.h2Pools.size;
  }

  /** Drops pools that hold nothing: their keep-alive sockets timed out and no request waits. */
  sweep(): void {
    for (const [id, pool] of this.pools) {
      if (pool.empty) this.pools.delete(id);
      else pool.forgetIdleClients();
    }
    for (const [id, pool] of this.h2Pools) if (pool.open === 0 && pool.queued === 0) this.h2Pools.delete(id);
  }

  private tick(): void {
    const now = performance.now();
    for (const pool of this.pools.values()) pool.tick(now);
  }

  /** Lets in-flight requests finish, then closes every connection. */
  async close(): Promise<void> {
    this.stopTimers();
    const pools = [...this.pools.values()];
    const h2 = [...this.h2Pools.values()];
    this.pools.clear();
    this.h2Pools.clear();
    await Promise.all([...pools.map((p) => p.close()), ...h2.map((p) => p.close(false))]);
  }

  /** Cuts every connection now. */
  destroy(): void {
    this.stopTimers();
    for (const pool of this.pools.values()) pool.destroy();
    for (const pool of this.h2Pools.values()) void pool.close(true);
    this.pools.clear();
    this.h2Pools.clear();
  }

  private stopTimers(): void {
    clearInterval(this.sweeper);
    clearInterval(this.ticker);
  }
}

/**
 * Keeps each HTTP listener's pools across reloads, so keep-alive connections to upstreams
 * outlive a generation swap: a reload's new handler gets the pools of the handler it
 * replaces when the listener's name and upstream settings are unchanged. Held by the proxy;
 * each handler holds its pools once and lets go when it has drained; the last one out
 * closes them.
 */
export class UpstreamPoolOwner {
  private readonly entries = new Map<string, { pools: UpstreamPools; holders: number }>();

  acquire(listener: string, settings: PoolSettings): UpstreamPools {
    const key = `${listener}\u0000${JSON.stringify(settings)}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { pools: new UpstreamPools(settings), holders: 0 };
      this.entries.set(key, entry);
    }
    entry.holders++;
    return entry.pools;
  }

  /** One holder lets go; the last closes the pools (lets in-flight requests finish), or cuts them. */
  release(pools: UpstreamPools, cut = false): Promise<void> {
    for (const [key, entry] of this.entries) {
      if (entry.pools !== pools) continue;
      if (--entry.holders > 0) return Promise.resolve();
      this.entries.delete(key);
      if (!cut) return pools.close();
      pools.destroy();
      return Promise.resolve();
    }
    return Promise.resolve();
  }

  /** Listeners' pools held now. */
  get size(): number {
    return this.entries.size;
  }
}
