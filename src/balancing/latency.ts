import type { OutcomeObserver } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';

/** How fast an old latency sample fades: its weight halves about every 7s (e^-1 after 10s). */
const DEFAULT_DECAY_MS = 10_000;

/**
 * Keeps a peak-sensitive, time-decayed latency EWMA on each endpoint's state (Finagle's and
 * Linkerd's "peak EWMA"): a slower sample than the average takes over at once, faster ones
 * pull it down gradually, so an endpoint that turns slow is avoided quickly. Attached to a
 * cluster (`cluster.observers`) whose policy is `least_request` with `latencyAware`.
 */
export class LatencyObserver implements OutcomeObserver {
  constructor(
    private readonly decayMs = DEFAULT_DECAY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  success(endpoint: Endpoint, latencyMs: number): void {
    if (!(latencyMs >= 0)) return;
    const state = endpoint.state;
    const now = this.now();
    if (state.latencyEwmaMs === 0 || latencyMs > state.latencyEwmaMs) {
      state.latencyEwmaMs = latencyMs;
    } else {
      const keep = Math.exp(-Math.max(0, now - state.latencyUpdatedAt) / this.decayMs);
      state.latencyEwmaMs = state.latencyEwmaMs * keep + latencyMs * (1 - keep);
    }
    state.latencyUpdatedAt = now;
  }

  failure(): void {
    // Failures are health's business (outlier detection); a failed attempt has no latency to learn from.
  }
}
