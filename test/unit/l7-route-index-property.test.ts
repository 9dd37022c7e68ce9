import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RouteMatchConfig } from '../../src/config/http-schema.js';
import { INDEX_FROM, RouteIndex } from '../../src/l7/route-index.js';
import { hostOf, RouteMatcher } from '../../src/l7/route-match.js';
import { linearFirstMatch, routeTable } from '../helpers/route-table.js';

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

describe('L7 route index against a linear scan (property)', () => {
  it('finds the same route as trying every route in order', () => {
    fc.assert(
      fc.property(
        fc.array(routeMatch, { minLength: 1, maxLength: 12 }),
        fc.array(request, { minLength: 1, maxLength: 20 }),
        (matches, requests) => {
          // Repeated up to INDEX_FROM routes, the table uses its index; a repeat never beats its original.
          const repeated = Array.from({ length: INDEX_FROM }, (_, i) => matches[i % matches.length]!);
          const routes = routeTable(repeated);
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
