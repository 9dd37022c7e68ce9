import type { Endpoint } from '../core/endpoint.js';
import { LeastLoadedPicker } from './least-loaded.js';
import { shortestExpectedDelayLoad } from './shortest-expected-delay.js';

/**
 * IPVS nq: an idle endpoint (no active connections) if there is one, otherwise the
 * shortest expected delay. Idle endpoints rank below every busy one (negative load), the
 * heavier first, then in turn.
 */
export function neverQueueLoad(endpoint: Endpoint): number {
  return endpoint.state.active === 0 ? -endpoint.weight : shortestExpectedDelayLoad(endpoint);
}

export class NeverQueuePicker extends LeastLoadedPicker {
  constructor() {
    super(neverQueueLoad);
  }
}
