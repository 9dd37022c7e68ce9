/** Maglev hashing (maglev / mh): balance, minimal disruption, weights and availability. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPrime, MaglevPicker, MaglevTable } from '../../src/balancing/maglev.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { fakeEndpoint, fakeEndpoints, seededRandom } from '../helpers/endpoints.js';
import { assignClients, clientOf, KEYS, keyMoves } from '../helpers/hashing.js';

/** Slots of the table each endpoint owns. */
function slotShares(table: MaglevTable, endpoints: readonly Endpoint[]): Map<Endpoint, number> {
  const counts = new Map<Endpoint, number>();
  for (let hash = 0; hash < table.size; hash++) {
    const endpoint = table.find(hash, endpoints, {})!;
    counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
  }
  return counts;
}

describe('maglev hashing', { timeout: 60_000 }, () => {
  it('removing one of N endpoints moves its own keys and under 1% of the others', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 50 }), fc.nat(), (n, which) => {
        const endpoints = fakeEndpoints(n);
        const removed = endpoints[which % n]!;
        const picker = new MaglevPicker();
        const before = assignClients(picker, endpoints);
        const after = assignClients(
          picker,
          endpoints.filter((e) => e !== removed),
        );
        const { moved, needlessly: others } = keyMoves(before, after, removed);
        for (let i = 0; i < KEYS; i++) if (before[i] === removed) assert.notEqual(after[i], removed);
        assert.ok(others <= 0.01 * KEYS, `N=${n}: ${others} keys of endpoints still present moved`);
        assert.ok(moved <= (1.2 / n + 0.01) * KEYS, `N=${n}: ${moved} of ${KEYS} keys moved`);
      }),
      { numRuns: 10 },
    );
  });

  it('adding an endpoint moves about 1/(N+1) of the keys, nearly all to it', () => {
    const endpoints = fakeEndpoints(9);
    const picker = new MaglevPicker();
    const before = assignClients(picker, endpoints);
    const added = fakeEndpoint(99);
    const after = assignClients(picker, [...endpoints.slice(0, 4), added, ...endpoints.slice(4)]);
    const { moved, needlessly: toOthers } = keyMoves(before, after, added);
    assert.ok(moved > 0.08 * KEYS && moved <= 0.12 * KEYS, `${moved} keys moved`);
    assert.ok(toOthers <= 0.01 * KEYS, `${toOthers} keys moved between old endpoints`);
  });

  it('gives each endpoint its weight’s share of the table, within 0.5%', () => {
    for (const weights of [
      [1, 1, 1, 1, 1, 1, 1],
      [1, 2, 5],
      [10, 1, 1, 3],
    ]) {
      const endpoints = fakeEndpoints(weights.length, weights);
      const table = MaglevTable.build(endpoints);
      const total = weights.reduce((a, b) => a + b, 0);
      const shares = slotShares(table, endpoints);
      for (const e of endpoints) {
        const share = (shares.get(e) ?? 0) / table.size;
        assert.ok(Math.abs(share - e.weight / total) < 0.005, `${weights}: ${e.id} has ${share}`);
      }
    }
  });

  it('spreads keys evenly: 100,000 client addresses over 10 endpoints within 3% of a tenth', () => {
    const endpoints = fakeEndpoints(10);
    const counts = new Map<Endpoint | undefined, number>();
    for (const e of assignClients(new MaglevPicker(), endpoints)) counts.set(e, (counts.get(e) ?? 0) + 1);
    for (const e of endpoints) {
      const share = (counts.get(e) ?? 0) / KEYS;
      assert.ok(Math.abs(share - 0.1) < 0.003, `${e.id}: ${share}`);
    }
  });

  it('builds the same table whatever order discovery lists the endpoints in', () => {
    const endpoints = fakeEndpoints(12, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    const shuffled = endpoints.slice();
    const random = seededRandom(5);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const a = assignClients(new MaglevPicker(), endpoints);
    const b = assignClients(new MaglevPicker(), shuffled);
    for (let i = 0; i < KEYS; i += 97) assert.equal(a[i], b[i], `key ${clientOf(i)}`);
  });

  it('an unusable endpoint’s keys spread over the others and come back when it recovers', () => {
    const endpoints = fakeEndpoints(5);
    const picker = new MaglevPicker();
    const before = assignClients(picker, endpoints);
    endpoints[2]!.state.setFlag(Unavailable.OutlierEjected, true);
    const during = assignClients(picker, endpoints);
    const movedTo = new Set<Endpoint | undefined>();
    for (let i = 0; i < KEYS; i++) {
      if (before[i] === endpoints[2]) {
        assert.notEqual(during[i], endpoints[2]);
        movedTo.add(during[i]);
      } else assert.equal(during[i], before[i]);
    }
    assert.equal(movedTo.size, 4, 'its keys went to every other endpoint, not to one neighbour');
    endpoints[2]!.state.setFlag(Unavailable.OutlierEjected, false);
    assert.deepEqual(assignClients(picker, endpoints), before);
  });

  it('finds the last usable endpoint when nearly all are down, and none when all are', () => {
    const endpoints = fakeEndpoints(300);
    for (const e of endpoints.slice(1)) e.state.setFlag(Unavailable.ActiveCheckFailed, true);
    const picker = new MaglevPicker();
    for (const e of assignClients(picker, endpoints).slice(0, 1000)) assert.equal(e, endpoints[0]);
    endpoints[0]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    assert.equal(picker.pick(endpoints, { clientAddress: '192.0.2.1' }), undefined);
  });

  it('takes any prime table size and refuses others', () => {
    assert.deepEqual([2, 3, 251, 65_537, 655_373, 5_000_011].map(isPrime), [
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    assert.deepEqual([0, 1, 4, 65_536, 5_000_013 * 3].map(isPrime), [false, false, false, false, false]);
    const endpoints = fakeEndpoints(3);
    const small = MaglevTable.build(endpoints, 251);
    assert.equal(small.size, 251);
    assert.equal(slotShares(small, endpoints).size, 3);
    assert.throws(() => MaglevTable.build(endpoints, 1000), /1000 is not a prime/);
  });
});
