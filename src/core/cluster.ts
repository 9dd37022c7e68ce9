import type { PickContext, Picker } from '../balancing/picker.js';
import type { DiscoveredEndpoint } from '../discovery/source.js';
import type { UpstreamTls } from '../tls/upstream-tls.js';
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
/** What a success's latency measured: a TCP connect (L4), or an answer (L7 response head, UDP reply). */
export type LatencyPhase = 'connect' | 'response';

export interface OutcomeObserver {
  success(endpoint: Endpoint, latencyMs: number, phase: LatencyPhase): void;
  failure(endpoint: Endpoint, reason: string): void;
}

/**
 * Writes one availability reason of an endpoint. The cluster manager gives each cluster
 * the cluster's health reporter, so discovery readiness, active checks and outlier
 * ejection share one writer (event, log line, panic re-check). A bare cluster (tests,
 * tools) sets the bit and says nothing.
 */
export interface AvailabilityWriter {
  /** `joined`: the endpoint appeared in this very snapshot (its first flags are not news). */
  set(endpoint: Endpoint, bit: number, on: boolean, reason: string, at?: number, joined?: boolean): boolean;
  /** Runs `apply`, then re-checks what depends on availability (panic mode) once, not per change. */
  batch(apply: () => void): void;
}

const silentWriter: AvailabilityWriter = {
  set: (endpoint, bit, on, _reason, at) => endpoint.state.setFlag(bit, on, at),
  batch: (apply) => apply(),
};

/**
 * A named set of endpoints and the policy that picks among them. Discovery replaces the
 * endpoint list atomically (one assignment); a listener picks from whatever list is current.
 * The cluster manager keeps one per cluster name across reloads and swaps its picker when
 * the cluster's `balancing` changes.
 */
export class Cluster {
  private current: readonly Endpoint[] = [];
  private currentById = new Map<string, Endpoint>();
  /** Set when the cluster's generation retired: its endpoint states are released. */
  private released = false;
  /** Reasons that exclude an endpoint right now; health may relax it (panic mode). */
  excludeFlags: number = ALL_UNAVAILABLE_REASONS;
  /** What HTTP listeners speak to its endpoints (`upstreamProtocol`), set at each config swap. */
  upstreamProtocol: 'http1' | 'http2' | 'auto' = 'auto';
  /** Its `tls:` (originate TLS to the endpoints), set at each config swap; undefined: plain TCP. */
  tls: UpstreamTls | undefined;
  /** Set by health (outlier detection) and balancing; called by the L4 and L7 proxies. */
  readonly observers: OutcomeObserver[] = [];

  constructor(
    readonly name: string,
    private picker: Picker,
    private readonly states: EndpointStateRegistry,
    private readonly availability: AvailabilityWriter = silentWriter,
  ) {}

  /** A reload changed the cluster's `balancing`: picks from now on use `picker`. */
  replacePicker(picker: Picker): void {
    this.picker = picker;
  }

  get endpoints(): readonly Endpoint[] {
    return this.current;
  }

  /**
   * Applies a discovery snapshot: the endpoint list, then each endpoint's discovery reasons
   * (not ready, terminating) through the availability writer. Returns false when the list
   * itself (members, weights, localities) equals the current one.
   */
  setEndpoints(discovered: readonly DiscoveredEndpoint[]): boolean {
    if (this.released) return false;
    const next: Endpoint[] = [];
    const nextById = new Map<string, Endpoint>();
    const readiness: DiscoveredEndpoint[] = [];
    const joined = new Set<string>();
    for (const d of discovered) {
      const id = endpointId(d.host, d.port);
      if (nextById.has(id)) continue;
      const existing = this.currentById.get(id);
      if (!existing) joined.add(id);
      const state = existing?.state ?? this.states.acquire(this.name, id);
      const endpoint =
        existing && existing.weight === d.weight && sameLocality(existing, d)
          ? existing
          : {
              id,
              host: d.host,
              port: d.port,
              weight: d.weight,
              locality: this.states.locality(d.locality),
              state,
            };
      next.push(endpoint);
      readiness.push(d);
      nextById.set(id, endpoint);
    }
    for (const id of this.currentById.keys()) if (!nextById.has(id)) this.states.release(this.name, id);
    this.currentById = nextById;
    const changed = !(next.length === this.current.length && next.every((e, i) => e === this.current[i]));
    if (changed) this.current = next;
    // After the list: a panic re-check counts the endpoints this snapshot left.
    this.availability.batch(() => {
      for (let i = 0; i < next.length; i++) {
        const endpoint = next[i]!;
        const d = readiness[i]!;
        const fresh = joined.has(endpoint.id);
        const notReady = d.ready === false;
        const terminating = d.terminating === true;
        const w = this.availability;
        w.set(
          endpoint,
          Unavailable.DiscoveryNotReady,
          notReady,
          notReady ? 'discovery: not ready' : 'discovery: ready',
          undefined,
          fresh,
        );
        w.set(
          endpoint,
          Unavailable.Draining,
          terminating,
          terminating ? 'discovery: terminating' : 'discovery: serving',
          undefined,
          fresh,
        );
      }
    });
    return changed;
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

  reportSuccess(endpoint: Endpoint, latencyMs: number, phase: LatencyPhase = 'response'): void {
    for (const observer of this.observers) observer.success(endpoint, latencyMs, phase);
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
