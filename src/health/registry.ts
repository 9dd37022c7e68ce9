/**
 * Health memory that must outlive a config generation: threshold counters of the active
 * checker and the ejection history of outlier detection. Keyed like `EndpointStateRegistry`
 * (cluster name + endpoint id) and held next to it by whatever owns the generations, so a
 * reload neither forgets an ejection nor resets how many times an endpoint was ejected.
 */
import type { Endpoint, EndpointState } from '../core/endpoint.js';

export interface ActiveCheckMemory {
  consecutiveSuccesses: number;
  consecutiveFailures: number;
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
  /** The endpoint state this memory belongs to: a re-created state starts a fresh memory. */
  readonly state: EndpointState;
  readonly active: ActiveCheckMemory;
  readonly outlier: OutlierMemory;
}

export class HealthRegistry {
  private readonly memories = new Map<string, HealthMemory>();

  memoryFor(cluster: string, endpoint: Endpoint): HealthMemory {
    const key = `${cluster}\u0000${endpoint.id}`;
    const existing = this.memories.get(key);
    // If the endpoint's state was dropped and made anew, so is its health history.
    if (existing && existing.state === endpoint.state) return existing;
    const memory: HealthMemory = {
      state: endpoint.state,
      active: { consecutiveSuccesses: 0, consecutiveFailures: 0 },
      outlier: { consecutiveFailures: 0, timesEjected: 0, ejectedUntil: undefined, returnedAt: undefined },
    };
    this.memories.set(key, memory);
    return memory;
  }

  /** Forget endpoints the live generation no longer has (call with EndpointStateRegistry.retainOnly). */
  retainOnly(live: Iterable<{ cluster: string; id: string }>): void {
    const keep = new Set<string>();
    for (const { cluster, id } of live) keep.add(`${cluster}\u0000${id}`);
    for (const key of this.memories.keys()) if (!keep.has(key)) this.memories.delete(key);
  }

  get size(): number {
    return this.memories.size;
  }
}
