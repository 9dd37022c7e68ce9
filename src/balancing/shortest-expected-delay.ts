import type { Endpoint } from '../core/endpoint.js';
import { LeastLoadedPicker } from './least-loaded.js';

/**
 * IPVS sed: the smallest expected delay `(active + 1) / weight`, i.e. counting the new
 * connection itself, so a heavy endpoint wins over an idle light one sooner than with wlc.
 */
export function shortestExpectedDelayLoad(endpoint: Endpoint): number {
  return (endpoint.state.active + 1) / endpoint.weight;
}

export class ShortestExpectedDelayPicker extends LeastLoadedPicker {
  constructor() {
    super(shortestExpectedDelayLoad);
  }
}
