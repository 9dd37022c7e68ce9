import type { ActiveWatcher, Endpoint, EndpointState } from '../core/endpoint.js';
import { EndpointHeap } from './endpoint-heap.js';
import type { PickContext, Picker } from './picker.js';

/** An endpoint's load; the lowest gets the next connection. Equal loads must give equal numbers. */
export type LoadFormula = (endpoint: Endpoint) => number;

/**
 * Picks the least loaded endpoint by a load formula (least connections, IPVS sed/nq), with
 * ties served in turn (the one picked longest ago first).
 *
 * Endpoints sit in a heap ordered by the formula. The proxies change `active` outside the
 * picker, so the picker watches each endpoint's state and re-sifts the one that changed:
 * O(log n) per change and per pick instead of a scan of every endpoint.
 */
export class LeastLoadedPicker implements Picker, ActiveWatcher {
  private seen: readonly Endpoint[] = [];
  private heap = new EndpointHeap(0);
  private readonly indexOfState = new Map<EndpointState, number>();
  private picks = 0;

  constructor(private readonly formula: LoadFormula) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) this.rebuild(endpoints);
    const index = this.heap.bestUsable(endpoints, context);
    if (index < 0) return undefined;
    this.heap.tie[index] = ++this.picks;
    this.heap.update(index);
    return endpoints[index];
  }

  activeChanged(state: EndpointState): void {
    const index = this.indexOfState.get(state);
    if (index === undefined) return;
    this.heap.key[index] = this.formula(this.seen[index]!);
    this.heap.update(index);
  }

  private rebuild(endpoints: readonly Endpoint[]): void {
    for (const endpoint of this.seen) endpoint.state.unwatchActive(this);
    this.indexOfState.clear();
    this.seen = endpoints;
    this.heap = new EndpointHeap(endpoints.length);
    this.picks = 0;
    endpoints.forEach((endpoint, i) => {
      this.heap.key[i] = this.formula(endpoint);
      this.indexOfState.set(endpoint.state, i);
      endpoint.state.watchActive(this);
    });
    this.heap.heapify();
  }
}
