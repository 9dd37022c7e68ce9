/**
 * The one place an endpoint's availability is written: discovery readiness (through the
 * cluster), active checks and outlier detection all set or clear their reason bit here, and
 * when that changes anything it logs one line, emits a `health` event and re-checks panic mode.
 * The cluster manager keeps one per cluster, for as long as the cluster exists.
 */
import type { AvailabilityWriter } from '../core/cluster.js';
import { describeFlags, type Endpoint, Unavailable } from '../core/endpoint.js';
import type { HealthTransition, PanicTransition, ProxyEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';

/** Discovery's reasons are routine (rollouts); logged at info, not warn, when set. */
const DISCOVERY_REASONS = Unavailable.DiscoveryNotReady | Unavailable.Draining;

export class HealthReporter implements AvailabilityWriter {
  /** Inside `batch`: changes are counted and `onChange` runs once at the end. */
  private batching = false;
  private changedInBatch = false;

  constructor(
    readonly cluster: string,
    private readonly events: ProxyEvents,
    private readonly log: Logger,
    /** Called after every change (the panic guard re-evaluates). */
    private readonly onChange: () => void = () => {},
    /**
     * Discovery's reasons are another thread's verdict relayed (a worker thread's fed
     * sources): logged at debug, since the main thread's own line says why.
     */
    private readonly relayedDiscovery = false,
  ) {}

  /**
   * Returns true when the endpoint's flags changed. `at` is when the deciding code read the
   * clock, so an ejection's event and its deadline share one timestamp. `joined`: the endpoint
   * just appeared in discovery; its first flags are logged at debug (a Kubernetes rollout
   * would otherwise log a line per new pod), though still emitted as an event.
   */
  set(
    endpoint: Endpoint,
    bit: number,
    on: boolean,
    reason: string,
    at = Date.now(),
    joined = false,
  ): boolean {
    const before = endpoint.state.flags;
    if (!endpoint.state.setFlag(bit, on, at)) return false;
    const transition: HealthTransition = {
      cluster: this.cluster,
      endpoint: endpoint.id,
      from: describeFlags(before),
      to: describeFlags(endpoint.state.flags),
      reason,
      at,
    };
    const line = `${this.cluster} ${endpoint.id}: ${describe(transition.from)} → ${describe(transition.to)} (${reason})`;
    if (joined || (this.relayedDiscovery && (bit & DISCOVERY_REASONS) !== 0))
      this.log.debug({ event: 'health', ...transition }, line);
    else if (on && (bit & DISCOVERY_REASONS) === 0) this.log.warn({ event: 'health', ...transition }, line);
    else this.log.info({ event: 'health', ...transition }, line);
    emitSafely(this.events, this.log, 'health', transition);
    if (this.batching) this.changedInBatch = true;
    else this.onChange();
    return true;
  }

  batch(apply: () => void): void {
    if (this.batching) {
      apply();
      return;
    }
    this.batching = true;
    this.changedInBatch = false;
    try {
      apply();
    } finally {
      this.batching = false;
    }
    if (this.changedInBatch) this.onChange();
  }
}

function describe(flags: string[]): string {
  return flags.length === 0 ? 'available' : flags.join('+');
}

/** A broken subscriber (metrics, admin) must not break health, nor the proxy that reported an outcome. */
export function emitSafely(
  events: ProxyEvents,
  log: Logger,
  ...args: ['health', HealthTransition] | ['panic', PanicTransition]
): void {
  try {
    if (args[0] === 'health') events.emit('health', args[1]);
    else events.emit('panic', args[1]);
  } catch (error) {
    log.error({ err: error, event: args[0] }, `a ${args[0]} event listener threw`);
  }
}
