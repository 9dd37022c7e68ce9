import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { Unavailable } from '../../src/core/endpoint.js';
import { timeLeft } from '../../src/explain/cluster.js';
import { ExplainError, explain } from '../../src/explain/explain.js';
import type { HttpExplanation, TcpExplanation } from '../../src/explain/explanation.js';
import { offlineWorld } from '../../src/explain/offline.js';
import { queryFromSearch, querySearch } from '../../src/explain/query.js';
import type { ExplainWorld } from '../../src/explain/world.js';
import { RouteMatcher } from '../../src/l7/route-match.js';

/** Two http listeners (one with a weighted canary route), a tcp one, static and DNS clusters. */
const YAML = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'explain.yaml'), 'utf8');

function config(text = YAML): Config {
  const { config, problems } = loadConfigText(text);
  assert.ok(config, problems.map((p) => p.message).join('\n'));
  return config;
}

const http = (world: ExplainWorld, method: string, url: string, headers: Record<string, string> = {}) =>
  explain(world, { kind: 'http', method, url, headers }).results as HttpExplanation[];

describe('explain (offline)', () => {
  it('names the matching route and every condition each earlier route fails', () => {
    const explanation = explain(offlineWorld(config()), {
      kind: 'http',
      method: 'GET',
      url: 'http://API.local:18080/api/users?x=1',
      headers: {},
    });
    assert.match(explanation.notes[0]!, /static endpoints, health not known, discovery not contacted/);
    const [web] = explanation.results as HttpExplanation[];
    assert.equal(web!.listener.name, 'web', 'the listener on the URL port');
    assert.deepEqual(
      web!.routes.map((r) => [r.name, r.matched, r.reasons]),
      [
        [
          'admin-only',
          false,
          [
            'host: wants "admin.local", got Host "api.local"',
            'path: wants prefix "/admin" (whole segments), got "/api/users"',
          ],
        ],
        ['canary', false, ['method: wants POST, got GET', 'header x-canary: wants "1", got absent']],
        ['api', true, []],
      ],
    );
    assert.deepEqual(web!.forward, { path: '/v2/users?x=1', host: 'API.local:18080' });
    assert.equal(web!.answer, undefined);
    const [api] = web!.clusters;
    assert.equal(api!.name, 'api');
    assert.deepEqual(
      api!.endpoints.map((e) => [e.address, e.weight, e.usable]),
      [
        ['10.0.0.1:80', 1, true],
        ['10.0.0.2:80', 3, true],
      ],
    );
    assert.ok(api!.notes.some((n) => n.includes('HTTP GET /healthz')));
    assert.equal(api!.notes.length, 1);
    // Smooth weighted round robin with weights 1 and 3 starts with the heavier endpoint.
    assert.equal(api!.nextPick, '10.0.0.2:80');
  });

  it('shows a weighted route split and explains each cluster with a weight', () => {
    const world = offlineWorld(config());
    const [web] = http(world, 'POST', 'http://a.local:18080/api/x', { 'x-canary': '1' });
    assert.equal(web!.routes.at(-1)!.name, 'canary');
    assert.deepEqual(web!.split, [
      { cluster: 'api', weight: 90, percent: 90 },
      { cluster: 'canary', weight: 10, percent: 10 },
      { cluster: 'off', weight: 0, percent: 0 },
    ]);
    assert.deepEqual(
      web!.clusters.map((c) => c.name),
      ['api', 'canary'],
    );
    const [again] = http(world, 'POST', 'http://a.local:18080/api/x', { 'x-canary': '1', 'x-debug': 'on' });
    assert.deepEqual(again!.routes[1]!.reasons, ['header x-debug: wants it absent, got "on"']);
  });

  it('says what the proxy answers when it would not forward', () => {
    const world = offlineWorld(config());
    const [noRoute] = http(world, 'GET', 'http://a.local:18081/');
    assert.equal(noRoute!.listener.name, 'other');
    assert.match(noRoute!.answer!, /^404 no-route/);
    assert.deepEqual(noRoute!.routes[0]!.reasons, [
      'host: wants a subdomain of "example.com" (*.example.com), got Host "a.local"',
    ]);
    const [refused] = http(world, 'GET', 'http://a.local:18080/a%2Fb');
    assert.match(refused!.answer!, /^400 bad-request: the path is refused/);
    // Dot segments are resolved before matching, as the proxy does.
    const [dots] = http(world, 'GET', 'http://a.local:18080/admin/../api/x');
    assert.equal(dots!.request.path, '/api/x');
  });

  it('explains every http listener when the URL port names none, and refuses unknown listeners', () => {
    const world = offlineWorld(config());
    assert.deepEqual(
      http(world, 'GET', '/api').map((r) => r.listener.name),
      ['web', 'other'],
    );
    assert.throws(
      () => explain(world, { kind: 'http', method: 'GET', url: '/', headers: {}, listener: 'nope' }),
      (e: Error) =>
        e instanceof ExplainError && /no listener named or bound at "nope".*web \(http/.test(e.message),
    );
    assert.throws(() => explain(world, { kind: 'tcp', listener: 'web' }), /is an http listener/);
    assert.throws(() => http(world, 'GET', 'ftp://x/'), /is not a URL/);
  });

  it('finds a TCP listener by name, address or port; discovery is not contacted offline', () => {
    const world = offlineWorld(config());
    for (const wanted of ['redis', '127.0.0.1:16380', '16380']) {
      const [tcp] = explain(world, { kind: 'tcp', listener: wanted }).results as TcpExplanation[];
      assert.equal(tcp!.listener.name, 'redis', wanted);
      const [cache] = tcp!.clusters;
      assert.equal(cache!.endpointsFrom, 'dns A redis.internal');
      assert.equal(cache!.endpointsUnknown, true);
      assert.ok(cache!.notes.some((n) => n.includes('not contacted offline')));
    }
  });

  it('explains a UDP listener as it does a TCP one', () => {
    const world = offlineWorld(config());
    const [udp] = explain(world, { kind: 'tcp', listener: '127.0.0.1:15353' }).results as TcpExplanation[];
    assert.equal(udp!.kind, 'udp');
    assert.equal(udp!.listener.name, 'dns');
    assert.equal(udp!.clusters[0]!.nextPick, '10.0.0.3:80');
    assert.deepEqual(queryFromSearch(new URLSearchParams('udp=dns')), { kind: 'tcp', listener: 'dns' });
    assert.throws(
      () => explain(world, { kind: 'http', method: 'GET', url: '/', headers: {}, listener: 'dns' }),
      /listener dns is a udp listener: explain it with "udp dns"/,
    );
  });

  it('a TLS passthrough listener: the cluster its server-name lookup selects, or the refusal', () => {
    const world = offlineWorld(config());
    const tls = (serverName?: string) =>
      explain(world, { kind: 'tcp', listener: 'edge', ...(serverName ? { serverName } : {}) })
        .results[0] as TcpExplanation;
    const exact = tls('API.example.com');
    assert.equal(exact.kind, 'tls');
    assert.deepEqual(exact.serverName, {
      name: 'API.example.com',
      selectedBy: 'route 0 (sni: api.example.com)',
    });
    assert.deepEqual(
      exact.clusters.map((c) => c.name),
      ['api'],
    );
    assert.equal(tls('www.example.com').clusters[0]!.name, 'canary', 'one label under *.example.com');
    const none = tls('a.b.example.com');
    assert.deepEqual(none.clusters, []);
    assert.match(
      none.serverName!.selectedBy,
      /^nothing: no route lists this name and there is no defaultCluster/,
    );
    assert.match(none.answer!, /unrecognized_name/);
    assert.equal(tls().serverName!.name, null);
  });

  it('excludes endpoints off this node for locality local-only', () => {
    const text = `${YAML.replace('cluster: cache', 'cluster: local')}`;
    const [tcp] = explain(offlineWorld(config(text)), { kind: 'tcp', listener: 'redis' })
      .results as TcpExplanation[];
    const [local] = tcp!.clusters;
    assert.deepEqual(
      local!.endpoints.map((e) => [e.address, e.usable, e.reasons]),
      [
        ['10.0.1.1:80', false, ['not local: locality local-only wants node n2']],
        ['10.0.1.2:80', true, ['local (this node)']],
      ],
    );
    assert.equal(local!.nextPick, '10.0.1.2:80');
  });
});

describe('explain (hash policies see what the proxy gives them)', () => {
  const HASHED = `
listeners:
  - name: web
    address: 127.0.0.1:18080
    protocol: http
    routes: [{ match: {}, cluster: hashed }]
clusters:
  - name: hashed
    endpoints: [10.0.0.1:80, 10.0.0.2:80, 10.0.0.3:80, 10.0.0.4:80, 10.0.0.5:80, 10.0.0.6:80]
    balancing: { policy: ring_hash, key: "query:user" }
`;
  it('picks by the query of the request target, the same endpoint for the same key', () => {
    const world = offlineWorld(config(HASHED));
    const pick = (url: string) => http(world, 'GET', url)[0]!.clusters[0]!.nextPick;
    const users = Array.from({ length: 12 }, (_, i) => pick(`http://a:18080/x?user=u${i}`));
    assert.ok(new Set(users).size > 1, 'different users spread over endpoints');
    for (let i = 0; i < 12; i++)
      assert.equal(pick(`http://a:18080/other?user=u${i}`), users[i], `user u${i} sticks`);
  });
});

describe('explain (health flags)', () => {
  const tcpWorld = (setUp: (world: ExplainWorld) => void, memory?: ExplainWorld['healthMemory']) => {
    const base = offlineWorld(config(YAML.replace('cluster: cache', 'cluster: api')), 1_000_000);
    const world: ExplainWorld = { ...base, mode: 'live', ...(memory ? { healthMemory: memory } : {}) };
    setUp(world);
    return (explain(world, { kind: 'tcp', listener: 'redis' }).results[0] as TcpExplanation).clusters[0]!;
  };

  it('gives each flag its own reason, with the time left on an ejection', () => {
    const api = tcpWorld(
      (world) => {
        const [a, b] = world.cluster('api')!.endpoints;
        a!.state.setFlag(Unavailable.OutlierEjected, true);
        a!.state.setFlag(Unavailable.ActiveCheckFailed, true);
        b!.state.setFlag(Unavailable.DiscoveryNotReady, false);
      },
      () => ({
        active: { consecutiveFailures: 3, consecutiveSuccesses: 0, checked: true },
        outlier: { consecutiveFailures: 0, timesEjected: 1, ejectedUntil: 1_012_500, returnedAt: undefined },
      }),
    );
    const [a, b] = api.endpoints;
    assert.equal(a!.usable, false);
    assert.deepEqual(a!.flags, ['ActiveCheckFailed', 'OutlierEjected']);
    assert.deepEqual(a!.reasons, [
      'failing active health checks (3 in a row)',
      'ejected by outlier detection: 13s left',
    ]);
    assert.equal(a!.ejectionLeftMs, 12_500);
    assert.equal(a!.active, 0);
    assert.equal(b!.usable, true);
    assert.equal(api.nextPick, '10.0.0.2:80');
  });

  it('shows time left in whole seconds, rounded up', () => {
    assert.deepEqual([0, 1, 999, 59_001, 60_000, 298_500, 3_600_000, 3_661_000].map(timeLeft), [
      '0s',
      '1s',
      '1s',
      '1m',
      '1m',
      '4m59s',
      '1h',
      '1h1m1s',
    ]);
  });

  it('a draining endpoint is usable only when nothing else is; panic mode uses flagged ones', () => {
    const draining = tcpWorld((world) => {
      for (const e of world.cluster('api')!.endpoints) e.state.setFlag(Unavailable.Draining, true);
    });
    assert.deepEqual(
      draining.endpoints.map((e) => e.usable),
      [true, true],
    );
    const oneDraining = tcpWorld((world) => {
      world.cluster('api')!.endpoints[0]!.state.setFlag(Unavailable.Draining, true);
    });
    assert.deepEqual(
      oneDraining.endpoints.map((e) => [e.usable, e.reasons]),
      [
        [false, ['draining: used only when no other endpoint is usable']],
        [true, []],
      ],
    );
    const panic = tcpWorld((world) => {
      const cluster = world.cluster('api')!;
      for (const e of cluster.endpoints) e.state.setFlag(Unavailable.ActiveCheckFailed, true);
      cluster.excludeFlags = Unavailable.Draining;
    });
    assert.ok(panic.notes[0]!.startsWith('panic mode'));
    assert.deepEqual(
      panic.endpoints.map((e) => [e.usable, e.reasons]),
      [
        [true, ['failing active health checks', 'panic mode: used anyway']],
        [true, ['failing active health checks', 'panic mode: used anyway']],
      ],
    );
    assert.notEqual(panic.nextPick, null);
  });
});

describe('RouteMatcher.mismatches', () => {
  it('is empty exactly when matchesRequest is true (property)', () => {
    const pick = <T>(values: T[]) => fc.constantFrom(...values);
    const match = fc.record(
      {
        host: pick(['a.example.com', '*.example.com']),
        pathPrefix: pick(['/api', '/', '/api/']),
        methods: pick([['GET'], ['POST', 'PUT']]),
        headers: pick([{ 'x-a': '1' }, { 'x-a': { present: true } }, { 'x-a': { present: false } }]),
      },
      { requiredKeys: [] },
    );
    const request = fc.record({
      method: pick(['GET', 'POST', 'DELETE']),
      host: pick(['', 'a.example.com', 'example.com', 'b.a.example.com']),
      path: pick(['/', '/api', '/api/x', '/apix']),
      headers: pick([{}, { 'x-a': '1' }, { 'x-a': '2' }]),
    });
    fc.assert(
      fc.property(match, request, (m, r) => {
        const matcher = new RouteMatcher(m);
        const reasons = matcher.mismatches(r.method, r.host, r.path, r.headers);
        return (reasons.length === 0) === matcher.matchesRequest(r.method, r.host, r.path, r.headers);
      }),
    );
  });
});

describe('explain query parameters', () => {
  it('round-trip through the URL the CLI sends to /explain', () => {
    const query = {
      kind: 'http' as const,
      method: 'PUT',
      url: 'http://a/b?c=d&e',
      headers: { 'x-a': '1, 2', cookie: 'k=v; w=x' },
      listener: 'web',
      clientAddress: '10.1.1.1',
    };
    assert.deepEqual(queryFromSearch(querySearch(query)), query);
    assert.deepEqual(queryFromSearch(querySearch({ kind: 'tcp', listener: 'redis' })), {
      kind: 'tcp',
      listener: 'redis',
    });
    assert.match(String(queryFromSearch(new URLSearchParams('method=GET'))), /give url=/);
    assert.match(String(queryFromSearch(new URLSearchParams('url=/&header=nocolon'))), /is not a header/);
  });
});
