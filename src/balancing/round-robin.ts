import type { Endpoint } from '../core/endpoint.js';
import { isUsable, type PickContext, type Picker } from './picker.js';

/**
 * Plain round robin: each usable endpoint in turn, skipping unusable ones.
 * O(n) only in the worst case where most endpoints are unusable.
 */
export class RoundRobinPicker implements Picker {
  private next = 0;

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    const n = endpoints.length;
    for (let i = 0; i < n; i++) {
      const index = (this.next + i) % n;
      const endpoint = endpoints[index]!;
      if (isUsable(endpoint, context)) {
        this.next = (index + 1) % n;
        return endpoint;
      }
    }
    return undefined;
  }
}
