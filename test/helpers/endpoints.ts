import { type Endpoint, EndpointState, endpointId, type Locality } from '../../src/core/endpoint.js';

/** A fake endpoint for picker unit tests; `id` is 10.0.0.N:80 unless given. */
export function fakeEndpoint(
  n: number,
  options: {
    weight?: number;
    active?: number;
    flags?: number;
    locality?: Locality;
    availableSince?: number;
  } = {},
): Endpoint {
  const host = `10.0.${n >> 8}.${n & 255}`;
  const state = new EndpointState(options.availableSince ?? 0);
  state.active = options.active ?? 0;
  state.flags = options.flags ?? 0;
  return {
    id: endpointId(host, 80),
    host,
    port: 80,
    weight: options.weight ?? 1,
    locality: options.locality ?? {},
    state,
  };
}

/** `count` fake endpoints, with weights taken from `weights` when given. */
export function fakeEndpoints(count: number, weights?: readonly number[]): Endpoint[] {
  return Array.from({ length: count }, (_, i) => fakeEndpoint(i + 1, { weight: weights?.[i] ?? 1 }));
}

/** A deterministic uniform [0, 1) generator (mulberry32) for reproducible random policies. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** How many times each endpoint was picked in `picks` picks. */
export function countPicks(pick: () => Endpoint | undefined, picks: number): Map<Endpoint, number> {
  const counts = new Map<Endpoint, number>();
  for (let i = 0; i < picks; i++) {
    const endpoint = pick();
    if (endpoint) counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
  }
  return counts;
}
