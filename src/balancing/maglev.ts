import type { Endpoint } from '../core/endpoint.js';
import { hashString } from './hash.js';
import type { HashKey } from './hash-key.js';
import { type HashTable, usableFrom } from './hash-table.js';
import type { PickContext } from './picker.js';
import type { Random } from './random-usable.js';
import { HashPicker } from './source-hash.js';

/** Envoy's default: a prime well above 100 entries per endpoint for clusters of hundreds. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;
/**
 * Ten times the default. The table is filled on the event loop when discovery changes the
 * endpoints: about 0.1 s at this size with 1,000 endpoints, and 1 s at Envoy's own bound
 * (5,000,011), whose random writes miss the CPU caches.
 */
export const MAX_MAGLEV_TABLE_SIZE = 655_373;

const OFFSET_SEED = 0x6d61676c;
const SKIP_SEED = 0x736b6970;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * A Maglev lookup table (Eisenbud et al., NSDI 2016; Envoy `maglev`): each endpoint walks its
 * own permutation of the slots (an offset and a skip from hashes of its id) and claims the
 * next free slot on its turns, heavier endpoints taking turns more often, until every slot
 * has an owner. A key's endpoint is one table read. Shares follow weights within a slot or
 * two, better than a ring; removing an endpoint moves its own keys and, unlike the ring, a
 * few others (a slot or two per endpoint whose permutation order shifted).
 */
export class MaglevTable implements HashTable {
  private constructor(private readonly slots: Uint32Array) {}

  /** `size` must be prime, so that every skip visits every slot. */
  static build(endpoints: readonly Endpoint[], size = DEFAULT_MAGLEV_TABLE_SIZE): MaglevTable {
    if (!isPrime(size)) throw new Error(`maglev table size ${size} is not a prime`);
    const n = endpoints.length;
    if (n === 0) return new MaglevTable(new Uint32Array(0));
    // Endpoints take turns in id order, so that the table depends on the set and not on the
    // order discovery listed it in: every Portside sends a key to the same endpoint.
    const order = endpoints.map((_, i) => i).sort((a, b) => compare(endpoints[a]!.id, endpoints[b]!.id));
    const next = new Int32Array(n);
    const skip = new Int32Array(n);
    const due = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const id = endpoints[i]!.id;
      next[i] = (hashString(id, OFFSET_SEED) >>> 0) % size;
      skip[i] = ((hashString(id, SKIP_SEED) >>> 0) % (size - 1)) + 1;
      maxWeight = Math.max(maxWeight, endpoints[i]!.weight);
    }
    const empty = 0xffffffff;
    const slots = new Uint32Array(size).fill(empty);
    let filled = 0;
    // Envoy's weighted turns: an endpoint of weight w claims a slot on w of every maxWeight rounds.
    for (let round = 1; filled < size; round++) {
      for (let k = 0; k < n && filled < size; k++) {
        const i = order[k]!;
        if (round * endpoints[i]!.weight < due[i]!) continue;
        due[i]! += maxWeight;
        let slot = next[i]!;
        while (slots[slot] !== empty) {
          slot += skip[i]!;
          if (slot >= size) slot -= size;
        }
        slots[slot] = i;
        filled++;
        slot += skip[i]!;
        next[i] = slot >= size ? slot - size : slot;
      }
    }
    return new MaglevTable(slots);
  }

  get size(): number {
    return this.slots.length;
  }

  find(hash: number, endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    const slots = this.slots;
    if (slots.length === 0) return undefined;
    return usableFrom(slots, (hash >>> 0) % slots.length, endpoints, context);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Envoy `maglev` / IPVS mh: consistent hashing of the key through a Maglev table. */
export class MaglevPicker extends HashPicker {
  constructor(
    key: HashKey = { kind: 'client_ip' },
    random: Random = Math.random,
    tableSize = DEFAULT_MAGLEV_TABLE_SIZE,
  ) {
    super(key, (endpoints) => MaglevTable.build(endpoints, tableSize), random);
  }
}
