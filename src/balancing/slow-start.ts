import type { Endpoint } from '../core/endpoint.js';
import type { PickContext, Picker } from './picker.js';
import type { Random } from './random-usable.js';

/** Envoy's default minimum: an endpoint in slow start still gets a tenth of its share. */
const MIN_FACTOR = 0.1;
/** Endpoints that became available this close to the oldest one started together: no ramp. */
const STARTED_TOGETHER_MS = 1_000;

/**
 * Slow start for any policy (HAProxy `slowstart`, Envoy slow start): an endpoint that was
 * added or recovered less than `windowMs` ago (its `state.availableSince`) gets a share of
 * traffic growing linearly from 10% to 100% over the window. Done by thinning: the wrapped
 * policy picks, and a warming endpoint is accepted with probability elapsed/window,
 * otherwise the policy picks again without it, so it works with every policy without
 * knowing how each uses weights. Endpoints present from the start are not ramped, as in
 * HAProxy. If every candidate is warming and declined, the policy's first choice is used.
 */
export class SlowStartPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private warmBefore = 0;

  constructor(
    private readonly inner: Picker,
    private readonly windowMs: number,
    private readonly random: Random = Math.random,
  ) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) {
      this.seen = endpoints;
      let oldest = Number.POSITIVE_INFINITY;
      for (const endpoint of endpoints) oldest = Math.min(oldest, endpoint.state.availableSince);
      this.warmBefore = oldest + STARTED_TOGETHER_MS;
    }
    const first = this.inner.pick(endpoints, context);
    if (!first) return undefined;
    const now = context.now ?? Date.now();
    let chosen: Endpoint | undefined = first;
    let declined: Set<Endpoint> | undefined;
    while (chosen) {
      const factor = this.factor(chosen, now);
      if (factor >= 1 || this.random() < factor) return chosen;
      // Declining allocates, but only for warming endpoints, only during their window.
      declined ??= new Set(context.tried);
      declined.add(chosen);
      chosen = this.inner.pick(endpoints, { ...context, tried: declined });
    }
    return first;
  }

  /** Share of its normal traffic an endpoint gets now: 1 when warm. */
  factor(endpoint: Endpoint, now: number): number {
    const since = endpoint.state.availableSince;
    if (since <= this.warmBefore) return 1;
    const elapsed = now - since;
    if (elapsed >= this.windowMs) return 1;
    return Math.max(MIN_FACTOR, elapsed / this.windowMs);
  }
}
