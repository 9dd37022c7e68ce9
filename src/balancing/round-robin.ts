import type { Endpoint } from '../core/endpoint.js';
import { EndpointHeap } from './endpoint-heap.js';
import { isUsable, type PickContext, type Picker } from './picker.js';

/** Above this many steps × endpoints, precomputing nginx's sequence costs too much. */
const SCHEDULE_BUILD_BUDGET = 4_000_000;

/**
 * Smooth weighted round robin, nginx's algorithm: every endpoint's current weight grows by
 * its weight, the largest is picked and loses the total. Weights 5,1,1 give a a b a c a a:
 * heavy endpoints are spread out instead of served in a burst, and at every point each
 * endpoint is within one pick of its share. Equal weights give plain round robin.
 *
 * nginx's loop is O(n) per pick. The sequence repeats every sum(weights / gcd) picks, so it
 * is computed once per endpoint array (discovery replaces the array, so identity says when)
 * and picks walk it in O(1); unusable endpoints are skipped and the others keep their
 * shares. When the period is too long to precompute (1,000 endpoints with large coprime
 * weights), picks use earliest-deadline-first on a heap instead (Envoy's weighted round
 * robin): O(log n), the same shares per period, a slightly different order.
 */
export class RoundRobinPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private schedule: Uint32Array | undefined;
  private cursor = 0;
  private deadlines: EarliestDeadline | undefined;

  constructor(private readonly scheduleBudget = SCHEDULE_BUILD_BUDGET) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) this.rebuild(endpoints);
    const schedule = this.schedule;
    if (!schedule) return this.deadlines?.pick(endpoints, context);
    const length = schedule.length;
    for (let i = 0; i < length; i++) {
      const endpoint = endpoints[schedule[this.cursor]!]!;
      this.cursor = this.cursor + 1 === length ? 0 : this.cursor + 1;
      if (isUsable(endpoint, context)) return endpoint;
    }
    return undefined;
  }

  private rebuild(endpoints: readonly Endpoint[]): void {
    this.seen = endpoints;
    let divisor = 0;
    for (const endpoint of endpoints) divisor = gcd(divisor, endpoint.weight);
    const weights = new Float64Array(endpoints.map((e) => e.weight / divisor));
    const period = weights.reduce((a, b) => a + b, 0);
    this.schedule = undefined;
    this.deadlines = undefined;
    if (period * weights.length <= this.scheduleBudget) {
      this.schedule = nginxSequence(weights, period);
      // Carry the position over so that frequent discovery updates do not favour the first endpoint.
      this.cursor = period > 0 ? this.cursor % period : 0;
    } else {
      this.deadlines = new EarliestDeadline(weights);
    }
  }
}

/** One period of nginx's smooth weighted round robin, as endpoint indexes. */
function nginxSequence(weights: Float64Array, period: number): Uint32Array {
  const current = new Float64Array(weights.length);
  const sequence = new Uint32Array(period);
  for (let step = 0; step < period; step++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= period;
    sequence[step] = best;
  }
  return sequence;
}

/**
 * Earliest deadline first: endpoint i's k-th pick is due at virtual time k / weight, and
 * the earliest due goes next. An endpoint that was unusable for a while is moved up to the
 * present when it returns, so it rejoins at its share instead of catching up in a burst.
 */
class EarliestDeadline {
  private readonly heap: EndpointHeap;
  private readonly served: Float64Array;
  private now = 0;
  private picks = 0;

  constructor(private readonly weights: Float64Array) {
    this.heap = new EndpointHeap(weights.length);
    this.served = new Float64Array(weights.length);
    for (let i = 0; i < weights.length; i++) this.heap.key[i] = 1 / weights[i]!;
    this.heap.heapify();
  }

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    const index = this.heap.bestUsable(endpoints, context);
    if (index < 0) return undefined;
    const weight = this.weights[index]!;
    const due = this.heap.key[index]!;
    if (due < this.now - 1 / weight) this.served[index] = Math.floor(this.now * weight) - 1;
    this.now = Math.max(this.now, due);
    this.served[index]!++;
    this.heap.key[index] = (this.served[index]! + 1) / weight;
    this.heap.tie[index] = ++this.picks;
    this.heap.update(index);
    return endpoints[index];
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
