import type { Endpoint } from '../core/endpoint.js';
import { isUsable, type PickContext } from './picker.js';

/** A source of uniform numbers in [0, 1); injectable so tests can be deterministic. */
export type Random = () => number;

/** Random probes before falling back to a scan: enough when most endpoints are usable. */
const PROBES = 4;

/**
 * A uniformly random usable endpoint. O(1) expected when most endpoints are usable;
 * when most are not, a scan from a random offset keeps it correct and bounded.
 */
export function randomUsable(
  endpoints: readonly Endpoint[],
  context: PickContext,
  random: Random,
  not?: Endpoint,
): Endpoint | undefined {
  const n = endpoints.length;
  if (n === 0) return undefined;
  for (let probe = 0; probe < PROBES; probe++) {
    const endpoint = endpoints[Math.floor(random() * n)]!;
    if (endpoint !== not && isUsable(endpoint, context)) return endpoint;
  }
  const start = Math.floor(random() * n);
  for (let i = 0; i < n; i++) {
    const endpoint = endpoints[(start + i) % n]!;
    if (endpoint !== not && isUsable(endpoint, context)) return endpoint;
  }
  return undefined;
}
