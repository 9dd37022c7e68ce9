import type { ActiveWatcher, Endpoint, EndpointState } from '../core/endpoint.js';
import { isUsable, type PickContext, type Picker } from './picker.js';

/** An endpoint's load; the lowest gets the next connection. Equal loads must give equal numbers. */
export type LoadFormula = (endpoint: Endpoint) => number;

/**
 * Picks the least loaded endpoint by a load formula (least connections, IPVS sed/nq), with
 * ties served in turn (the one picked longest ago first).
 *
 * Endpoints sit in a binary min-heap ordered by the formula. The proxies change `active`
 * outside the picker, so the picker watches each endpoint's state and re-sifts the one that
 * changed: O(log n) per change and per pick instead of a scan of every endpoint. Unusable
 * endpoints stay in the heap; a pick walks the heap best-first past them.
 */
export class LeastLoadedPicker implements Picker, ActiveWatcher {
  private seen: readonly Endpoint[] = [];
  /** Endpoint indexes in heap order. */
  private heap = new Int32Array(0);
  /** Endpoint index → its slot in `heap`. */
  private slot = new Int32Array(0);
  /** Endpoint index → its load, recomputed when its active count changes. */
  private load = new Float64Array(0);
  /** Endpoint index → pick sequence number of its last pick, for ties in turn. */
  private lastPicked = new Float64Array(0);
  private readonly indexOfState = new Map<EndpointState, number>();
  private picks = 0;
  /** Reused best-first frontier of heap slots (no allocation per pick). */
  private readonly frontier: number[] = [];

  constructor(private readonly formula: LoadFormula) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) this.rebuild(endpoints);
    const index = this.bestUsable(context);
    if (index < 0) return undefined;
    this.lastPicked[index] = ++this.picks;
    this.siftDown(this.slot[index]!);
    return endpoints[index];
  }

  activeChanged(state: EndpointState): void {
    const index = this.indexOfState.get(state);
    if (index === undefined) return;
    this.load[index] = this.formula(this.seen[index]!);
    const slot = this.slot[index]!;
    if (!this.siftUp(slot)) this.siftDown(slot);
  }

  private rebuild(endpoints: readonly Endpoint[]): void {
    for (const endpoint of this.seen) endpoint.state.unwatchActive(this);
    this.indexOfState.clear();
    this.seen = endpoints;
    const n = endpoints.length;
    this.heap = new Int32Array(n);
    this.slot = new Int32Array(n);
    this.load = new Float64Array(n);
    this.lastPicked = new Float64Array(n);
    this.picks = 0;
    for (let i = 0; i < n; i++) {
      const state = endpoints[i]!.state;
      this.heap[i] = i;
      this.load[i] = this.formula(endpoints[i]!);
      this.slot[i] = i;
      // Before any pick, ties go in array order.
      this.lastPicked[i] = i - n;
      this.indexOfState.set(state, i);
      state.watchActive(this);
    }
    for (let s = (n >>> 1) - 1; s >= 0; s--) this.siftDown(s);
  }

  /** Best-first walk of the heap: O(k log k) when the k best endpoints are unusable. */
  private bestUsable(context: PickContext): number {
    const heap = this.heap;
    if (heap.length === 0) return -1;
    const frontier = this.frontier;
    frontier.length = 0;
    frontier.push(0);
    while (frontier.length > 0) {
      const slot = this.popFrontier();
      const index = heap[slot]!;
      if (isUsable(this.seen[index]!, context)) return index;
      const left = 2 * slot + 1;
      if (left < heap.length) this.pushFrontier(left);
      if (left + 1 < heap.length) this.pushFrontier(left + 1);
    }
    return -1;
  }

  private before(i: number, j: number): boolean {
    const li = this.load[i]!;
    const lj = this.load[j]!;
    return li !== lj ? li < lj : this.lastPicked[i]! < this.lastPicked[j]!;
  }

  private siftUp(start: number): boolean {
    const heap = this.heap;
    let s = start;
    while (s > 0) {
      const parent = (s - 1) >>> 1;
      if (!this.before(heap[s]!, heap[parent]!)) break;
      this.swap(s, parent);
      s = parent;
    }
    return s !== start;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    let s = start;
    for (;;) {
      const left = 2 * s + 1;
      if (left >= n) return;
      let best = left;
      if (left + 1 < n && this.before(heap[left + 1]!, heap[left]!)) best = left + 1;
      if (!this.before(heap[best]!, heap[s]!)) return;
      this.swap(s, best);
      s = best;
    }
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const ia = heap[a]!;
    const ib = heap[b]!;
    heap[a] = ib;
    heap[b] = ia;
    this.slot[ib] = a;
    this.slot[ia] = b;
  }

  // The frontier is itself a small binary heap of slots, ordered like the main heap.
  private pushFrontier(slot: number): void {
    const frontier = this.frontier;
    frontier.push(slot);
    let s = frontier.length - 1;
    while (s > 0) {
      const parent = (s - 1) >>> 1;
      if (!this.before(this.heap[frontier[s]!]!, this.heap[frontier[parent]!]!)) break;
      const moved = frontier[s]!;
      frontier[s] = frontier[parent]!;
      frontier[parent] = moved;
      s = parent;
    }
  }

  private popFrontier(): number {
    const frontier = this.frontier;
    const top = frontier[0]!;
    const last = frontier.pop()!;
    if (frontier.length === 0) return top;
    frontier[0] = last;
    let s = 0;
    for (;;) {
      const left = 2 * s + 1;
      if (left >= frontier.length) break;
      let best = left;
      const right = left + 1;
      if (right < frontier.length && this.before(this.heap[frontier[right]!]!, this.heap[frontier[left]!]!)) {
        best = right;
      }
      if (!this.before(this.heap[frontier[best]!]!, this.heap[frontier[s]!]!)) break;
      const moved = frontier[s]!;
      frontier[s] = frontier[best]!;
      frontier[best] = moved;
      s = best;
    }
    return top;
  }
}
