import type { Endpoint } from '../core/endpoint.js';
import { LeastLoadedPicker } from './least-loaded.js';

/**
 * Least connections, weight-aware (IPVS wlc, nginx least_conn, HAProxy leastconn): the
 * fewest active connections per unit of weight, `active / weight`, ties in turn.
 */
export function leastConnectionsOrder(a: Endpoint, b: Endpoint): number {
  // Cross-multiplied to compare active/weight exactly, without division.
  return a.state.active * b.weight - b.state.active * a.weight;
}

export class LeastConnectionsPicker extends LeastLoadedPicker {
  constructor() {
    super(leastConnectionsOrder);
  }
}
