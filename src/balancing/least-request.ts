import type { Endpoint } from '../core/endpoint.js';
import type { PickContext, Picker } from './picker.js';
import { type Random, randomUsable } from './random-usable.js';

export interface LeastRequestOptions {
  /** Multiply load by the endpoint's latency EWMA (needs a `LatencyObserver` on the cluster). */
  latencyAware?: boolean;
  random?: Random;
}

/**
 * Power of two choices (Envoy least_request, Linkerd): two random usable endpoints, the less
 * loaded wins. O(1), and unlike an exact least-connections scan it does not send a burst to
 * the one endpoint that happens to look idle. Load is `(active + 1) / weight`; with
 * `latencyAware` it is multiplied by the latency EWMA once both have one.
 */
export class LeastRequestPicker implements Picker {
  private readonly latencyAware: boolean;
  private readonly random: Random;

  constructor(options: LeastRequestOptions = {}) {
    this.latencyAware = options.latencyAware ?? false;
    this.random = options.random ?? Math.random;
  }

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    const first = randomUsable(endpoints, context, this.random);
    if (!first) return undefined;
    const second = randomUsable(endpoints, context, this.random, first);
    if (!second) return first;
    return this.cost(second, first) < 0 ? second : first;
  }

  /** Negative when `a` is cheaper than `b`. */
  private cost(a: Endpoint, b: Endpoint): number {
    let costA = (a.state.active + 1) * b.weight;
    let costB = (b.state.active + 1) * a.weight;
    const latencyA = a.state.latencyEwmaMs;
    const latencyB = b.state.latencyEwmaMs;
    if (this.latencyAware && latencyA > 0 && latencyB > 0) {
      costA *= latencyA;
      costB *= latencyB;
    }
    return costA - costB;
  }
}
