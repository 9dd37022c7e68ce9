/**
 * Endpoints and their long-lived state.
 *
 * An `Endpoint` is an immutable value produced by discovery (address, weight, locality).
 * Its `state` is mutable and lives in `EndpointStateRegistry`, outside any config
 * generation, so health, active counts and counters survive hot reloads and
 * discovery refreshes for endpoints that still exist.
 */

/**
 * Reasons an endpoint may not take new traffic. Each reason is its own bit, written
 * only by the module that owns it, so clearing one reason never clears another.
 */
export const Unavailable = {
  /** The active health checker saw `unhealthyThreshold` failures in a row. */
  ActiveCheckFailed: 1 << 0,
  /** Passive outlier detection ejected it; cleared when the ejection expires. */
  OutlierEjected: 1 << 1,
  /** Discovery says not ready (e.g. Kubernetes `ready: false`). */
  DiscoveryNotReady: 1 << 2,
  /** Shutting down (Kubernetes `serving && terminating`): used only when nothing else is available. */
  Draining: 1 << 3,
} as const;

/** Every reason at once: the normal mask a picker is asked to respect. */
export const ALL_UNAVAILABLE_REASONS =
  Unavailable.ActiveCheckFailed |
  Unavailable.OutlierEjected |
  Unavailable.DiscoveryNotReady |
  Unavailable.Draining;

export function describeFlags(flags: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(Unavailable)) if (flags & bit) out.push(name);
  return out;
}

/** Locality labels; discovery fills them (Kubernetes nodeName/zone) or static config sets them. */
export interface Locality {
  readonly node?: string;
  readonly zone?: string;
}

/**
 * Told when an endpoint's `active` count changes, so a least-loaded picker can keep its
 * endpoints ordered by load instead of scanning them on every pick.
 */
export interface ActiveWatcher {
  activeChanged(state: EndpointState): void;
}

export class EndpointState {
  /** Bit set of `Unavailable` reasons; 0 means available. */
  flags = 0;
  #active = 0;
  /**
   * Weak so that a picker from a replaced config generation can be collected; a state
   * outlives generations and would otherwise keep every old picker alive.
   */
  /** Made by the first watcher: most endpoints never get one, and an empty array each adds up. */
  #watchers: WeakRef<ActiveWatcher>[] | undefined = undefined;
  connectionsTotal = 0;
  requestsTotal = 0;
  /** Connect failures, resets and (L7) 5xx answers. */
  failuresTotal = 0;
  bytesToUpstream = 0;
  bytesFromUpstream = 0;
  lastError: string | undefined = undefined;
  /** When this endpoint was first seen or last became available (for slow start). */
  availableSince: number;
  /**
   * Latency EWMA in milliseconds (0 = no sample yet), written by the balancing latency
   * observer for `least_request` with `latencyAware`.
   */
  latencyEwmaMs = 0;
  latencyUpdatedAt = 0;

  constructor(now = Date.now()) {
    this.availableSince = now;
  }

  /** Open connections (L4) or in-flight requests (L7) right now. */
  get active(): number {
    return this.#active;
  }

  set active(value: number) {
    this.#active = value;
    const watchers = this.#watchers;
    if (watchers === undefined) return;
    for (let i = 0; i < watchers.length; i++) {
      const watcher = watchers[i]!.deref();
      if (watcher) watcher.activeChanged(this);
      else watchers.splice(i--, 1);
    }
  }

  watchActive(watcher: ActiveWatcher): void {
    this.#watchers ??= [];
    this.#watchers.push(new WeakRef(watcher));
  }

  unwatchActive(watcher: ActiveWatcher): void {
    this.#watchers = this.#watchers?.filter((ref) => {
      const current = ref.deref();
      return current !== undefined && current !== watcher;
    });
  }

  /** `active` is an accessor, so it is added back for JSON (admin API, logs). */
  toJSON(): object {
    return { ...this, active: this.#active };
  }

  setFlag(bit: number, on: boolean, now = Date.now()): boolean {
    const before = this.flags;
    this.flags = on ? before | bit : before & ~bit;
    if (before !== 0 && this.flags === 0) this.availableSince = now;
    return before !== this.flags;
  }
}

export interface Endpoint {
  /** `host:port` (IPv6 hosts in brackets); unique within a cluster. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Relative share of traffic for weighted policies; >= 1. */
  readonly weight: number;
  readonly locality: Locality;
  readonly state: EndpointState;
}

/**
 * `host:port`, `[v6]:port`. Built with join, which makes one flat string: a template literal
 * of 13 characters or more makes a chain of rope nodes (about 64 bytes more), and ids live
 * as long as their endpoints — 100,000 of them with Kubernetes at scale.
 */
export function endpointId(host: string, port: number): string {
  return host.includes(':') ? [`[${host}]`, port].join(':') : [host, port].join(':');
}

/**
 * Owns every `EndpointState`, keyed by cluster name and endpoint id. A new config
 * generation or discovery snapshot acquires the state of an endpoint and gets the existing
 * one when the endpoint already existed. Each cluster that lists the endpoint holds one
 * reference; when the last one is released (the endpoint left discovery, or its
 * generation retired) the state is forgotten, so endpoint churn (Kubernetes pods coming
 * and going for weeks) does not grow memory. Connections still open on a forgotten
 * endpoint keep its state through their `Endpoint`.
 */
export class EndpointStateRegistry {
  private readonly entries = new Map<string, { state: EndpointState; holders: number }>();

  acquire(cluster: string, id: string): EndpointState {
    let entry = this.entries.get(`${cluster}\u0000${id}`);
    if (!entry) {
      entry = { state: new EndpointState(), holders: 0 };
      // The stored key is flat (see endpointId): it lives as long as the endpoint.
      this.entries.set([cluster, id].join('\u0000'), entry);
    }
    entry.holders++;
    return entry.state;
  }

  release(cluster: string, id: string): void {
    const key = `${cluster}\u0000${id}`; // a lookup only: no need for a flat string
    const entry = this.entries.get(key);
    if (entry && --entry.holders <= 0) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * One shared, frozen object per (node, zone): a node's endpoints all carry the same
   * locality, and an object per endpoint is about 50 bytes of 100,000 endpoints. Values
   * only, so forgetting the pool (when many nodes came and went) costs nothing but sharing.
   */
  locality(locality: Locality): Locality {
    // Two levels of Map, not a joined key: this runs for every endpoint of every snapshot.
    let zones = this.localities.get(locality.node);
    if (!zones) {
      if (this.localities.size >= MAX_SHARED_LOCALITIES) this.localities.clear();
      zones = new Map();
      this.localities.set(locality.node, zones);
    }
    let shared = zones.get(locality.zone);
    if (!shared) {
      shared = Object.freeze({
        ...(locality.node === undefined ? {} : { node: locality.node }),
        ...(locality.zone === undefined ? {} : { zone: locality.zone }),
      });
      zones.set(locality.zone, shared);
    }
    return shared;
  }

  /** By node, then zone (either may be undefined). */
  private readonly localities = new Map<string | undefined, Map<string | undefined, Locality>>();
}

const MAX_SHARED_LOCALITIES = 10_000;
