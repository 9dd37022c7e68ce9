/**
 * least_connections, sed and nq choose exactly what their formulas say, including after
 * active counts change behind the picker's back; least_request prefers the less loaded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LatencyObserver } from '../../src/balancing/latency.js';
import { LeastConnectionsPicker } from '../../src/balancing/least-connections.js';
import { LeastRequestPicker } from '../../src/balancing/least-request.js';
import { NeverQueuePicker } from '../../src/balancing/never-queue.js';
import type { Picker } from '../../src/balancing/picker.js';
import { ShortestExpectedDelayPicker } from '../../src/balancing/shortest-expected-delay.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { fakeEndpoint, fakeEndpoints, seededRandom } from '../helpers/endpoints.js';

/** Each formula as a number to minimise, computed directly. */
const formulas: [string, () => Picker, (e: Endpoint) => number][] = [
  [
    'least_connections: active / weight',
    () => new LeastConnectionsPicker(),
    (e) => e.state.active / e.weight,
  ],
  [
    'shortest_expected_delay: (active + 1) / weight',
    () => new ShortestExpectedDelayPicker(),
    (e) => (e.state.active + 1) / e.weight,
  ],
  [
    'never_queue: an idle endpoint, else (active + 1) / weight',
    () => new NeverQueuePicker(),
    // Idle endpoints rank below every busy one; among idle ones the heavier goes first.
    (e) => (e.state.active === 0 ? -1e9 + 1 / e.weight : (e.state.active + 1) / e.weight),
  ],
];

const stateArbitrary = fc.array(
  fc.record({ active: fc.nat({ max: 12 }), weight: fc.integer({ min: 1, max: 6 }), down: fc.boolean() }),
  { minLength: 1, maxLength: 30 },
);

function best(endpoints: readonly Endpoint[], cost: (e: Endpoint) => number): Set<Endpoint> {
  const usable = endpoints.filter((e) => e.state.flags === 0);
  const minimum = Math.min(...usable.map(cost));
  return new Set(usable.filter((e) => Math.abs(cost(e) - minimum) < 1e-12));
}

describe('least-loaded policies follow their formulas', { timeout: 30_000 }, () => {
  for (const [name, make, cost] of formulas) {
    it(name, () => {
      fc.assert(
        fc.property(
          stateArbitrary,
          fc.array(fc.tuple(fc.nat(), fc.nat({ max: 12 })), { maxLength: 20 }),
          (states, changes) => {
            const endpoints = states.map((s, i) =>
              fakeEndpoint(i + 1, {
                active: s.active,
                weight: s.weight,
                flags: s.down ? Unavailable.ActiveCheckFailed : 0,
              }),
            );
            const picker = make();
            const expected = best(endpoints, cost);
            const first = picker.pick(endpoints, {});
            if (expected.size === 0) return assert.equal(first, undefined);
            // A fresh picker breaks ties in array order.
            assert.equal(
              first,
              endpoints.find((e) => expected.has(e)),
            );
            // Loads change behind the picker's back (connections open and close).
            for (const [which, active] of changes) endpoints[which % endpoints.length]!.state.active = active;
            const second = picker.pick(endpoints, {});
            assert.ok(second && best(endpoints, cost).has(second), `picked ${second?.id}, not a minimum`);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('least_connections breaks ties in turn', () => {
    const endpoints = fakeEndpoints(3);
    const picker = new LeastConnectionsPicker();
    const picked = Array.from({ length: 6 }, () => picker.pick(endpoints, {}));
    assert.deepEqual(picked, [...endpoints, ...endpoints]);
  });

  it('least_connections follows connections opening and closing', () => {
    const endpoints = fakeEndpoints(3, [1, 1, 2]);
    const picker = new LeastConnectionsPicker();
    const open = (e: Endpoint | undefined) => {
      assert.ok(e);
      e.state.active++;
      return e;
    };
    // weight 2 counts half: a=1, b=1, c=2 connections is a tie, the rest go in turn.
    const first = [
      open(picker.pick(endpoints, {})),
      open(picker.pick(endpoints, {})),
      open(picker.pick(endpoints, {})),
    ];
    assert.deepEqual(first, endpoints);
    assert.equal(open(picker.pick(endpoints, {})), endpoints[2]);
    endpoints[1]!.state.active = 0;
    assert.equal(picker.pick(endpoints, {}), endpoints[1]);
  });
});

describe('least_request (power of two choices)', { timeout: 10_000 }, () => {
  it('of two endpoints always takes the less loaded, weight-aware', () => {
    const endpoints = [fakeEndpoint(1, { active: 4 }), fakeEndpoint(2, { active: 1 })];
    const picker = new LeastRequestPicker({ random: seededRandom(1) });
    for (let i = 0; i < 50; i++) assert.equal(picker.pick(endpoints, {}), endpoints[1]);
    const heavy = [fakeEndpoint(1, { active: 4, weight: 10 }), fakeEndpoint(2, { active: 1 })];
    for (let i = 0; i < 50; i++) assert.equal(picker.pick(heavy, {}), heavy[0]);
  });

  it('never takes the most loaded of many when choosing two distinct endpoints', () => {
    const endpoints = fakeEndpoints(10);
    endpoints.forEach((e, i) => {
      e.state.active = i;
    });
    const picker = new LeastRequestPicker({ random: seededRandom(2) });
    for (let i = 0; i < 500; i++) assert.notEqual(picker.pick(endpoints, {}), endpoints[9]);
  });

  it('with latencyAware, prefers the faster endpoint at equal load', () => {
    const endpoints = fakeEndpoints(2);
    const observer = new LatencyObserver(10_000, () => 0);
    observer.success(endpoints[0]!, 80);
    observer.success(endpoints[1]!, 5);
    const aware = new LeastRequestPicker({ latencyAware: true, random: seededRandom(3) });
    for (let i = 0; i < 50; i++) assert.equal(aware.pick(endpoints, {}), endpoints[1]);
    // Without latencyAware equal loads tie and the first random choice wins: both get picks.
    const plain = new LeastRequestPicker({ random: seededRandom(3) });
    assert.equal(new Set(Array.from({ length: 50 }, () => plain.pick(endpoints, {}))).size, 2);
  });
});

describe('latency EWMA observer', () => {
  it('jumps to a slower sample and decays towards faster ones over time', () => {
    let now = 0;
    const observer = new LatencyObserver(10_000, () => now);
    const endpoint = fakeEndpoint(1);
    observer.success(endpoint, 10);
    assert.equal(endpoint.state.latencyEwmaMs, 10);
    now = 1_000;
    observer.success(endpoint, 100);
    assert.equal(endpoint.state.latencyEwmaMs, 100, 'a slower sample is taken at once');
    now = 11_000;
    observer.success(endpoint, 10);
    const expected = 100 * Math.exp(-1) + 10 * (1 - Math.exp(-1));
    assert.ok(Math.abs(endpoint.state.latencyEwmaMs - expected) < 1e-9);
    observer.failure();
    assert.ok(Math.abs(endpoint.state.latencyEwmaMs - expected) < 1e-9);
  });
});

describe('EndpointState active watchers', () => {
  it('keeps active in JSON and forgets watchers that were unwatched', () => {
    const endpoint = fakeEndpoint(1);
    let calls = 0;
    const watcher = { activeChanged: () => calls++ };
    endpoint.state.watchActive(watcher);
    endpoint.state.active++;
    endpoint.state.unwatchActive(watcher);
    endpoint.state.active++;
    assert.equal(calls, 1);
    assert.equal(JSON.parse(JSON.stringify(endpoint.state)).active, 2);
  });
});
