import type { Endpoint } from '../core/endpoint.js';
import { LeastLoadedPicker } from './least-loaded.js';

/**
 * Least connections, weight-aware (IPVS wlc, nginx least_conn, HAProxy leastconn): the
 * fewest active connections per unit of weight, `active / weight`, ties in turn.
 */
export function leastConnectionsLoad(endpoint: Endpoint): number {
  // Division is correctly rounded, so equal ratios (1/3, 2/6) give equal numbers and tie.
  return endpoint.state.active / endpoint.weight;
}

export class LeastConnectionsPicker extends LeastLoadedPicker {
  constructor() {
    super(leastConnectionsLoad);
  }
}
