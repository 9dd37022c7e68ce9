/**
 * Health memory that must outlive a config generation: threshold counters of the active
 * checker and the ejection history of outlier detection. Keyed by the endpoint's
 * `EndpointState` (which `EndpointStateRegistry` keys by cluster name + endpoint id), so it
 * lives exactly as long as that state: a reload neither forgets an ejection nor resets how
 * many times an endpoint was ejected, and an endpoint that is gone for good is forgotten
 * with its state, without a second registry to prune.
 */
import type { Endpoint, EndpointState } from '../core/endpoint.js';

export interface ActiveCheckMemory {
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /**
   * Some checker has recorded a result for this endpoint. Until then the first result
   * decides at once (as Envoy does at startup); after, a checker that replaces another
   * (a reload changed the health config) goes on counting toward the thresholds.
   */
  checked: boolean;
}

export interface OutlierMemory {
  consecutiveFailures: number;
  /** How many times ejected; sets the next ejection's length, decays while the endpoint behaves. */
  timesEjected: number;
  /** Epoch ms when the current ejection ends; undefined when not ejected. */
  ejectedUntil: number | undefined;
  /** Epoch ms when the last ejection ended. */
  returnedAt: number | undefined;
}

export interface HealthMemory {
  readonly active: ActiveCheckMemory;
  readonly outlier: OutlierMemory;
}

/** Held by the proxy beside its EndpointStateRegistry and shared by every generation. */
export class HealthRegistry {
  private readonly memories = new WeakMap<EndpointState, HealthMemory>();

  memoryFor(endpoint: Endpoint): HealthMemory {
    let memory = this.memories.get(endpoint.state);
    if (!memory) {
      memory = {
        active: { consecutiveSuccesses: 0, consecutiveFailures: 0, checked: false },
        outlier: { consecutiveFailures: 0, timesEjected: 0, ejectedUntil: undefined, returnedAt: undefined },
      };
      this.memories.set(endpoint.state, memory);
    }
    return memory;
  }
}
