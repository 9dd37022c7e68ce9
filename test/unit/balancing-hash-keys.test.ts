/** Hash keys: what each one hashes, for L7 requests and L4 connections, and when there is none. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashString } from '../../src/balancing/hash.js';
import { type HashKey, hashKey, NO_KEY, parseHashKey } from '../../src/balancing/hash-key.js';
import type { PickContext } from '../../src/balancing/picker.js';
import { createPicker } from '../../src/balancing/registry.js';
import type { Endpoint } from '../../src/core/endpoint.js';
import { fakeEndpoints } from '../helpers/endpoints.js';

const key = (text: string) => parseHashKey(text) as HashKey;
const request = (target: string, headers: Record<string, string> = {}, host?: string): PickContext => ({
  request: { headers, path: target.split('?')[0]!, target, host },
});

describe('hash keys', () => {
  it('query:NAME hashes the named parameter’s value, as HAProxy url_param', () => {
    const user = key('query:user');
    assert.equal(hashKey(user, request('/a?user=bob')), hashString('bob'));
    assert.equal(hashKey(user, request('/a?x=1&user=bob&y=2')), hashString('bob'));
    assert.equal(hashKey(user, request('/a?username=eve&user=bob')), hashString('bob'), 'not a prefix');
    assert.equal(hashKey(user, request('/a?x=user=eve&user=bob')), hashString('bob'), 'not inside a value');
    assert.equal(hashKey(user, request('/a?user=bob#user=eve')), hashString('bob'));
    assert.equal(hashKey(user, request('http://h/a?user=bob')), hashString('bob'), 'absolute-form');
    for (const none of ['/a', '/a?', '/a?user', '/a?user=', '/a?users=bob', '/a#?user=bob', '/user=bob'])
      assert.equal(hashKey(user, request(none)), NO_KEY, none);
    // Without a raw target (a picker test's plain request), the path's own query is read.
    assert.equal(hashKey(user, { request: { headers: {}, path: '/a?user=bob' } }), hashString('bob'));
  });

  it('uri hashes the whole target, query included; path hashes the path without it', () => {
    const uri = key('uri');
    assert.equal(hashKey(uri, request('/items/7?page=2')), hashString('/items/7?page=2'));
    assert.notEqual(hashKey(uri, request('/items/7?page=2')), hashKey(uri, request('/items/7?page=3')));
    const path = key('path');
    assert.equal(hashKey(path, request('/items/7?page=2')), hashString('/items/7'));
    assert.equal(
      hashKey(path, { request: { headers: {}, path: '/items/7?page=3' } }),
      hashString('/items/7'),
    );
    assert.equal(hashKey(uri, {}), NO_KEY);
  });

  it('destination hashes host and path for L7 and the local address and port for L4', () => {
    const destination = key('destination');
    const a = hashKey(destination, request('/img/1.png?v=1', {}, 'cdn.example'));
    assert.equal(hashKey(destination, request('/img/1.png?v=2', {}, 'cdn.example')), a, 'query ignored');
    assert.notEqual(hashKey(destination, request('/img/1.png', {}, 'www.example')), a, 'host counts');
    assert.notEqual(hashKey(destination, request('/img/2.png', {}, 'cdn.example')), a, 'path counts');
    const l4 = hashKey(destination, { destinationAddress: '127.0.0.1', destinationPort: 8080 });
    assert.notEqual(l4, NO_KEY);
    assert.notEqual(hashKey(destination, { destinationAddress: '127.0.0.1', destinationPort: 8081 }), l4);
    assert.equal(hashKey(destination, { clientAddress: '192.0.2.1' }), NO_KEY);
  });

  it('cookie:NAME and header:NAME hash the value as before, trimmed, and NO_KEY without one', () => {
    const session = key('cookie:session');
    assert.equal(hashKey(session, request('/', { cookie: 'a=1; session=xyz ; b=2' })), hashString('xyz'));
    assert.equal(hashKey(session, request('/', { cookie: 'session=xyz' })), hashString('xyz'));
    assert.equal(hashKey(session, request('/', { cookie: 'sessions=xyz; session=' })), NO_KEY);
    assert.equal(hashKey(key('header:X-User'), request('/', { 'x-user': 'u1' })), hashString('u1'));
    assert.equal(hashKey(key('header:X-User'), request('/')), NO_KEY);
  });

  it('destination_hash sends one host and path to one endpoint, and spreads different ones', () => {
    const endpoints = fakeEndpoints(8);
    const picker = createPicker({ policy: 'dh' }, { cluster: 'c' });
    const seen = new Set<Endpoint | undefined>();
    for (let i = 0; i < 100; i++) {
      const first = picker.pick(endpoints, { clientAddress: '192.0.2.1', ...request(`/o/${i}`, {}, 'h') });
      const again = picker.pick(endpoints, {
        clientAddress: '192.0.2.9',
        ...request(`/o/${i}?v=2`, {}, 'h'),
      });
      assert.equal(again, first, `/o/${i}: another client, the same destination`);
      seen.add(first);
    }
    assert.equal(seen.size, 8, 'a hundred paths reach every endpoint');
    const l4 = { destinationAddress: '127.0.0.2', destinationPort: 9000 };
    const endpoint = picker.pick(endpoints, { ...l4, clientAddress: '192.0.2.1' });
    for (let i = 0; i < 20; i++)
      assert.equal(picker.pick(endpoints, { ...l4, clientAddress: `192.0.2.${i}` }), endpoint);
  });

  it('hashes as before (MurmurHash3), so keys stay where they were across an upgrade', () => {
    // The values this release's predecessor computed, returned unsigned then.
    assert.deepEqual(
      ['192.0.2.1', '10.0.0.1:80', '/items/7'].map((text) => hashString(text) >>> 0),
      [2_384_964_164, 3_531_868_810, 3_275_439_507],
    );
    assert.equal(hashString('x', 7) >>> 0, 37_562_317);
  });

  it('ring_hash builds at least minimumRingSize points', async () => {
    const { HashRing } = await import('../../src/balancing/hash-ring.js');
    const endpoints = fakeEndpoints(4);
    assert.ok(HashRing.build(endpoints).size < 10_000);
    assert.ok(HashRing.build(endpoints, 100_000).size >= 99_990);
    const picker = createPicker({ policy: 'ring_hash', minimumRingSize: 100_000 }, { cluster: 'c' });
    const a = picker.pick(endpoints, { clientAddress: '192.0.2.1' });
    assert.equal(picker.pick(endpoints, { clientAddress: '192.0.2.1' }), a);
  });
});
