import type { PickContext, Picker } from '../balancing/picker.js';
import type { DiscoveredEndpoint } from '../discovery/source.js';
import {
  ALL_UNAVAILABLE_REASONS,
  type Endpoint,
  type EndpointStateRegistry,
  endpointId,
  Unavailable,
} from './endpoint.js';

/**
 * Told the outcome of every real connection or request, for passive health (outlier
 * detection) and latency-aware balancing. Implementations must be cheap and never throw.
 */
export interface OutcomeObserver {
  success(endpoint: Endpoint, latencyMs: number): void;
  failure(endpoint: Endpoint, reason: string): void;
}

/**
 * A named set of endpoints and the policy that picks among them. Discovery replaces the
 * endpoint list atomically (one assignment); a listener picks from whatever list is current.
 */
export class Cluster {
  private current: readonly Endpoint[] = [];
  private currentById = new Map<string, Endpoint>();
  /** Set when the cluster's generation retired: its endpoint states are released. */
  private released = false;
  /** Reasons that exclude an endpoint right now; health may relax it (panic mode). */
  excludeFlags: number = ALL_UNAVAILABLE_REASONS;
  /** Set by health (outlier detection) and balancing; called by the L4 and L7 proxies. */
  readonly observers: OutcomeObserver[] = [];

  constructor(
    readonly name: string,
    private readonly picker: Picker,
    private readonly states: EndpointStateRegistry,
  ) {}

  get endpoints(): readonly Endpoint[] {
    return this.current;
  }

  /** Applies a discovery snapshot. Returns false (and changes nothing) when it equals the current one. */
  setEndpoints(discovered: readonly DiscoveredEndpoint[]): boolean {
    if (this.released) return false;
    const next: Endpoint[] = [];
    const nextById = new Map<string, Endpoint>();
    for (const d of discovered) {
      const id = endpointId(d.host, d.port);
      if (nextById.has(id)) continue;
      const existing = this.currentById.get(id);
      const state = existing?.state ?? this.states.acquire(this.name, id);
      state.setFlag(Unavailable.DiscoveryNotReady, d.ready === false);
      state.setFlag(Unavailable.Draining, d.terminating === true);
      const endpoint =
        existing && existing.weight === d.weight && sameLocality(existing, d)
          ? existing
          : { id, host: d.host, port: d.port, weight: d.weight, locality: { ...d.locality }, state };
      next.push(endpoint);
      nextById.set(id, endpoint);
    }
    for (const id of this.currentById.keys()) if (!nextById.has(id)) this.states.release(this.name, id);
    this.currentById = nextById;
    if (next.length === this.current.length && next.every((e, i) => e === this.current[i])) return false;
    this.current = next;
    return true;
  }

  /**
   * The generation retired: release the endpoint states this cluster holds. The endpoint
   * list stays, for connections of the old generation that still pick (connect failover).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const id of this.currentById.keys()) this.states.release(this.name, id);
  }

  /**
   * Picks an endpoint for one connection or request. Draining endpoints serve only when
   * nothing else can (as kube-proxy does with terminating endpoints).
   */
  pick(context: PickContext): Endpoint | undefined {
    const exclude = context.excludeFlags ?? this.excludeFlags;
    context.excludeFlags = exclude;
    const endpoint = this.picker.pick(this.current, context);
    if (endpoint || (exclude & Unavailable.Draining) === 0) return endpoint;
    context.excludeFlags = exclude & ~Unavailable.Draining;
    return this.picker.pick(this.current, context);
  }

  reportSuccess(endpoint: Endpoint, latencyMs: number): void {
    for (const observer of this.observers) observer.success(endpoint, latencyMs);
  }

  /** `reason` is a short code: connect-refused, connect-timeout, reset, http-503, ... */
  reportFailure(endpoint: Endpoint, reason: string): void {
    endpoint.state.failuresTotal++;
    endpoint.state.lastError = reason;
    for (const observer of this.observers) observer.failure(endpoint, reason);
  }
}

function sameLocality(a: Endpoint, b: DiscoveredEndpoint): boolean {
  return a.locality.node === b.locality.node && a.locality.zone === b.locality.zone;
}
