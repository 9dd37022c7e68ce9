/**
 * Property tests: weighted policies give each endpoint its share, and smooth weighted round
 * robin spreads heavy endpoints out (nginx's sequence).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LeastConnectionsPicker } from '../../src/balancing/least-connections.js';
import type { Picker } from '../../src/balancing/picker.js';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { WeightedRandomPicker } from '../../src/balancing/weighted-random.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { countPicks, fakeEndpoints, seededRandom } from '../helpers/endpoints.js';

const PICKS = 100_000;
const weightsArbitrary = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 });

function assertShares(endpoints: readonly Endpoint[], counts: Map<Endpoint, number>, picks: number): void {
  const total = endpoints.reduce((sum, e) => sum + e.weight, 0);
  for (const endpoint of endpoints) {
    const share = (counts.get(endpoint) ?? 0) / picks;
    const expected = endpoint.weight / total;
    assert.ok(
      Math.abs(share - expected) <= 0.01,
      `${endpoint.id} (weight ${endpoint.weight}) got ${(share * 100).toFixed(2)}%, expected ${(expected * 100).toFixed(2)}%`,
    );
  }
}

describe('weighted policies converge to their weights within 1% over 100,000 picks', {
  timeout: 60_000,
}, () => {
  const cases: [string, (seed: number) => Picker, boolean][] = [
    ['round_robin (smooth)', () => new RoundRobinPicker(), false],
    ['weighted_random', (seed) => new WeightedRandomPicker(seededRandom(seed)), false],
    // Connections that never close: least connections then balances active/weight.
    ['least_connections', () => new LeastConnectionsPicker(), true],
  ];
  for (const [name, make, holdConnections] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(weightsArbitrary, fc.integer(), (weights, seed) => {
          const endpoints = fakeEndpoints(weights.length, weights);
          const picker = make(seed);
          const counts = countPicks(() => {
            const endpoint = picker.pick(endpoints, {});
            if (endpoint && holdConnections) endpoint.state.active++;
            return endpoint;
          }, PICKS);
          assertShares(endpoints, counts, PICKS);
        }),
        { numRuns: 8 },
      );
    });
  }
});

describe('smooth weighted round robin', { timeout: 30_000 }, () => {
  it('gives a a b a c a a for weights 5, 1, 1, and repeats it', () => {
    const endpoints = fakeEndpoints(3, [5, 1, 1]);
    const picker = new RoundRobinPicker();
    const names = new Map(endpoints.map((e, i) => [e, 'abc'[i]!]));
    const sequence = Array.from({ length: 14 }, () => names.get(picker.pick(endpoints, {})!)).join(' ');
    assert.equal(sequence, 'a a b a c a a a a b a c a a');
  });

  it('is plain round robin with equal weights', () => {
    const endpoints = fakeEndpoints(4);
    const picker = new RoundRobinPicker();
    const picked = Array.from({ length: 8 }, () => picker.pick(endpoints, {}));
    assert.deepEqual(picked, [...endpoints, ...endpoints]);
  });

  /** nginx's smooth weighted round robin, written plainly: the model the picker must match. */
  function nginxSequence(weights: number[], length: number): number[] {
    const current = weights.map(() => 0);
    const total = weights.reduce((a, b) => a + b, 0);
    const sequence: number[] = [];
    for (let t = 0; t < length; t++) {
      let best = 0;
      for (let i = 0; i < weights.length; i++) {
        current[i]! += weights[i]!;
        if (current[i]! > current[best]!) best = i;
      }
      current[best]! -= total;
      sequence.push(best);
    }
    return sequence;
  }

  it("picks exactly nginx's sequence for any weights, staying within 1.5 picks of each share", () => {
    // Smoothness is nginx's, not an ideal one: its deviation from weight/total can exceed one
    // pick (weights 26,1,1,1,26 reach 1.018; the largest seen over 20,000 random weight
    // vectors of up to 8 endpoints was 1.075), so 1.5 is the bound asserted.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 2, maxLength: 8 }), (weights) => {
        const endpoints = fakeEndpoints(weights.length, weights);
        const total = weights.reduce((a, b) => a + b, 0);
        const picker = new RoundRobinPicker();
        const expected = nginxSequence(weights, 2 * total);
        const counts = weights.map(() => 0);
        for (let t = 1; t <= 2 * total; t++) {
          const index = endpoints.indexOf(picker.pick(endpoints, {})!);
          assert.equal(index, expected[t - 1], `weights ${weights}: pick ${t}`);
          counts[index]!++;
          weights.forEach((weight, i) => {
            const ideal = (t * weight) / total;
            assert.ok(
              Math.abs(counts[i]! - ideal) < 1.5,
              `weights ${weights}: after ${t} picks #${i} has ${counts[i]}, share ${ideal}`,
            );
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never picks an endpoint twice in a row when weights are equal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 50 }), fc.integer({ min: 1, max: 9 }), (n, weight) => {
        const endpoints = fakeEndpoints(n, Array(n).fill(weight));
        const picker = new RoundRobinPicker();
        let previous: Endpoint | undefined;
        for (let i = 0; i < 3 * n; i++) {
          const picked = picker.pick(endpoints, {});
          assert.notEqual(picked, previous);
          previous = picked;
        }
      }),
    );
  });

  it('falls back to earliest-deadline-first when the period is too long to precompute', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }), (weights) => {
        const endpoints = fakeEndpoints(weights.length, weights);
        const picker = new RoundRobinPicker(0); // no budget: never precompute
        const total = weights.reduce((a, b) => a + b, 0);
        for (let period = 0; period < 2; period++) {
          const counts = countPicks(() => picker.pick(endpoints, {}), total);
          // Every period gives every endpoint exactly its weight, as nginx's order does.
          for (const endpoint of endpoints) assert.equal(counts.get(endpoint), endpoint.weight);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('earliest-deadline-first lets a recovered endpoint rejoin at its share, not in a burst', () => {
    const endpoints = fakeEndpoints(3, [1, 1, 1]);
    const picker = new RoundRobinPicker(0);
    endpoints[0]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    for (let i = 0; i < 1000; i++) picker.pick(endpoints, {});
    endpoints[0]!.state.setFlag(Unavailable.ActiveCheckFailed, false);
    const counts = countPicks(() => picker.pick(endpoints, {}), 30);
    assert.ok(
      (counts.get(endpoints[0]!) ?? 0) <= 11,
      `recovered endpoint got ${counts.get(endpoints[0]!)} of 30`,
    );
  });

  it('precomputes even 1,000 endpoints with small weights, and spreads them in one period', () => {
    const weights = Array.from({ length: 1000 }, (_, i) => 1 + (i % 4));
    const endpoints = fakeEndpoints(weights.length, weights);
    const picker = new RoundRobinPicker();
    const total = weights.reduce((a, b) => a + b, 0);
    const counts = countPicks(() => picker.pick(endpoints, {}), total);
    for (const endpoint of endpoints) assert.equal(counts.get(endpoint), endpoint.weight);
  });
});
