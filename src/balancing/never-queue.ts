import type { Endpoint } from '../core/endpoint.js';
import { LeastLoadedPicker } from './least-loaded.js';
import { shortestExpectedDelayOrder } from './shortest-expected-delay.js';

/**
 * IPVS nq: an idle endpoint (no active connections) if there is one, otherwise the
 * shortest expected delay. Among idle endpoints the heavier goes first, then in turn.
 */
export function neverQueueOrder(a: Endpoint, b: Endpoint): number {
  const aIdle = a.state.active === 0;
  const bIdle = b.state.active === 0;
  if (aIdle !== bIdle) return aIdle ? -1 : 1;
  return shortestExpectedDelayOrder(a, b);
}

export class NeverQueuePicker extends LeastLoadedPicker {
  constructor() {
    super(neverQueueOrder);
  }
}
