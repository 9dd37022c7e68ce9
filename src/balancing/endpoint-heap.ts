import type { Endpoint } from '../core/endpoint.js';
import { isUsable, type PickContext } from './picker.js';

/**
 * A binary min-heap of endpoint indexes ordered by a numeric key per endpoint, equal keys
 * by a tie sequence (lower first), so that equal endpoints can be served in turn.
 * O(log n) to change one key; finding the best usable endpoint walks the heap best-first,
 * O(k log k) when the k best are unusable. Owners set `key`/`tie` and call `update`.
 */
export class EndpointHeap {
  readonly key: Float64Array;
  readonly tie: Float64Array;
  /** Endpoint indexes in heap order. */
  private readonly heap: Int32Array;
  /** Endpoint index → its slot in `heap`. */
  private readonly slot: Int32Array;
  /** Reused best-first frontier of heap slots (no allocation per pick). */
  private readonly frontier: number[] = [];

  constructor(readonly size: number) {
    this.key = new Float64Array(size);
    this.tie = new Float64Array(size);
    this.heap = new Int32Array(size);
    this.slot = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      this.heap[i] = i;
      this.slot[i] = i;
      // Until told otherwise, ties go in array order.
      this.tie[i] = i - size;
    }
  }

  /** Restores heap order after setting every key. */
  heapify(): void {
    for (let s = (this.size >>> 1) - 1; s >= 0; s--) this.siftDown(s);
  }

  /** Restores heap order after the key or tie of one endpoint changed. */
  update(index: number): void {
    const slot = this.slot[index]!;
    if (!this.siftUp(slot)) this.siftDown(slot);
  }

  /** Index of the lowest-keyed usable endpoint, or -1. */
  bestUsable(endpoints: readonly Endpoint[], context: PickContext): number {
    const heap = this.heap;
    if (heap.length === 0) return -1;
    const frontier = this.frontier;
    frontier.length = 0;
    frontier.push(0);
    while (frontier.length > 0) {
      const slot = this.popFrontier();
      const index = heap[slot]!;
      if (isUsable(endpoints[index]!, context)) return index;
      const left = 2 * slot + 1;
      if (left < heap.length) this.pushFrontier(left);
      if (left + 1 < heap.length) this.pushFrontier(left + 1);
    }
    return -1;
  }

  private before(i: number, j: number): boolean {
    const ki = this.key[i]!;
    const kj = this.key[j]!;
    return ki !== kj ? ki < kj : this.tie[i]! < this.tie[j]!;
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
  private frontierBefore(x: number, y: number): boolean {
    return this.before(this.heap[this.frontier[x]!]!, this.heap[this.frontier[y]!]!);
  }

  private frontierSwap(x: number, y: number): void {
    const frontier = this.frontier;
    const moved = frontier[x]!;
    frontier[x] = frontier[y]!;
    frontier[y] = moved;
  }

  private pushFrontier(slot: number): void {
    const frontier = this.frontier;
    frontier.push(slot);
    let s = frontier.length - 1;
    while (s > 0) {
      const parent = (s - 1) >>> 1;
      if (!this.frontierBefore(s, parent)) break;
      this.frontierSwap(s, parent);
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
      const best = left + 1 < frontier.length && this.frontierBefore(left + 1, left) ? left + 1 : left;
      if (!this.frontierBefore(best, s)) break;
      this.frontierSwap(s, best);
      s = best;
    }
    return top;
  }
}
