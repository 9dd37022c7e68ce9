import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { RouteIndex } from '../../src/l7/route-index.js';
import { hostOf, RouteMatcher } from '../../src/l7/route-match.js';
import { linearFirstMatch, routeTable } from '../helpers/route-table.js';

/** Tables this small are scanned in order; this one is forced onto the index, and checked against the table. */
function indexed(matches: readonly Record<string, unknown>[]) {
  const routes = routeTable(matches);
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

describe('L7 route index on a large table', () => {
  it('runs a handful of matchers, not every route before the match', () => {
    const routes = routeTable([
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
