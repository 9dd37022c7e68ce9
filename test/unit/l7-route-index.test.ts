import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RouteMatchConfig } from '../../src/config/http-schema.js';
import { config as configSchema } from '../../src/config/schema.js';
import { INDEX_FROM, RouteIndex } from '../../src/l7/route-index.js';
import { hostOf, RouteMatcher } from '../../src/l7/route-match.js';
import { RouteTable } from '../../src/l7/route-table.js';

/** A route table as a listener builds it, from `match` objects run through the config schema. */
function table(matches: readonly Record<string, unknown>[]): RouteTable {
  const parsed = configSchema.parse({
    listeners: [
      {
        name: 'web',
        address: '127.0.0.1:0',
        protocol: 'http',
        routes: matches.map((match) => ({ match, cluster: 'c' })),
      },
    ],
    clusters: [{ name: 'c', endpoints: ['127.0.0.1:1'] }],
  });
  const listener = parsed.listeners[0]!;
  if (!('routes' in listener)) throw new Error('the schema did not produce an http listener');
  return new RouteTable(listener.routes);
}

/** The order rule without an index: the first matcher, in order, that accepts the request. */
function linearFirstMatch(
  matchers: readonly RouteMatcher[],
  method: string,
  host: string,
  path: string,
  headers: IncomingHttpHeaders,
): number {
  return matchers.findIndex((m) => m.matches({ method, host, path, headers }));
}

/** Tables this small are scanned in order; this one is forced onto the index, and checked against the table. */
function indexed(matches: readonly Record<string, unknown>[]) {
  const routes = table(matches);
  const index = new RouteIndex(
    routes.routes.map((r) => r.matcher),
    0,
  );
  return (path: string, host?: string, method = 'GET', headers: IncomingHttpHeaders = {}) => {
    const position = index.firstMatch(method, hostOf(host), path, headers);
    assert.equal(
      position,
      routes.find(method, host, path, headers)?.index ?? -1,
      'index and in-order scan differ',
    );
    return position < 0 ? undefined : position;
  };
}

describe('L7 route index keeps first-match order', () => {
  it('ignores the port and case of the Host header', () => {
    const routes = indexed([{ host: 'api.example.com' }, { pathPrefix: '/' }]);
    assert.equal(routes('/x', 'API.Example.com:8080'), 0);
    assert.equal(routes('/x', 'api.example.com'), 0);
    assert.equal(routes('/x', 'web.example.com'), 1);
    assert.equal(routes('/x', undefined), 1);
  });

  it('takes a wildcard host before an exact one when it comes first, and the other way round', () => {
    const wildcardFirst = indexed([
      { host: '*.example.com' },
      { host: 'api.example.com' },
      { host: '*.a.example.com' },
    ]);
    assert.equal(wildcardFirst('/', 'api.example.com'), 0);
    assert.equal(wildcardFirst('/', 'x.a.example.com'), 0);
    assert.equal(wildcardFirst('/', 'example.com'), undefined);
    const exactFirst = indexed([
      { host: 'api.example.com' },
      { host: '*.a.example.com' },
      { host: '*.example.com' },
    ]);
    assert.equal(exactFirst('/', 'api.example.com'), 0);
    assert.equal(exactFirst('/', 'x.a.example.com'), 1);
    assert.equal(exactFirst('/', 'a.example.com'), 2);
  });

  it('takes prefix "/" before "/api" when it comes first, and the other way round', () => {
    const slashFirst = indexed([{ pathPrefix: '/' }, { pathPrefix: '/api' }]);
    assert.equal(slashFirst('/api/x'), 0);
    const apiFirst = indexed([{ pathPrefix: '/api' }, { pathPrefix: '/' }]);
    assert.equal(apiFirst('/api'), 0);
    assert.equal(apiFirst('/api/x'), 0);
    assert.equal(apiFirst('/apix'), 1);
  });

  it('keeps a regex route before a prefix route on the same segment', () => {
    const routes = indexed([{ pathRegex: '/api/[0-9]+' }, { pathPrefix: '/api' }, { pathRegex: '.*' }]);
    assert.equal(routes('/api/12'), 0);
    assert.equal(routes('/api/x'), 1);
    assert.equal(routes('/other'), 2);
  });

  it('tells apart routes that share a first segment', () => {
    const routes = indexed([
      { path: '/api/v1' },
      { pathPrefix: '/api/' },
      { pathPrefix: '/api' },
      { pathPrefix: '/api/v1/users' },
    ]);
    assert.equal(routes('/api/v1'), 0);
    assert.equal(routes('/api/v1/users/3'), 1);
    assert.equal(routes('/api'), 2);
    assert.equal(routes('/apix'), undefined);
  });

  it('still checks methods and headers of each candidate', () => {
    const routes = indexed([
      { pathPrefix: '/api', methods: ['POST'] },
      { pathPrefix: '/api', headers: { 'x-t': '1' } },
      { pathPrefix: '/api' },
    ]);
    assert.equal(routes('/api', 'h', 'POST'), 0);
    assert.equal(routes('/api', 'h', 'GET', { 'x-t': '1' }), 1);
    assert.equal(routes('/api', 'h', 'GET', { 'x-t': '2' }), 2);
  });

  it('finds routes for Host headers and paths far longer than any name in the config', () => {
    const find = indexed([
      { host: '*.example.com', pathPrefix: '/api' },
      { path: '/x' },
      { pathPrefix: '/' },
    ]);
    const long = 'a'.repeat(5000);
    assert.equal(find('/api/1', `${long}.example.com`), 0);
    assert.equal(find(`/api/${long}`, 'b.example.com'), 0);
    assert.equal(find(`/${long}`, `${long}.example.com`), 2);
    assert.equal(find('/x', `${long}.example.org`), 1);
    assert.equal(find(`/x${long}`, 'b.example.com'), 2);
  });

  it('pins a regex to its first segment only when no other segment can match', () => {
    const segment = (pathRegex: string) => new RouteMatcher({ pathRegex }).firstSegment;
    assert.equal(segment('/re/[0-9]+'), 're');
    assert.equal(segment('/re'), 're');
    assert.equal(segment('/re/?x'), undefined); // also accepts /rex
    assert.equal(segment('/re/*'), undefined);
    assert.equal(segment('/re|/x'), undefined);
    assert.equal(segment('/r.e/'), undefined);
    assert.equal(segment('.*'), undefined);
    assert.equal(new RouteMatcher({ pathPrefix: '/' }).firstSegment, undefined);
    assert.equal(new RouteMatcher({ pathPrefix: '/api/v1' }).firstSegment, 'api');
  });

  it('gives right answers when two keys share a hash (collisions only add candidates)', () => {
    // "Aa" and "BB" hash alike read left to right; "aA" and "BB" alike read right to left.
    const matchers = [
      { pathPrefix: '/Aa' },
      { path: '/Aa' },
      { path: '/BB' },
      { host: '*.aA' },
      { host: '*.BB', pathPrefix: '/BB' },
      { host: '*.BB' },
      { host: 'aA' },
      { host: 'BB' },
    ].map((m) => new RouteMatcher(m));
    const index = new RouteIndex(matchers);
    const check = (host: string, path: string) =>
      assert.equal(
        index.firstMatch('GET', host, path, {}),
        linearFirstMatch(matchers, 'GET', host, path, {}),
      );
    assert.equal(index.firstMatch('GET', '', '/BB', {}), 2);
    assert.equal(index.firstMatch('GET', 'x.BB', '/BB/1', {}), 4);
    assert.equal(index.firstMatch('GET', 'x.BB', '/x', {}), 5);
    assert.equal(index.firstMatch('GET', 'x.aA', '/x', {}), 3);
    assert.equal(index.firstMatch('GET', 'BB', '/x', {}), 7);
    assert.equal(index.firstMatch('GET', 'aA', '/x', {}), 6);
    for (const host of ['', 'x.aA', 'x.BB', '.BB', 'BB', 'aA', 'x.aB'])
      for (const path of ['/Aa', '/BB', '/Aa/1', '/x']) check(host, path);
  });
});

const HOSTS = ['a.test', 'b.a.test', 'x.b.a.test', 'test', 'other.org'];
const routeHost = fc.constantFrom(undefined, '*', ...HOSTS, '*.test', '*.a.test', '*.b.a.test', 'A.Test');
const PATHS = ['/', '/api', '/api/', '/api/v1', '/apix', '/v1', '/api/v1/users', '//', '/a-b'];
const REGEXES = [
  '/api/.*',
  '/api',
  '/api/?x',
  '/ap?i/.*',
  '/api|/v1',
  '/api/*',
  '/v1/[0-9]+',
  '.*',
  '/api/{0,1}x',
];
const pathCondition = fc.oneof(
  fc.constant({}),
  fc.constantFrom(...PATHS).map((path) => ({ path })),
  fc.constantFrom(...PATHS).map((pathPrefix) => ({ pathPrefix })),
  fc.constantFrom(...REGEXES).map((pathRegex) => ({ pathRegex })),
);
const routeMatch = fc
  .record(
    {
      host: routeHost,
      methods: fc.subarray(['GET', 'POST'], { minLength: 1 }),
      headers: fc.constantFrom({ 'x-t': '1' }, { 'x-t': { present: true } }, { 'x-t': { present: false } }),
    },
    { requiredKeys: [] },
  )
  .chain((m) => pathCondition.map((p) => ({ ...m, ...p })))
  .map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)));

const requestPath = fc.oneof(
  fc.constantFrom(...PATHS, '/api/x', '/apix/y', '/v1/42', '/ap', '', 'api', '/api/v1/users/7'),
  fc
    .array(fc.constantFrom('api', 'v1', 'x', '', 'apix', '12'), { maxLength: 4 })
    .map((s) => `/${s.join('/')}`),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  host: fc.constantFrom(undefined, ...HOSTS, 'A.TEST:8080', 'y.x.b.a.test', '.test', '[::1]:80', 'a.test.'),
  path: requestPath,
  headers: fc.constantFrom<IncomingHttpHeaders>({}, { 'x-t': '1' }, { 'x-t': '2' }),
});

describe('L7 route index on a large table', () => {
  it('runs a handful of matchers, not every route before the match', () => {
    const routes = table([
      ...Array.from({ length: 999 }, (_, i) => ({ host: `host${i}.example.com`, pathPrefix: `/p${i % 7}` })),
      { pathPrefix: '/' },
    ]);
    let calls = 0;
    for (const { matcher } of routes.routes) {
      const matches = matcher.matchesRequest.bind(matcher);
      matcher.matchesRequest = (...args) => {
        calls++;
        return matches(...args);
      };
    }
    assert.equal(routes.find('GET', 'HOST998.example.com:443', '/p4/x', {})?.index, 998);
    assert.equal(calls, 1);
    calls = 0;
    assert.equal(routes.find('GET', 'host998.example.com', '/p5', {})?.index, 999);
    assert.equal(calls, 1);
  });
});

describe('L7 route index against a linear scan (property)', () => {
  it('finds the same route as trying every route in order', () => {
    fc.assert(
      fc.property(
        fc.array(routeMatch, { minLength: 1, maxLength: 12 }),
        fc.array(request, { minLength: 1, maxLength: 20 }),
        (matches, requests) => {
          // Repeated up to INDEX_FROM routes, the table uses its index; a repeat never beats its original.
          const repeated = Array.from({ length: INDEX_FROM }, (_, i) => matches[i % matches.length]!);
          const routes = table(repeated);
          const matchers = routes.routes.map((r) => r.matcher);
          const small = new RouteIndex(matchers.slice(0, matches.length), 0);
          for (const r of requests) {
            const host = hostOf(r.host);
            const expected = linearFirstMatch(matchers, r.method, host, r.path, r.headers);
            const found = routes.find(r.method, r.host, r.path, r.headers)?.index ?? -1;
            assert.equal(found, expected, JSON.stringify(r));
            assert.equal(small.firstMatch(r.method, host, r.path, r.headers), expected, JSON.stringify(r));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees for matchers the schema would refuse (odd hosts and paths)', () => {
    const oddHost = fc.constantFrom(undefined, '', '*.', 'A.test', '*.Test', 'a:1', ...HOSTS, '*.a.test');
    const oddPath = fc.constantFrom('', 'api', '/', '/api', 'x/y', '/api/', '//');
    const oddMatch = fc
      .record(
        { host: oddHost, path: oddPath, pathPrefix: oddPath, pathRegex: fc.constantFrom(...REGEXES, 'api') },
        { requiredKeys: [] },
      )
      .map(
        (m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as RouteMatchConfig,
      );
    const oddRequest = fc.record({
      host: fc.constantFrom('', 'a.test', 'A.test', 'x.Test', 'a:1', 'x.', '.', 'b.a.test'),
      path: fc.oneof(oddPath, requestPath),
    });
    fc.assert(
      fc.property(
        fc.array(oddMatch, { maxLength: 10 }),
        fc.array(oddRequest, { maxLength: 20 }),
        (matches, requests) => {
          const matchers = matches.map((m) => new RouteMatcher(m));
          const index = new RouteIndex(matchers);
          for (const { host, path } of requests) {
            assert.equal(
              index.firstMatch('GET', host, path, {}),
              linearFirstMatch(matchers, 'GET', host, path, {}),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
