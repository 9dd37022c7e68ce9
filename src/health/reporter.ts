/**
 * The one place health writes an endpoint's availability: sets or clears one reason bit,
 * and when that changes anything, logs one line and emits a `health` event.
 */
import { describeFlags, type Endpoint } from '../core/endpoint.js';
import type { HealthTransition, PanicTransition, ProxyEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';

export class HealthReporter {
  constructor(
    readonly cluster: string,
    private readonly events: ProxyEvents,
    private readonly log: Logger,
    /** Called after every change (the panic guard re-evaluates). */
    private readonly onChange: () => void = () => {},
  ) {}

  /**
   * Returns true when the endpoint's flags changed. `at` is when the deciding code read the
   * clock, so an ejection's event and its deadline share one timestamp.
   */
  set(endpoint: Endpoint, bit: number, on: boolean, reason: string, at = Date.now()): boolean {
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
    if (on) this.log.warn({ event: 'health', ...transition }, line);
    else this.log.info({ event: 'health', ...transition }, line);
    emitSafely(this.events, this.log, 'health', transition);
    this.onChange();
    return true;
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
