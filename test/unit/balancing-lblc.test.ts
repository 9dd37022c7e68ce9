/** IPVS lblc and lblcr: a key stays on its endpoint(s) until overloaded, then goes to the least connected. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HashKey } from '../../src/balancing/hash-key.js';
import {
  LocalityLeastConnectionsPicker,
  SHRINK_AFTER_MS,
} from '../../src/balancing/locality-least-connections.js';
import type { PickContext } from '../../src/balancing/picker.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { fakeEndpoints } from '../helpers/endpoints.js';

const DESTINATION: HashKey = { kind: 'destination' };
const to = (path: string, now = 1000): PickContext => ({
  request: { headers: {}, path, host: 'cache.example' },
  now,
});
const setActive = (endpoints: readonly Endpoint[], active: readonly number[]) =>
  endpoints.forEach((e, i) => {
    e.state.active = active[i]!;
  });

describe('locality_least_connections (lblc)', () => {
  it('keeps a key on its endpoint up to its weight in connections, even when others are idle', () => {
    const endpoints = fakeEndpoints(4, [10, 10, 10, 10]);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, false);
    const owner = picker.pick(endpoints, to('/a'))!;
    owner.state.active = 10;
    for (let i = 0; i < 20; i++) assert.equal(picker.pick(endpoints, to('/a')), owner);
    const other = picker.pick(endpoints, to('/b'));
    assert.notEqual(other, owner, 'a new key goes to the least connected endpoint');
  });

  it('moves an overloaded key to the least connected endpoint only if that one is under half its weight', () => {
    const endpoints = fakeEndpoints(4, [10, 10, 10, 10]);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, false);
    const owner = picker.pick(endpoints, to('/a'))!;
    const others = endpoints.filter((e) => e !== owner);
    owner.state.active = 11;
    for (const e of others) e.state.active = 5;
    assert.equal(picker.pick(endpoints, to('/a')), owner, 'everyone is at least half busy: stay');
    others[1]!.state.active = 4;
    const moved = picker.pick(endpoints, to('/a'));
    assert.equal(moved, others[1], 'the least connected, now under half its weight');
    owner.state.active = 0;
    assert.equal(picker.pick(endpoints, to('/a')), moved, 'lblc moved the key: it does not go back');
  });

  it('spreads new keys by least connections, in proportion to weight', () => {
    const endpoints = fakeEndpoints(2, [1, 3]);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, false);
    const counts = new Map<Endpoint, number>();
    for (let i = 0; i < 400; i++) {
      const e = picker.pick(endpoints, to(`/k/${i}`))!;
      e.state.active++;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    assert.equal(counts.get(endpoints[0]!), 100);
    assert.equal(counts.get(endpoints[1]!), 300);
  });

  it('moves a key off an unusable or removed endpoint, and keeps it across a refresh of the same endpoint', () => {
    const endpoints = fakeEndpoints(3);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, false);
    const owner = picker.pick(endpoints, to('/a'))!;
    owner.state.setFlag(Unavailable.ActiveCheckFailed, true);
    const next = picker.pick(endpoints, to('/a'))!;
    assert.notEqual(next, owner);
    owner.state.setFlag(Unavailable.ActiveCheckFailed, false);
    setActive(endpoints, [0, 0, 0]);
    // Discovery sends a new array with a new object for the same endpoint: the key stays.
    const refreshed = endpoints.map((e) => (e === next ? { ...e } : e));
    assert.equal(picker.pick(refreshed, to('/a'))?.id, next.id);
    const without = refreshed.filter((e) => e.id !== next.id);
    const last = picker.pick(without, to('/a'))!;
    assert.ok(without.includes(last));
    assert.equal(picker.pick(without, to('/a')), last);
  });

  it('without a key, picks by least connections', () => {
    const endpoints = fakeEndpoints(3);
    setActive(endpoints, [4, 1, 3]);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, false);
    assert.equal(picker.pick(endpoints, {}), endpoints[1]);
  });
});

describe('locality_least_connections_replicated (lblcr)', () => {
  it('adds the least connected endpoint to an overloaded key’s set and uses the set’s least loaded', () => {
    const endpoints = fakeEndpoints(4, [10, 10, 10, 10]);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, true);
    const first = picker.pick(endpoints, to('/hot'))!;
    first.state.active = 11;
    const second = picker.pick(endpoints, to('/hot'))!;
    assert.notEqual(second, first);
    const members = new Set([first, second]);
    first.state.active = 5;
    second.state.active = 5;
    // Both members serve the key, each time the less loaded one; outsiders are idle but unused.
    for (let i = 0; i < 10; i++) {
      const e = picker.pick(endpoints, to('/hot'))!;
      assert.ok(members.has(e), `picked ${e.id}, not in the key's set`);
      e.state.active++;
    }
    assert.deepEqual([first.state.active, second.state.active], [10, 10], 'the set shares the load');
    first.state.active = 11;
    second.state.active = 11;
    const third = picker.pick(endpoints, to('/hot'))!;
    assert.ok(!members.has(third), 'both members overloaded: a third joins');
  });

  it('drops the busiest member of a set unchanged for SHRINK_AFTER_MS', () => {
    const endpoints = fakeEndpoints(3, [10, 10, 10]);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, true);
    const first = picker.pick(endpoints, to('/hot', 1000))!;
    first.state.active = 11;
    const second = picker.pick(endpoints, to('/hot', 2000))!;
    first.state.active = 3;
    second.state.active = 1;
    assert.equal(picker.pick(endpoints, to('/hot', 2000 + SHRINK_AFTER_MS)), second);
    assert.equal(
      picker.pick(endpoints, to('/hot', 2001 + SHRINK_AFTER_MS)),
      second,
      'shrunk: the busier member left',
    );
    second.state.active = 3;
    first.state.active = 0;
    assert.equal(
      picker.pick(endpoints, to('/hot', 2002 + SHRINK_AFTER_MS)),
      second,
      'only the other member remains',
    );
  });

  it('lblc never grows a set: the key moves instead', () => {
    const endpoints = fakeEndpoints(3, [10, 10, 10]);
    const picker = new LocalityLeastConnectionsPicker(DESTINATION, false);
    const first = picker.pick(endpoints, to('/hot'))!;
    first.state.active = 11;
    const second = picker.pick(endpoints, to('/hot'))!;
    first.state.active = 0;
    second.state.active = 9;
    assert.equal(picker.pick(endpoints, to('/hot')), second, 'the first endpoint left the key for good');
  });
});
