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

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly settings: PoolSettings) {}

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
      this.pools.set(endpoint.id, pool);
    }
    return pool;
  }

  get size(): number {
    return this.pools.size;
  }

  /** Lets in-flight requests finish, then closes every connection. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  /** Cuts every connection now. */
  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy().catch(noop);
    this.pools.clear();
  }
}

function noop(): void {}
