import type { Endpoint } from '../core/endpoint.js';
import { hashString } from './hash.js';
import { type HashTable, usableFrom } from './hash-table.js';
import type { PickContext } from './picker.js';

/**
 * Points per endpoint (of average weight). More points even out each endpoint's share of the
 * ring (its spread is about 1/sqrt(points)): 1,024 keeps it within ~3% for small clusters;
 * large clusters get fewer per endpoint so that a rebuild stays in the milliseconds.
 */
const MIN_POINTS_PER_ENDPOINT = 160;
const MAX_POINTS_PER_ENDPOINT = 1024;
const TARGET_RING_SIZE = 65_536;
export const MAX_RING_SIZE = 1 << 20;

/**
 * A consistent-hash ring (Ketama, Envoy ring_hash): each endpoint owns points placed by
 * hashing its id, as many as its share of the weight; a key belongs to the first point at or
 * after its hash. Removing an endpoint hands only its own keys to its ring neighbours and
 * leaves every other key where it was (Maglev balances better but moves a few other keys,
 * which breaks sessions that did not need to move).
 */
export class HashRing implements HashTable {
  private constructor(
    private readonly points: Uint32Array,
    private readonly owners: Uint32Array,
  ) {}

  /** `minimumSize`: at least this many points in all (`ring_hash`'s `minimumRingSize`). */
  static build(endpoints: readonly Endpoint[], minimumSize = 0): HashRing {
    const n = endpoints.length;
    let totalWeight = 0;
    for (const endpoint of endpoints) totalWeight += endpoint.weight;
    const perEndpoint = Math.min(
      MAX_POINTS_PER_ENDPOINT,
      Math.max(MIN_POINTS_PER_ENDPOINT, TARGET_RING_SIZE / n),
    );
    const target = Math.min(MAX_RING_SIZE, Math.max(minimumSize, n * perEndpoint));
    const replicas = endpoints.map((e) => Math.max(1, Math.round((e.weight * target) / totalWeight)));
    const size = replicas.reduce((a, b) => a + b, 0);
    let points = new Uint32Array(size);
    let owners = new Uint32Array(size);
    let k = 0;
    for (let i = 0; i < n; i++) {
      // The point hashes depend on the endpoint's id only, never on its position in the array.
      const id = endpoints[i]!.id;
      for (let r = 0; r < replicas[i]!; r++) {
        points[k] = hashString(id, r);
        owners[k++] = i;
      }
    }
    // LSD radix sort by hash, 16 bits at a time: stable, so equal hashes stay in endpoint
    // order, and much faster than a comparison sort for the 10^5 points of a large cluster.
    let spareP = new Uint32Array(size);
    let spareO = new Uint32Array(size);
    const counts = new Uint32Array(65_537);
    for (const shift of [0, 16]) {
      counts.fill(0);
      for (let j = 0; j < size; j++) counts[((points[j]! >>> shift) & 0xffff) + 1]!++;
      for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
      for (let j = 0; j < size; j++) {
        const to = counts[(points[j]! >>> shift) & 0xffff]!++;
        spareP[to] = points[j]!;
        spareO[to] = owners[j]!;
      }
      [points, spareP] = [spareP, points];
      [owners, spareO] = [spareO, owners];
    }
    return new HashRing(points, owners);
  }

  get size(): number {
    return this.points.length;
  }

  /**
   * The endpoint owning `hash`, or the next usable one clockwise when it is unusable (so an
   * unhealthy endpoint's keys spread over its neighbours and return when it recovers).
   */
  find(hash: number, endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (this.points.length === 0) return undefined;
    return usableFrom(this.owners, this.firstAtOrAfter(hash), endpoints, context);
  }

  private firstAtOrAfter(hash: number): number {
    const key = hash >>> 0;
    const points = this.points;
    let low = 0;
    let high = points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (points[middle]! < key) low = middle + 1;
      else high = middle;
    }
    return low === points.length ? 0 : low;
  }
}
