import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type HttpUpstream, rawExchange, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

/** Paths that climb out of /public, as sent on the wire (issue 14, defect 8). */
const ATTACKS = ['/public/../admin/secret', '/public/%2e%2e/admin/secret', '/public/..%2fadmin/secret'];

describe('L7 request paths are normalised before matching and forwarding', { timeout: 60_000 }, () => {
  let pub: HttpUpstream;
  let api: HttpUpstream;
  let proxy: TestProxy;

  before(async () => {
    pub = await startHttpUpstream('public');
    api = await startHttpUpstream('api');
    const routes = `    routes:
      - match: { pathPrefix: /public }
        cluster: public
        requestHeaders: { remove: [cookie] }
      - match: { pathPrefix: /v1 }
        cluster: api
        rewrite: { pathPrefix: /inner }`;
    proxy = await startProxy(`
listeners:
  - name: strict
    address: 127.0.0.1:0
    protocol: http
${routes}
  - name: keep
    address: 127.0.0.1:0
    protocol: http
    paths: { escapedSlashes: keep }
${routes}
  - name: decode
    address: 127.0.0.1:0
    protocol: http
    paths: { escapedSlashes: decode, mergeSlashes: true }
${routes}
clusters:
  - { name: public, endpoints: [127.0.0.1:${pub.port}] }
  - { name: api, endpoints: [127.0.0.1:${api.port}] }
`);
  });
  after(async () => {
    await proxy?.stop();
    await pub?.close();
    await api?.close();
  });

  const get = async (listener: string, path: string) => {
    const { response, closedBy } = await rawExchange(
      proxy.port(listener),
      `GET ${path} HTTP/1.1\r\nHost: h\r\nCookie: session=victim\r\nConnection: close\r\n\r\n`,
      20_000,
    );
    assert.equal(closedBy, 'server', `${listener} ${path}: answered`);
    return response;
  };
  const status = (response: string) => Number(response.slice(9, 12));

  it('never lets /public forward a path that climbs to /admin/secret (default: encoded slashes refused)', async () => {
    const seen = pub.requests.length;
    const [dots, encodedDots, encodedSlash] = await Promise.all(ATTACKS.map((path) => get('strict', path)));
    assert.equal(status(dots!), 404, 'normalised to /admin/secret, which no route matches');
    assert.equal(status(encodedDots!), 404, 'normalised to /admin/secret, which no route matches');
    assert.equal(status(encodedSlash!), 400, 'an encoded slash is refused by default');
    assert.match(encodedSlash!, /x-portside-error: bad-request/i);
    assert.equal(pub.requests.length, seen, 'nothing reached the /public upstream');
  });

  it('normalises the path of an upgrade request too', async () => {
    const seen = pub.requests.length;
    const { response } = await rawExchange(
      proxy.port('strict'),
      'GET /public/%2e%2e/admin/secret HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      20_000,
    );
    assert.equal(status(response), 404);
    assert.equal(pub.requests.length, seen);
  });

  it('forwards the normalised path (and keeps the query as sent)', async () => {
    const response = await get('strict', '/public/./a/%7euser/../b/%41%2e?next=/../x&y=%2e%2F');
    assert.equal(status(response), 200);
    assert.equal(pub.requests.at(-1)!.url, '/public/a/b/A.?next=/../x&y=%2e%2F');
    assert.equal(pub.requests.at(-1)!.headers.cookie, undefined);
    assert.equal(status(await get('strict', '/public/../../..')), 404, 'the root is as high as a path goes');
  });

  it('rewrites the normalised path', async () => {
    assert.equal(status(await get('strict', '/v1/x/../users')), 200);
    assert.equal(api.requests.at(-1)!.url, '/inner/users');
    assert.equal(status(await get('strict', '/v2/../v1/users')), 200);
    assert.equal(api.requests.at(-1)!.url, '/inner/users');
  });

  it('keeps encoded slashes undecoded with escapedSlashes: keep', async () => {
    const response = await get('keep', '/public/..%2fadmin/secret');
    assert.equal(status(response), 200);
    assert.equal(pub.requests.at(-1)!.url, '/public/..%2Fadmin/secret', 'one segment, passed on as such');
  });

  it('decodes encoded slashes before removing dot segments with escapedSlashes: decode', async () => {
    const seen = pub.requests.length;
    assert.equal(status(await get('decode', '/public/..%2fadmin/secret')), 404);
    assert.equal(status(await get('decode', '/public/..\\admin/secret')), 404);
    assert.equal(pub.requests.length, seen);
    assert.equal(status(await get('decode', '//public//a')), 200, 'mergeSlashes');
    assert.equal(pub.requests.at(-1)!.url, '/public/a');
  });

  it('hashes the normalised path for source_hash with key: path', async () => {
    const names = await Promise.all(['one', 'two', 'three'].map((n) => startHttpUpstream(n)));
    const hashed = await startProxy(`
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes: [{ match: { pathPrefix: / }, cluster: spread }]
clusters:
  - name: spread
    endpoints: [${names.map((u) => `127.0.0.1:${u.port}`).join(', ')}]
    balancing: { policy: source_hash, key: path }
`);
    try {
      const upstreamOf = async (path: string) => {
        const { response } = await rawExchange(
          hashed.port('web'),
          `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
          20_000,
        );
        return /x-upstream: (\w+)/i.exec(response)?.[1];
      };
      // With three endpoints, 16 paths agreeing by chance on a raw-path hash: 3^-16.
      for (let i = 0; i < 16; i++) {
        const plain = await upstreamOf(`/item/${i}`);
        assert.ok(plain !== undefined);
        assert.equal(await upstreamOf(`/x/../item/%2e/${i}`), plain, `/item/${i}`);
      }
    } finally {
      await hashed.stop();
      for (const u of names) await u.close();
    }
  });
});
