/**
 * The contract every balancing policy keeps, with and without the affinity, locality and
 * slow-start wrappers: one suite, run for each (hono's runTest({ newRouter }) pattern).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AffinityRegistry } from '../../src/balancing/affinity.js';
import type { PickContext, Picker } from '../../src/balancing/picker.js';
import { POLICIES, type PolicyName } from '../../src/balancing/policies.js';
import { type BalancingOptions, createPicker } from '../../src/balancing/registry.js';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { type Endpoint, Unavailable } from '../../src/core/endpoint.js';
import { fakeEndpoint, fakeEndpoints, seededRandom } from '../helpers/endpoints.js';

interface Variant {
  name: string;
  make: () => Picker;
}

const variants: Variant[] = [];
for (const policy of Object.keys(POLICIES) as PolicyName[]) {
  const make =
    (extra: Partial<BalancingOptions> = {}) =>
    () =>
      createPicker(
        { policy, ...extra },
        {
          cluster: 'c',
          affinity: new AffinityRegistry(),
          self: { node: 'n1', zone: 'z1' },
          random: seededRandom(7),
        },
      );
  variants.push({ name: policy, make: make() });
  variants.push({ name: `${policy} + affinity`, make: make({ affinity: { clientIp: { timeout: '3h' } } }) });
  variants.push({ name: `${policy} + prefer-local`, make: make({ locality: 'prefer-local' }) });
  variants.push({ name: `${policy} + slowStart`, make: make({ slowStart: '30s' }) });
}

// Smooth round robin's fallback for periods too long to precompute.
variants.push({ name: 'round_robin (earliest deadline first)', make: () => new RoundRobinPicker(0) });

const contexts: PickContext[] = [
  {},
  { clientAddress: '192.0.2.7' },
  { clientAddress: '2001:db8::1', request: { headers: { cookie: 'a=b' }, path: '/x?y=1' } },
];

function pickMany(picker: Picker, endpoints: readonly Endpoint[], count: number, base: PickContext = {}) {
  const picked: (Endpoint | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const context = { ...contexts[i % contexts.length], ...base, clientAddress: `198.51.100.${i % 50}` };
    picked.push(picker.pick(endpoints, context));
  }
  return picked;
}

for (const variant of variants) {
  describe(`picker contract: ${variant.name}`, { timeout: 10_000 }, () => {
    it('skips unusable endpoints', () => {
      const picker = variant.make();
      const endpoints = fakeEndpoints(6, [1, 2, 3, 1, 2, 3]);
      endpoints[0]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
      endpoints[3]!.state.setFlag(Unavailable.OutlierEjected, true);
      endpoints[5]!.state.setFlag(Unavailable.Draining, true);
      const picked = pickMany(picker, endpoints, 300);
      for (const endpoint of picked) {
        assert.ok(endpoint, 'a usable endpoint exists, so every pick succeeds');
        assert.equal(endpoint.state.flags, 0, `picked unusable ${endpoint.id}`);
      }
      assert.ok(new Set(picked).size >= 1);
    });

    it('uses flagged endpoints when the context relaxes excludeFlags', () => {
      const picker = variant.make();
      const endpoints = fakeEndpoints(3);
      for (const e of endpoints) e.state.setFlag(Unavailable.Draining, true);
      assert.equal(picker.pick(endpoints, {}), undefined);
      const relaxed = picker.pick(endpoints, { excludeFlags: Unavailable.ActiveCheckFailed });
      assert.ok(relaxed && endpoints.includes(relaxed));
    });

    it('returns undefined when no endpoint is usable, and for an empty set', () => {
      const picker = variant.make();
      const endpoints = fakeEndpoints(4);
      for (const e of endpoints) e.state.setFlag(Unavailable.DiscoveryNotReady, true);
      for (const context of contexts) assert.equal(picker.pick(endpoints, { ...context }), undefined);
      assert.equal(picker.pick([], {}), undefined);
    });

    it('tolerates an empty context', () => {
      const picker = variant.make();
      const endpoints = fakeEndpoints(5);
      for (let i = 0; i < 50; i++) {
        const endpoint = picker.pick(endpoints, {});
        assert.ok(endpoint && endpoints.includes(endpoint));
      }
    });

    it('survives endpoints being added and removed between picks', () => {
      const picker = variant.make();
      let endpoints = fakeEndpoints(5);
      let next = 100;
      const random = seededRandom(3);
      for (let round = 0; round < 200; round++) {
        const copy = endpoints.slice();
        if (copy.length > 1 && random() < 0.5) copy.splice(Math.floor(random() * copy.length), 1);
        else
          copy.splice(
            Math.floor(random() * (copy.length + 1)),
            0,
            fakeEndpoint(next++, { weight: 1 + (next % 3) }),
          );
        endpoints = copy;
        const endpoint = picker.pick(endpoints, { clientAddress: `203.0.113.${round % 7}` });
        assert.ok(endpoint, `round ${round}: no pick from ${endpoints.length} usable endpoints`);
        assert.ok(
          endpoints.includes(endpoint),
          `round ${round}: picked ${endpoint.id}, which is not in the current set`,
        );
      }
      assert.equal(picker.pick([], {}), undefined);
    });

    it('never picks an endpoint in context.tried', () => {
      const picker = variant.make();
      const endpoints = fakeEndpoints(4, [3, 1, 1, 2]);
      for (let i = 0; i < 100; i++) {
        const tried = new Set([endpoints[i % 4]!, endpoints[(i + 1) % 4]!]);
        const endpoint = picker.pick(endpoints, { clientAddress: '192.0.2.1', tried });
        assert.ok(endpoint, 'two untried endpoints remain');
        assert.ok(!tried.has(endpoint), `picked ${endpoint.id}, already tried`);
      }
      assert.equal(
        picker.pick(endpoints, { clientAddress: '192.0.2.1', tried: new Set(endpoints) }),
        undefined,
      );
    });
  });
}
