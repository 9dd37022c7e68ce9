import type { Endpoint } from '../core/endpoint.js';
import { isUsable, type PickContext, type Picker } from './picker.js';

/**
 * Above this many steps × endpoints, building the schedule costs more than it saves
 * (e.g. 1,000 endpoints with large, coprime weights); picks then run nginx's loop live.
 */
const SCHEDULE_BUILD_BUDGET = 4_000_000;

/**
 * Smooth weighted round robin, nginx's algorithm: every endpoint's current weight grows by
 * its weight, the largest is picked and loses the total. Weights 5,1,1 give a a b a c a a:
 * heavy endpoints are spread out instead of served in a burst. Equal weights give plain
 * round robin.
 *
 * The sequence repeats every sum(weights / gcd) picks, so it is computed once per endpoint
 * array (discovery replaces the array, so identity tells us when) and picks walk it in
 * O(1). Unusable endpoints are skipped in the schedule; the others keep their shares.
 */
export class RoundRobinPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private schedule: Uint32Array | undefined;
  private cursor = 0;
  private weights = new Float64Array(0);
  private current = new Float64Array(0);

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) this.rebuild(endpoints);
    const schedule = this.schedule;
    if (!schedule) return this.step(endpoints, context);
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
    const n = endpoints.length;
    let divisor = 0;
    for (const endpoint of endpoints) divisor = gcd(divisor, endpoint.weight);
    this.weights = new Float64Array(n);
    this.current = new Float64Array(n);
    let period = 0;
    for (let i = 0; i < n; i++) {
      this.weights[i] = endpoints[i]!.weight / divisor;
      period += this.weights[i]!;
    }
    this.schedule = undefined;
    if (n === 0 || period * n > SCHEDULE_BUILD_BUDGET) return;
    const schedule = new Uint32Array(period);
    for (let s = 0; s < period; s++) schedule[s] = this.stepIndex(endpoints, undefined);
    this.current.fill(0);
    this.schedule = schedule;
    // Carry the position over so that frequent discovery updates do not favour the first endpoint.
    this.cursor %= period;
  }

  private step(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    const index = this.stepIndex(endpoints, context);
    return index < 0 ? undefined : endpoints[index];
  }

  /** One step of nginx's loop over the usable endpoints (all of them without a context). */
  private stepIndex(endpoints: readonly Endpoint[], context: PickContext | undefined): number {
    const weights = this.weights;
    const current = this.current;
    let total = 0;
    let best = -1;
    for (let i = 0; i < endpoints.length; i++) {
      if (context && !isUsable(endpoints[i]!, context)) continue;
      current[i]! += weights[i]!;
      total += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best >= 0) current[best]! -= total;
    return best;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
