/** The `balancing` config section: names, aliases, per-policy options and their errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AffinityRegistry } from '../../src/balancing/affinity.js';
import { POLICIES } from '../../src/balancing/policies.js';
import { balancingObservers, createPicker } from '../../src/balancing/registry.js';
import { checkBalancing } from '../../src/config/balancing-checks.js';
import { loadConfigText } from '../../src/config/load.js';
import { fakeEndpoints } from '../helpers/endpoints.js';

function load(balancing: string, top = '') {
  return loadConfigText(
    `${top}clusters:\n  - name: web\n    endpoints: ["10.0.0.1:80"]\n    balancing:\n${balancing
      .split('\n')
      .map((line) => `      ${line}`)
      .join('\n')}\n`,
    'portside.yaml',
  );
}

function problems(balancing: string): string[] {
  return load(balancing).problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
}

describe('balancing config', () => {
  it('accepts every policy name and alias, and builds a picker for it', () => {
    const spellings = Object.entries(POLICIES).flatMap(([name, aliases]) => [name, ...aliases]);
    assert.equal(spellings.length, 31);
    for (const spelling of spellings) {
      const result = load(`policy: ${spelling}`);
      assert.deepEqual(result.problems, [], spelling);
      const balancing = result.config!.clusters[0]!.balancing;
      const picker = createPicker(balancing, { cluster: 'web' });
      assert.ok(picker.pick(fakeEndpoints(3), {}), spelling);
    }
  });

  it('defaults to round_robin with no locality, affinity or slow start', () => {
    const result = loadConfigText('clusters:\n  - name: web\n    endpoints: ["10.0.0.1:80"]\n');
    assert.deepEqual(result.config!.clusters[0]!.balancing, {
      policy: 'round_robin',
      locality: 'any',
      slowStart: '0s',
    });
    assert.deepEqual(result.config!.node, {});
  });

  it('names an unknown policy, suggests the nearest, and lists the choices', () => {
    const [problem] = problems('policy: least_conections');
    assert.match(
      problem!,
      /^5:15 clusters\[0\]\.balancing\.policy: unknown balancing policy "least_conections"/,
    );
    assert.match(problem!, /did you mean "least_connections"/);
    assert.match(problem!, /source_hash \(sh\)/);
  });

  it('allows key only for policies that hash, and only in a known form', () => {
    for (const policy of ['sh', 'dh', 'ring_hash', 'mh', 'lblc', 'lblcr'])
      assert.deepEqual(problems(`policy: ${policy}\nkey: header:X-User`), [], policy);
    assert.deepEqual(problems('policy: maglev\nkey: query:user_id'), []);
    assert.deepEqual(problems('policy: sh\nkey: uri'), []);
    assert.match(
      problems('policy: rr\nkey: path')[0]!,
      /balancing\.key: "key" applies only to policies that hash \(source_hash \(sh\), destination_hash \(dh\),.*\), not rr/,
    );
    assert.match(
      problems('policy: sh\nkey: params:x')[0]!,
      /balancing\.key: unknown hash key "params:x"; write "client_ip"/,
    );
    assert.match(problems('policy: sh\nkey: query:a&b')[0]!, /not a valid query parameter name/);
  });

  it('takes minimumRingSize for ring_hash and a prime tableSize for maglev, and only there', () => {
    const ring = load('policy: ring_hash\nminimumRingSize: 4096').config!.clusters[0]!.balancing;
    assert.equal(ring.minimumRingSize, 4096);
    const maglev = load('policy: mh\ntableSize: 655373').config!.clusters[0]!.balancing;
    assert.equal(maglev.tableSize, 655_373);
    assert.ok(
      createPicker(maglev, { cluster: 'web' }).pick(fakeEndpoints(3), { clientAddress: '192.0.2.1' }),
    );
    assert.match(problems('policy: mh\ntableSize: 65536')[0]!, /65536 is not a prime; Maglev needs a prime/);
    assert.match(problems('policy: mh\ntableSize: 5000011')[0]!, /at most 655373/);
    assert.match(problems('policy: ring_hash\nminimumRingSize: 0')[0]!, /at least 1 ring point/);
    assert.match(
      problems('policy: sh\nminimumRingSize: 1024')[0]!,
      /"minimumRingSize" applies only to policy ring_hash, not sh/,
    );
    assert.match(
      problems('policy: ring_hash\ntableSize: 65537')[0]!,
      /"tableSize" applies only to policy maglev \(mh\), not ring_hash/,
    );
  });

  it('allows latencyAware only for least_request, and attaches the latency observer', () => {
    const result = load('policy: p2c\nlatencyAware: true');
    assert.equal(balancingObservers(result.config!.clusters[0]!.balancing).length, 1);
    assert.equal(balancingObservers({ policy: 'p2c' }).length, 0);
    assert.match(
      problems('policy: lc\nlatencyAware: true')[0]!,
      /"latencyAware" applies only to policy least_request \(p2c\)/,
    );
  });

  it('validates affinity, locality and slowStart, with Kubernetes’ 3h affinity default', () => {
    const result = load('affinity:\n  clientIp: {}\nlocality: prefer-local\nslowStart: 30s');
    assert.deepEqual(result.config!.clusters[0]!.balancing, {
      policy: 'round_robin',
      affinity: { clientIp: { timeout: '3h' } },
      locality: 'prefer-local',
      slowStart: '30s',
    });
    assert.ok(
      createPicker(result.config!.clusters[0]!.balancing, {
        cluster: 'web',
        affinity: new AffinityRegistry(),
      }),
    );
    assert.match(
      problems('locality: nearby')[0]!,
      /balancing\.locality: expected "any", "prefer-local" or "local-only"/,
    );
    assert.match(problems('slowStart: 30')[0]!, /balancing\.slowStart: expected a duration/);
    assert.match(
      problems('affinity:\n  clientIp:\n    timeout: soon')[0]!,
      /affinity\.clientIp\.timeout: invalid duration/,
    );
    assert.match(problems('affinity:\n  cookie: {}')[0]!, /unknown field "cookie"/);
  });

  it('reads this node’s name and zone for locality', () => {
    const result = load('locality: local-only', 'node:\n  name: worker-1\n  zone: eu-1a\n');
    assert.deepEqual(result.config!.node, { name: 'worker-1', zone: 'eu-1a' });
    assert.match(loadConfigText('node:\n  name: ""\n').problems[0]!.message, /node name must not be empty/);
  });
});

describe('balancing config checks', () => {
  it('warns when locality is asked for but this node has no name or zone', () => {
    const config = load('locality: local-only').config!;
    const [warning] = checkBalancing(config, {});
    assert.equal(warning?.severity, 'warning');
    assert.deepEqual(warning?.path, ['clusters', 0, 'balancing', 'locality']);
    assert.match(warning!.message, /no name or zone .* every connection will fail/);
    assert.deepEqual(checkBalancing(config, { NODE_NAME: 'worker-1' }), []);
    assert.deepEqual(checkBalancing(load('locality: prefer-local', 'node: { zone: a }\n').config!, {}), []);
  });
});
