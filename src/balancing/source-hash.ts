import type { Endpoint } from '../core/endpoint.js';
import { type HashKey, hashKey, NO_KEY } from './hash-key.js';
import { HashRing } from './hash-ring.js';
import type { HashTable } from './hash-table.js';
import type { PickContext, Picker } from './picker.js';
import { type Random, randomUsable } from './random-usable.js';

/**
 * Consistent hashing of a key (the client address, the destination, a header…): the same
 * key goes to the same endpoint while it is usable. The table (a ring, a Maglev table) is
 * rebuilt only when discovery replaces the endpoint array; a pick is one hash and one
 * lookup. A connection without the key (no client address, a missing header) goes to a
 * random usable endpoint.
 */
export class HashPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private table: HashTable | undefined;

  constructor(
    private readonly key: HashKey,
    private readonly build: (endpoints: readonly Endpoint[]) => HashTable,
    private readonly random: Random = Math.random,
  ) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen || !this.table) {
      this.seen = endpoints;
      this.table = this.build(endpoints);
    }
    const hash = hashKey(this.key, context);
    if (hash === NO_KEY) return randomUsable(endpoints, context, this.random);
    return this.table.find(hash, endpoints, context);
  }
}

/**
 * IPVS sh and dh / nginx `hash … consistent` / Envoy ring_hash: a hash ring (Ketama) of
 * the key, `minimumRingSize` points at least.
 */
export class SourceHashPicker extends HashPicker {
  constructor(key: HashKey = { kind: 'client_ip' }, random: Random = Math.random, minimumRingSize = 0) {
    super(key, (endpoints) => HashRing.build(endpoints, minimumRingSize), random);
  }
}
