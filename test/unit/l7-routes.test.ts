import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { covers } from '../../src/config/http-references.js';
import { EndpointState } from '../../src/core/endpoint.js';
import { HTTP_ERRORS } from '../../src/l7/errors.js';
import { DEFAULT_PATH_OPTIONS } from '../../src/l7/path-normalize.js';
import { classifyError, RetryPolicy } from '../../src/l7/retry-policy.js';
import { hostOf, pathHasPrefix, RouteMatcher } from '../../src/l7/route-match.js';
import { joinPath, splitTarget } from '../../src/l7/route-table.js';
import { UpstreamPools } from '../../src/l7/upstream-pools.js';
import { WeightedChoice } from '../../src/l7/weighted.js';

const input = (
  over: Partial<{ method: string; host: string; path: string; headers: Record<string, string> }>,
) => ({
  method: 'GET',
  host: '',
  path: '/',
  headers: {},
  ...over,
});

describe('L7 route matching', () => {
  it('pathPrefix is segment-aware', () => {
    assert.ok(pathHasPrefix('/v1', '/v1'));
    assert.ok(pathHasPrefix('/v1/x', '/v1'));
    assert.ok(!pathHasPrefix('/v10', '/v1'));
    assert.ok(pathHasPrefix('/v1/x', '/v1/'));
    assert.ok(!pathHasPrefix('/v1', '/v1/'));
    assert.ok(pathHasPrefix('/anything', '/'));
  });

  it('pathPrefix never matches a path that merely shares characters past a segment (property)', () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    fc.assert(
      fc.property(segment, segment, fc.array(segment, { maxLength: 3 }), (a, extra, rest) => {
        const prefix = `/${a}`;
        assert.ok(pathHasPrefix([prefix, ...rest].join('/'), prefix));
        assert.equal(pathHasPrefix(`/${a}${extra}`, prefix), false);
      }),
    );
  });

  it('hostOf lower-cases and drops the port, IPv6 included', () => {
    assert.equal(hostOf('API.Example.com:8080'), 'api.example.com');
    assert.equal(hostOf('[::1]:80'), '[::1]');
    assert.equal(hostOf(undefined), '');
  });

  it('matches host exact and wildcard, methods, headers exact/present/absent', () => {
    const m = new RouteMatcher({
      host: '*.example.com',
      methods: ['GET'],
      headers: { 'x-a': '1', 'x-b': { present: true }, 'x-c': { present: false } },
    });
    const ok = input({ host: 'a.example.com', headers: { 'x-a': '1', 'x-b': '' } });
    assert.ok(m.matches(ok));
    assert.ok(!m.matches({ ...ok, host: 'example.com' }));
    assert.ok(!m.matches({ ...ok, method: 'POST' }));
    assert.ok(!m.matches({ ...ok, headers: { 'x-a': '2', 'x-b': '' } }));
    assert.ok(!m.matches({ ...ok, headers: { 'x-a': '1' } }));
    assert.ok(!m.matches({ ...ok, headers: { 'x-a': '1', 'x-b': '', 'x-c': 'no' } }));
    assert.ok(new RouteMatcher({ pathRegex: '/u/[0-9]+' }).matches(input({ path: '/u/12' })));
    assert.ok(!new RouteMatcher({ pathRegex: '/u/[0-9]+' }).matches(input({ path: '/x/u/12' })));
  });

  it('joins rewritten paths without doubled or missing slashes', () => {
    assert.equal(joinPath('/', '/users'), '/users');
    assert.equal(joinPath('/', ''), '/');
    assert.equal(joinPath('/api', 'users'), '/api/users');
    assert.equal(joinPath('/api', '/users'), '/api/users');
    assert.equal(joinPath('/api/', 'users'), '/api/users');
  });

  it('splits origin-form and absolute-form targets, refuses others', () => {
    assert.deepEqual(splitTarget('/a/b?c=1', DEFAULT_PATH_OPTIONS), { path: '/a/b', query: '?c=1' });
    assert.deepEqual(splitTarget('http://h.test/a?b', DEFAULT_PATH_OPTIONS), { path: '/a', query: '?b' });
    assert.deepEqual(splitTarget('http://h.test', DEFAULT_PATH_OPTIONS), { path: '/', query: '' });
    assert.equal(splitTarget('*', DEFAULT_PATH_OPTIONS), undefined);
  });

  it('splits weights exactly and interleaved', () => {
    const choice = new WeightedChoice([
      { value: 'canary', weight: 10 },
      { value: 'web', weight: 90 },
    ]);
    const picks = Array.from({ length: 1000 }, () => choice.next());
    assert.equal(picks.filter((p) => p === 'canary').length, 100);
    // Smooth: never two canaries within one window of 10.
    for (let i = 0; i + 1 < picks.length; i++)
      assert.ok(!(picks[i] === 'canary' && picks[i + 1] === 'canary'));
  });

  it('knows when an earlier match shadows a later one', () => {
    assert.ok(covers({}, { host: 'a.b', pathPrefix: '/x' }));
    assert.ok(covers({ pathPrefix: '/api' }, { pathPrefix: '/api/v2', methods: ['GET'] }));
    assert.ok(!covers({ pathPrefix: '/api' }, { pathPrefix: '/apix' }));
    assert.ok(covers({ host: '*.example.com' }, { host: 'shop.example.com' }));
    assert.ok(!covers({ host: 'shop.example.com' }, { host: '*.example.com' }));
    assert.ok(!covers({ methods: ['GET'] }, {}));
    assert.ok(covers({ headers: { 'x-a': { present: true } } }, { headers: { 'x-a': '1' } }));
    assert.ok(!covers({ headers: { 'x-a': '1' } }, { headers: { 'x-a': { present: true } } }));
    assert.ok(
      !covers({ pathRegex: '/a.*' }, { path: '/ab' }),
      'regexes are not compared (no false warnings)',
    );
  });
});

describe('L7 retry policy', () => {
  const policy = new RetryPolicy({ attempts: 2, on: ['connect-failure', 'reset', 503], bufferLimit: 1024 });

  it('classifies connect, reset and timeout errors', () => {
    assert.equal(classifyError({ code: 'ECONNREFUSED' }).kind, 'connect-failure');
    assert.equal(classifyError({ code: 'UND_ERR_CONNECT_TIMEOUT' }).reason, 'connect-timeout');
    assert.equal(classifyError({ code: 'UND_ERR_SOCKET' }).kind, 'reset');
    assert.equal(classifyError({ code: 'UND_ERR_HEADERS_TIMEOUT' }).kind, 'timeout');
    assert.equal(classifyError(new Error('x')).kind, 'protocol');
  });

  it('retries connect failures with an untouched body, the rest only when replayable', () => {
    assert.ok(policy.allows('connect-failure', 1, false, true), 'a POST whose body was not read yet');
    assert.ok(!policy.allows('connect-failure', 1, false, false));
    assert.ok(policy.allows('reset', 2, true, true));
    assert.ok(!policy.allows('reset', 3, true, true), 'no more than 1 + attempts tries');
    assert.ok(!policy.allows('reset', 1, false, true), 'not for non-idempotent requests');
    assert.ok(!policy.allows('timeout', 1, true, true), 'timeout is not listed');
    assert.ok(policy.retriesStatus(503) && !policy.retriesStatus(502));
    assert.ok(new RetryPolicy({ attempts: 1, on: ['gateway-error'], bufferLimit: 0 }).retriesStatus(504));
    assert.ok(new RetryPolicy({ attempts: 1, on: ['5xx'], bufferLimit: 0 }).retriesStatus(500));
  });
});

describe('L7 error codes', () => {
  it('documents every x-portside-error code with its status in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    for (const error of Object.values(HTTP_ERRORS)) {
      assert.ok(
        readme.includes(`| ${error.status} | \`${error.code}\` |`),
        `README documents ${error.status} ${error.code}`,
      );
    }
  });
});

describe('L7 upstream pools', () => {
  it('keeps one pool per endpoint and sweeps pools that hold nothing', async () => {
    const pools = new UpstreamPools({
      connectTimeoutMs: 100,
      maxConnections: 2,
      maxConnectionsPerClient: 1,
      idleTimeoutMs: 1000,
      maxStreamsPerConnection: 100,
      bodyTimeoutMs: 1000,
    });
    const endpoint = {
      id: '127.0.0.1:9',
      host: '127.0.0.1',
      port: 9,
      weight: 1,
      locality: {},
      state: new EndpointState(),
    };
    assert.equal(pools.get(endpoint), pools.get(endpoint));
    assert.equal(pools.size, 1);
    pools.sweep();
    assert.equal(pools.size, 0, 'an unused pool is dropped');
    await pools.close();
  });
});
