import type { Picker, PickContext } from '../balancing/picker.js';
import type { DiscoveredEndpoint } from '../discovery/source.js';
import {
  ALL_UNAVAILABLE_REASONS,
  type Endpoint,
  type EndpointStateRegistry,
  endpointId,
  Unavailable,
} from './endpoint.js';

/**
 * A named set of endpoints and the policy that picks among them. Discovery replaces the
 * endpoint list atomically (one assignment); a listener picks from whatever list is current.
 */
export class Cluster {
  private current: readonly Endpoint[] = [];
  /** Reasons that exclude an endpoint right now; health may relax it (panic mode). */
  excludeFlags: number = ALL_UNAVAILABLE_REASONS;

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
    const next: Endpoint[] = [];
    const seen = new Set<string>();
    for (const d of discovered) {
      const id = endpointId(d.host, d.port);
      if (seen.has(id)) continue;
      seen.add(id);
      const state = this.states.stateFor(this.name, id);
      state.setFlag(Unavailable.DiscoveryNotReady, d.ready === false);
      state.setFlag(Unavailable.Draining, d.terminating === true);
      const existing = this.current.find((e) => e.id === id);
      if (existing && existing.weight === d.weight && sameLocality(existing, d)) next.push(existing);
      else next.push({ id, host: d.host, port: d.port, weight: d.weight, locality: { ...d.locality }, state });
    }
    if (next.length === this.current.length && next.every((e, i) => e === this.current[i])) return false;
    this.current = next;
    return true;
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
}

function sameLocality(a: Endpoint, b: DiscoveredEndpoint): boolean {
  return a.locality.node === b.locality.node && a.locality.zone === b.locality.zone;
}
