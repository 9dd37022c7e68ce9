import type { IncomingHttpHeaders } from 'node:http';
import { ALL_UNAVAILABLE_REASONS, type Endpoint } from '../core/endpoint.js';

/**
 * What a picker may know about the connection or request it is picking for.
 * Every field is optional: a picker that needs a client address copes when there is none.
 */
export interface PickContext {
  /** Client IP address (L4 remote address, or the L7 client). */
  clientAddress?: string;
  /** L7 only: the request, for the hash keys (see hash-key.ts). */
  request?: {
    readonly headers: IncomingHttpHeaders;
    /** The routed path (normalised, no query). */
    readonly path: string;
    /** The request target as received, query included (`uri`, `query:NAME`); `path` when absent. */
    readonly target?: string;
    /** The Host the request was routed on (`destination`). */
    readonly host?: string | undefined;
  };
  /** L4 only: the local address and port the client connected to (`destination`). */
  destinationAddress?: string | undefined;
  destinationPort?: number | undefined;
  /** Endpoints already tried for this connection or request; never pick them again. */
  tried?: ReadonlySet<Endpoint>;
  /**
   * Which `Unavailable` reasons exclude an endpoint. The cluster relaxes it (panic mode,
   * draining fallback); pickers only test it through `isUsable`. Defaults to every reason.
   */
  excludeFlags?: number;
  /** Milliseconds since the epoch; defaults to Date.now() where a policy needs time. */
  now?: number;
}

/** A balancing policy: picks one endpoint from a set, nothing else. */
export interface Picker {
  /** Returns undefined when no endpoint is usable; never spins. */
  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined;
}

export function isUsable(endpoint: Endpoint, context: PickContext): boolean {
  const exclude = context.excludeFlags ?? ALL_UNAVAILABLE_REASONS;
  return (endpoint.state.flags & exclude) === 0 && !(context.tried?.has(endpoint) ?? false);
}
