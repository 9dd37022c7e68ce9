/** failover (fo), overflow (ovf) and HAProxy first: the first usable endpoint in a fixed order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Picker } from '../../src/balancing/picker.js';
import { createPicker } from '../../src/balancing/registry.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { fakeEndpoints } from '../helpers/endpoints.js';

const make = (policy: string): Picker => createPicker({ policy }, { cluster: 'c' });

/** Opens `count` connections through the picker (each pick adds one active connection). */
function open(picker: Picker, endpoints: readonly Endpoint[], count: number): Map<Endpoint, number> {
  const counts = new Map<Endpoint, number>();
  for (let i = 0; i < count; i++) {
    const endpoint = picker.pick(endpoints, {})!;
    endpoint.state.active++;
    counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
  }
  return counts;
}

describe('failover (fo)', () => {
  it('sends everything to the heaviest usable endpoint, the first listed among equals', () => {
    const endpoints = fakeEndpoints(4, [2, 5, 5, 1]);
    const picker = make('fo');
    assert.deepEqual([...open(picker, endpoints, 100)], [[endpoints[1], 100]]);
  });

  it('fails over in weight order and comes back when the heavier one recovers', () => {
    const endpoints = fakeEndpoints(3, [1, 3, 2]);
    const picker = make('failover');
    endpoints[1]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    assert.equal(picker.pick(endpoints, {}), endpoints[2]);
    endpoints[2]!.state.setFlag(Unavailable.OutlierEjected, true);
    assert.equal(picker.pick(endpoints, {}), endpoints[0]);
    endpoints[1]!.state.setFlag(Unavailable.ActiveCheckFailed, false);
    assert.equal(picker.pick(endpoints, {}), endpoints[1]);
  });
});

describe('overflow (ovf)', () => {
  it('fills the heaviest endpoint up to its weight in connections, then the next heaviest', () => {
    const endpoints = fakeEndpoints(3, [2, 5, 3]);
    const counts = open(make('ovf'), endpoints, 10);
    assert.deepEqual(
      endpoints.map((e) => counts.get(e) ?? 0),
      [2, 5, 3],
    );
    endpoints[1]!.state.active = 4; // one connection closed on the heaviest
    assert.equal(make('ovf').pick(endpoints, {}), endpoints[1], 'a freed slot on the heaviest is used first');
  });

  it('when every endpoint is full, takes the least loaded by active / weight', () => {
    const endpoints = fakeEndpoints(3, [2, 4, 1]);
    endpoints[0]!.state.active = 3; // 1.5
    endpoints[1]!.state.active = 5; // 1.25
    endpoints[2]!.state.active = 2; // 2
    assert.equal(make('overflow').pick(endpoints, {}), endpoints[1]);
  });

  it('skips unusable endpoints however empty they are', () => {
    const endpoints = fakeEndpoints(2, [5, 1]);
    endpoints[0]!.state.setFlag(Unavailable.Draining, true);
    assert.deepEqual([...open(make('ovf'), endpoints, 3)], [[endpoints[1], 3]]);
  });
});

describe('first (HAProxy)', () => {
  it('fills endpoints in listed order, each up to its weight, whatever the weights', () => {
    const endpoints = fakeEndpoints(3, [1, 5, 2]);
    const picker = make('first');
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      const e = picker.pick(endpoints, {})!;
      e.state.active++;
      order.push(e.id.slice(7, 8));
    }
    assert.equal(order.join(''), '12222233');
    endpoints[0]!.state.active = 0;
    assert.equal(picker.pick(endpoints, {}), endpoints[0], 'the first endpoint has a slot again');
  });
});
