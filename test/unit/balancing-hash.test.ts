/** Property tests for source_hash: consistent hashing moves only the keys it must. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseHashKey } from '../../src/balancing/hash-key.js';
import { SourceHashPicker } from '../../src/balancing/source-hash.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { fakeEndpoint, fakeEndpoints } from '../helpers/endpoints.js';
import { assignClients, KEYS, keyMoves } from '../helpers/hashing.js';

describe('source_hash consistent hashing', { timeout: 60_000 }, () => {
  it('removing one of N endpoints moves at most 1.2/N of the keys, and only that endpoint’s', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 50 }), fc.nat(), (n, which) => {
        const endpoints = fakeEndpoints(n);
        const removed = endpoints[which % n]!;
        const picker = new SourceHashPicker();
        const before = assignClients(picker, endpoints);
        const after = assignClients(
          picker,
          endpoints.filter((e) => e !== removed),
        );
        const { moved, needlessly } = keyMoves(before, after, removed);
        assert.equal(needlessly, 0, `N=${n}: keys of endpoints still present moved`);
        assert.ok(moved <= (1.2 * KEYS) / n, `${moved} of ${KEYS} keys moved for N=${n}, more than 1.2/N`);
      }),
      { numRuns: 10 },
    );
  });

  it('adding an endpoint moves keys only to it, about 1/(N+1) of them', () => {
    const endpoints = fakeEndpoints(9);
    const picker = new SourceHashPicker();
    const before = assignClients(picker, endpoints);
    const added = fakeEndpoint(99);
    const after = assignClients(picker, [...endpoints.slice(0, 4), added, ...endpoints.slice(4)]);
    const { moved, needlessly } = keyMoves(before, after, added);
    assert.equal(needlessly, 0, 'keys moved between endpoints that were there before');
    assert.ok(moved > 0 && moved <= (1.2 * KEYS) / 10, `${moved} keys moved`);
  });

  it('an unusable endpoint’s keys go elsewhere and come back when it recovers; others stay', () => {
    const endpoints = fakeEndpoints(5);
    const picker = new SourceHashPicker();
    const before = assignClients(picker, endpoints);
    endpoints[2]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    const during = assignClients(picker, endpoints);
    endpoints[2]!.state.setFlag(Unavailable.ActiveCheckFailed, false);
    const recovered = assignClients(picker, endpoints);
    for (let i = 0; i < KEYS; i++) {
      if (before[i] === endpoints[2]) assert.notEqual(during[i], endpoints[2]);
      else assert.equal(during[i], before[i]);
      assert.equal(recovered[i], before[i]);
    }
  });

  it('finds the last usable endpoint quickly when nearly all are down', () => {
    const endpoints = fakeEndpoints(200);
    for (const e of endpoints.slice(1)) e.state.setFlag(Unavailable.ActiveCheckFailed, true);
    const picker = new SourceHashPicker();
    for (const e of assignClients(picker, endpoints).slice(0, 1000)) assert.equal(e, endpoints[0]);
    endpoints[0]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    assert.equal(picker.pick(endpoints, { clientAddress: '192.0.2.1' }), undefined);
  });

  it('spreads keys over endpoints in proportion to weight', () => {
    const endpoints = fakeEndpoints(3, [1, 2, 5]);
    const counts = new Map<Endpoint | undefined, number>();
    for (const e of assignClients(new SourceHashPicker(), endpoints)) counts.set(e, (counts.get(e) ?? 0) + 1);
    endpoints.forEach((e) => {
      const share = (counts.get(e) ?? 0) / KEYS;
      assert.ok(Math.abs(share - e.weight / 8) < 0.03, `${e.id}: ${share}`);
    });
  });

  it('hashes a header, a cookie or the path for L7, and falls back to any endpoint without one', () => {
    const endpoints = fakeEndpoints(20);
    const byKey = (key: string) =>
      new SourceHashPicker(parseHashKey(key) as Exclude<ReturnType<typeof parseHashKey>, string>);
    const header = byKey('header:X-User');
    const cookie = byKey('cookie:session');
    const path = byKey('path');
    for (let i = 0; i < 50; i++) {
      const request = (headers: Record<string, string>, p = '/') => ({ request: { headers, path: p } });
      const user = `user-${i}`;
      const first = header.pick(endpoints, request({ 'x-user': user }));
      assert.equal(header.pick(endpoints, request({ 'x-user': user, other: 'x' })), first);
      const c = cookie.pick(endpoints, request({ cookie: `a=1; session=${user}; b=2` }));
      assert.equal(cookie.pick(endpoints, request({ cookie: `session=${user}` })), c);
      const byPath = path.pick(endpoints, request({}, `/items/${i}?page=1`));
      assert.equal(path.pick(endpoints, request({}, `/items/${i}?page=2`)), byPath);
    }
    const seen = new Set<Endpoint | undefined>();
    for (let i = 0; i < 200; i++) seen.add(header.pick(endpoints, {}));
    assert.ok(!seen.has(undefined) && seen.size > 1, 'without the key, picks spread over endpoints');
  });

  it('rejects hash keys it cannot use, with a message saying what is allowed', () => {
    assert.match(parseHashKey('client') as string, /client_ip.*header:NAME.*cookie:NAME/);
    assert.match(parseHashKey('header:') as string, /not a valid header name/);
    assert.deepEqual(parseHashKey('header:X-Id'), { kind: 'header', name: 'x-id' });
  });
});
