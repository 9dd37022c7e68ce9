/** Session affinity, locality and slow start, each wrapped around a plain policy. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AffinityPicker, AffinityRegistry, MAX_BINDINGS } from '../../src/balancing/affinity.js';
import { LocalityPicker, resolveSelfLocality } from '../../src/balancing/locality.js';
import type { PickContext, Picker } from '../../src/balancing/picker.js';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { SlowStartPicker } from '../../src/balancing/slow-start.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { countPicks, fakeEndpoint, fakeEndpoints, seededRandom } from '../helpers/endpoints.js';

const HOUR = 3_600_000;

describe('session affinity (ClientIP)', { timeout: 20_000 }, () => {
  it('holds a client on its endpoint until the timeout since its last use, then re-picks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 3 * HOUR }),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (timeout, gaps) => {
          const endpoints = fakeEndpoints(4);
          const registry = new AffinityRegistry();
          let innerCalls = 0;
          const roundRobin = new RoundRobinPicker();
          const inner: Picker = {
            pick: (e, c) => {
              innerCalls++;
              return roundRobin.pick(e, c);
            },
          };
          const picker = new AffinityPicker(inner, registry.tableFor('web'), timeout);
          let now = 0;
          const bound = picker.pick(endpoints, { clientAddress: '192.0.2.1', now });
          // Another client takes the next endpoint in turn; it must not disturb the first.
          picker.pick(endpoints, { clientAddress: '192.0.2.2', now });
          for (const gap of gaps) {
            now += Math.floor(gap * timeout);
            assert.equal(picker.pick(endpoints, { clientAddress: '192.0.2.1', now }), bound);
          }
          assert.equal(innerCalls, 2, 'the bound client never asked the policy again');
          now += timeout;
          picker.pick(endpoints, { clientAddress: '192.0.2.1', now });
          assert.equal(innerCalls, 3, 'after the timeout the policy picks again');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('moves a client when its endpoint goes away or becomes unusable, and keeps the new one', () => {
    const endpoints = fakeEndpoints(3);
    const picker = new AffinityPicker(new RoundRobinPicker(), new AffinityRegistry().tableFor('web'), HOUR);
    const client: PickContext = { clientAddress: '192.0.2.1', now: 0 };
    const first = picker.pick(endpoints, client)!;
    const without = endpoints.filter((e) => e !== first);
    const second = picker.pick(without, client)!;
    assert.notEqual(second, first);
    assert.equal(
      picker.pick(endpoints, client),
      second,
      'stays on the new endpoint when the old one returns',
    );
    second.state.setFlag(Unavailable.OutlierEjected, true);
    const third = picker.pick(endpoints, client)!;
    assert.ok(third !== second && third.state.flags === 0);
    assert.equal(picker.pick(endpoints, { ...client, tried: new Set([third]) })?.state.flags, 0);
  });

  it('survives a reload: a new picker with the same registry keeps the bindings', () => {
    const endpoints = fakeEndpoints(5);
    const registry = new AffinityRegistry();
    const before = new AffinityPicker(new RoundRobinPicker(), registry.tableFor('web'), HOUR);
    const bound = Array.from({ length: 5 }, (_, i) =>
      before.pick(endpoints, { clientAddress: `192.0.2.${i}` }),
    );
    const after = new AffinityPicker(new RoundRobinPicker(), registry.tableFor('web'), HOUR);
    // The new generation's policy would start over at endpoint 0; affinity overrides it.
    for (let i = 4; i >= 0; i--)
      assert.equal(after.pick(endpoints.slice(), { clientAddress: `192.0.2.${i}` }), bound[i]);
    registry.retainOnly(['other']);
    assert.equal(registry.tableFor('web').size, 0);
  });

  it('expires idle bindings so the table does not grow without bound', () => {
    const table = new AffinityRegistry().tableFor('web');
    const picker = new AffinityPicker(new RoundRobinPicker(), table, 1_000);
    const endpoints = fakeEndpoints(2);
    for (let i = 0; i < 100; i++) picker.pick(endpoints, { clientAddress: `198.51.100.${i}`, now: i });
    assert.equal(table.size, 100);
    picker.pick(endpoints, { clientAddress: '203.0.113.1', now: 1_050 });
    assert.equal(table.size, 50, 'clients last seen 1s or more ago are forgotten');
  });
});

describe('locality', () => {
  const self = { node: 'n1', zone: 'z1' };
  const make = () => [
    fakeEndpoint(1, { locality: { node: 'n2', zone: 'z2' } }),
    fakeEndpoint(2, { locality: { node: 'n3', zone: 'z1' } }),
    fakeEndpoint(3, { locality: { node: 'n1', zone: 'z1' } }),
    fakeEndpoint(4, {}),
  ];

  it('prefer-local: this node, then this zone, then any', () => {
    const endpoints = make();
    const picker = new LocalityPicker('prefer-local', self, () => new RoundRobinPicker());
    const pickSet = () => new Set(Array.from({ length: 8 }, () => picker.pick(endpoints, {})));
    assert.deepEqual(pickSet(), new Set([endpoints[2]]));
    endpoints[2]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    assert.deepEqual(pickSet(), new Set([endpoints[1]]));
    endpoints[1]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    assert.deepEqual(pickSet(), new Set([endpoints[0], endpoints[3]]));
  });

  it('local-only: this node or nothing', () => {
    const endpoints = make();
    const picker = new LocalityPicker('local-only', self, () => new RoundRobinPicker());
    assert.equal(picker.pick(endpoints, {}), endpoints[2]);
    endpoints[2]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    assert.equal(picker.pick(endpoints, {}), undefined);
    const noIdentity = new LocalityPicker('local-only', {}, () => new RoundRobinPicker());
    assert.equal(noIdentity.pick(make(), {}), undefined);
  });

  it('takes its own node and zone from config, else NODE_NAME and ZONE', () => {
    assert.deepEqual(resolveSelfLocality({}, { NODE_NAME: 'a', ZONE: 'b' }), { node: 'a', zone: 'b' });
    assert.deepEqual(resolveSelfLocality({ name: 'x' }, { NODE_NAME: 'a', ZONE: 'b' }), {
      node: 'x',
      zone: 'b',
    });
    assert.deepEqual(resolveSelfLocality({}, {}), {});
  });
});

describe('slow start', () => {
  const WINDOW = 30_000;

  function shareOfNew(elapsed: number): number {
    const old = fakeEndpoints(3);
    const fresh = fakeEndpoint(9, { availableSince: 100_000 });
    const endpoints: Endpoint[] = [...old, fresh];
    const picker = new SlowStartPicker(new RoundRobinPicker(), WINDOW, seededRandom(5));
    const counts = countPicks(() => picker.pick(endpoints, { now: 100_000 + elapsed }), 20_000);
    return (counts.get(fresh) ?? 0) / 20_000;
  }

  it('ramps a newly available endpoint’s share up over the window', () => {
    const shares = [0, 0.25, 0.5, 1].map((f) => shareOfNew(f * WINDOW));
    for (let i = 1; i < shares.length; i++) assert.ok(shares[i]! > shares[i - 1]!, `shares ${shares}`);
    assert.ok(
      shares[0]! > 0.01 && shares[0]! < 0.06,
      `a new endpoint gets about 10% of its share: ${shares[0]}`,
    );
    assert.ok(Math.abs(shares[3]! - 0.25) < 0.01, `after the window it gets its full share: ${shares[3]}`);
  });

  it('does not ramp endpoints that were all there from the start', () => {
    const endpoints = fakeEndpoints(4).map((_, i) => fakeEndpoint(i + 1, { availableSince: 5_000 + i }));
    const picker = new SlowStartPicker(new RoundRobinPicker(), WINDOW, seededRandom(6));
    const counts = countPicks(() => picker.pick(endpoints, { now: 5_010 }), 400);
    for (const endpoint of endpoints) assert.equal(counts.get(endpoint), 100);
  });
});

describe('affinity table bound', () => {
  it('evicts the least recently used binding beyond MAX_BINDINGS', () => {
    const table = new AffinityRegistry().tableFor('web');
    const picker = new AffinityPicker(new RoundRobinPicker(), table, HOUR);
    const endpoints = fakeEndpoints(2);
    for (let i = 0; i <= MAX_BINDINGS; i++) picker.pick(endpoints, { clientAddress: `c${i}`, now: 0 });
    assert.equal(table.size, MAX_BINDINGS);
    assert.ok(!table.bindings.has('c0') && table.bindings.has(`c${MAX_BINDINGS}`));
  });
});
