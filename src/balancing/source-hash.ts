import type { Endpoint } from '../core/endpoint.js';
import { hashString } from './hash.js';
import { type HashKey, hashKeyValue } from './hash-key.js';
import { HashRing } from './hash-ring.js';
import type { PickContext, Picker } from './picker.js';
import { type Random, randomUsable } from './random-usable.js';

/**
 * IPVS sh / nginx `hash … consistent` / Envoy ring_hash: the same key goes to the same
 * endpoint while it is usable. The ring is rebuilt only when discovery replaces the
 * endpoint array; a pick is one hash and one binary search. A connection without the key
 * (no client address, a missing header) goes to a random usable endpoint.
 */
export class SourceHashPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private ring: HashRing | undefined;

  constructor(
    private readonly key: HashKey = { kind: 'client_ip' },
    private readonly random: Random = Math.random,
  ) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen || !this.ring) {
      this.seen = endpoints;
      this.ring = HashRing.build(endpoints);
    }
    const value = hashKeyValue(this.key, context);
    if (value === undefined) return randomUsable(endpoints, context, this.random);
    return this.ring.find(hashString(value), endpoints, context);
  }
}
