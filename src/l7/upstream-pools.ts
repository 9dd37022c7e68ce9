/**
 * One undici `Pool` per upstream endpoint: keep-alive connections bounded by
 * `upstream.maxConnectionsPerEndpoint` (further requests queue inside the pool).
 * Owned by one HTTP handler; closed when it has drained.
 */
import { Pool } from 'undici';
import type { Endpoint } from '../core/endpoint.js';

export interface PoolSettings {
  connectTimeoutMs: number;
  maxConnections: number;
  idleTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** How often pools with no connection and no request are dropped (endpoints discovery removed). */
const SWEEP_INTERVAL_MS = 60_000;

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly settings: PoolSettings) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  get(endpoint: Endpoint): Pool {
    let pool = this.pools.get(endpoint.id);
    if (pool === undefined) {
      pool = new Pool(`http://${endpoint.id}`, {
        connections: this.settings.maxConnections,
        connectTimeout: this.settings.connectTimeoutMs,
        keepAliveTimeout: this.settings.idleTimeoutMs,
        keepAliveMaxTimeout: Math.max(this.settings.idleTimeoutMs, 1000),
        // The route's timeout is enforced by the exchange; per-try limits are set per request.
        headersTimeout: 0,
        bodyTimeout: this.settings.bodyTimeoutMs,
        pipelining: 1,
      });
      // Connect errors also reach the request that triggered them; this only keeps the
      // pool's own event from being unhandled.
      pool.on('connectionError', noop);
      const state = endpoint.state;
      pool.on('connect', () => {
        state.connectionsTotal++;
      });
      this.pools.set(endpoint.id, pool);
    }
    return pool;
  }

  get size(): number {
    return this.pools.size;
  }

  /** Drops pools that hold nothing: their keep-alive sockets timed out and no request waits. */
  sweep(): void {
    for (const [id, pool] of this.pools) {
      const stats = pool.stats;
      if (stats.connected === 0 && stats.size === 0) {
        this.pools.delete(id);
        pool.close().catch(noop);
      }
    }
  }

  /** Lets in-flight requests finish, then closes every connection. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  /** Cuts every connection now. */
  destroy(): void {
    clearInterval(this.sweeper);
    for (const pool of this.pools.values()) pool.destroy().catch(noop);
    this.pools.clear();
  }
}

function noop(): void {}
