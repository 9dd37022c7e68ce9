import type { Endpoint } from '../core/endpoint.js';
import { LeastLoadedPicker } from './least-loaded.js';

/**
 * IPVS sed: the smallest expected delay `(active + 1) / weight`, i.e. counting the new
 * connection itself, so a heavy endpoint wins over an idle light one sooner than with wlc.
 */
export function shortestExpectedDelayOrder(a: Endpoint, b: Endpoint): number {
  return (a.state.active + 1) * b.weight - (b.state.active + 1) * a.weight;
}

export class ShortestExpectedDelayPicker extends LeastLoadedPicker {
  constructor() {
    super(shortestExpectedDelayOrder);
  }
}
