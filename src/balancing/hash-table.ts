import type { Endpoint } from '../core/endpoint.js';
import { isUsable, type PickContext } from './picker.js';

/** A consistent-hash lookup built for one endpoint array (a ring, a Maglev table). */
export interface HashTable {
  /** The endpoint owning `hash` (an int32, see hash.ts), or another usable one when it is unusable. */
  find(hash: number, endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined;
}

/** Slots to walk past unusable endpoints before scanning the endpoints instead. */
const MAX_WALK = 64;

/**
 * The usable endpoint at `slot` of a table of endpoint indexes, or the next usable one after
 * it: an unusable endpoint's keys spread over the owners of the following slots (its ring
 * neighbours, or for Maglev a weighted sample of all endpoints), everyone else's keys stay,
 * and its own come back when it recovers.
 */
export function usableFrom(
  owners: Uint32Array,
  slot: number,
  endpoints: readonly Endpoint[],
  context: PickContext,
): Endpoint | undefined {
  const size = owners.length;
  const owner = owners[slot]!;
  const walk = Math.min(size, MAX_WALK);
  for (let step = 0; step < walk; step++) {
    const endpoint = endpoints[owners[slot]!]!;
    if (isUsable(endpoint, context)) return endpoint;
    slot = slot + 1 === size ? 0 : slot + 1;
  }
  // Most endpoints are unusable: one pass over the endpoints beats walking a 10^5-slot table.
  const n = endpoints.length;
  for (let i = 1; i <= n; i++) {
    const endpoint = endpoints[(owner + i) % n]!;
    if (isUsable(endpoint, context)) return endpoint;
  }
  return undefined;
}
