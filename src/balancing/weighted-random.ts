import type { Endpoint } from '../core/endpoint.js';
import { isUsable, type PickContext, type Picker } from './picker.js';
import type { Random } from './random-usable.js';

const PROBES = 4;

/**
 * Random in proportion to weight: a binary search over cumulative weights, built once per
 * endpoint array, so a pick is O(log n). When probes keep landing on unusable endpoints
 * (most are down) it falls back to one weighted pass over the usable ones.
 */
export class WeightedRandomPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private cumulative = new Float64Array(0);

  constructor(private readonly random: Random = Math.random) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) this.rebuild(endpoints);
    const n = endpoints.length;
    if (n === 0) return undefined;
    const total = this.cumulative[n - 1]!;
    for (let probe = 0; probe < PROBES; probe++) {
      const endpoint = endpoints[this.indexAt(this.random() * total)]!;
      if (isUsable(endpoint, context)) return endpoint;
    }
    return this.scan(endpoints, context);
  }

  private rebuild(endpoints: readonly Endpoint[]): void {
    this.seen = endpoints;
    this.cumulative = new Float64Array(endpoints.length);
    let sum = 0;
    endpoints.forEach((endpoint, i) => {
      sum += endpoint.weight;
      this.cumulative[i] = sum;
    });
  }

  /** First index whose cumulative weight exceeds `point`. */
  private indexAt(point: number): number {
    const cumulative = this.cumulative;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle]! > point) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  private scan(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    let total = 0;
    for (const endpoint of endpoints) if (isUsable(endpoint, context)) total += endpoint.weight;
    let point = this.random() * total;
    let last: Endpoint | undefined;
    for (const endpoint of endpoints) {
      if (!isUsable(endpoint, context)) continue;
      last = endpoint;
      point -= endpoint.weight;
      if (point < 0) return endpoint;
    }
    return last;
  }
}
