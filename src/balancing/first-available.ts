import type { Endpoint } from '../core/endpoint.js';
import { leastConnectionsLoad } from './least-connections.js';
import { isUsable, type PickContext, type Picker } from './picker.js';

export interface FirstAvailableOptions {
  /** `weight`: heaviest first, ties in listed order (IPVS fo, ovf); `listed`: as discovery lists them (HAProxy first). */
  order: 'weight' | 'listed';
  /**
   * Move on from an endpoint once its active connections reach its weight (IPVS ovf; HAProxy
   * first with the weight as maxconn). When every usable endpoint is full, the least loaded
   * (`active / weight`) one takes the connection: Portside does not refuse it as IPVS does.
   */
  fillToWeight: boolean;
}

/**
 * The first usable endpoint in a fixed order: IPVS fo (failover to the next heaviest),
 * IPVS ovf and HAProxy first (fill one endpoint, then the next, so idle ones can be
 * scaled down). The order is computed once per endpoint array; a pick walks it from the
 * start, past unusable and (with `fillToWeight`) full endpoints.
 */
export class FirstAvailablePicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private order = new Uint32Array(0);

  constructor(private readonly options: FirstAvailableOptions) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) this.rebuild(endpoints);
    const order = this.order;
    const fill = this.options.fillToWeight;
    let fallback: Endpoint | undefined;
    for (let k = 0; k < order.length; k++) {
      const endpoint = endpoints[order[k]!]!;
      if (!isUsable(endpoint, context)) continue;
      if (!fill || endpoint.state.active < endpoint.weight) return endpoint;
      if (fallback === undefined || leastConnectionsLoad(endpoint) < leastConnectionsLoad(fallback))
        fallback = endpoint;
    }
    return fallback;
  }

  private rebuild(endpoints: readonly Endpoint[]): void {
    this.seen = endpoints;
    const order = endpoints.map((_, i) => i);
    // Array sort is stable: equal weights keep their listed order.
    if (this.options.order === 'weight') order.sort((a, b) => endpoints[b]!.weight - endpoints[a]!.weight);
    this.order = Uint32Array.from(order);
  }
}
