import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type HttpUpstream, httpClient, rawExchange, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

describe('L7 routing', { timeout: 60_000 }, () => {
  const names = ['api', 'wild', 'canary', 'web', 'static', 'exact', 'regex', 'present'] as const;
  const up = {} as Record<(typeof names)[number], HttpUpstream>;
  let proxy: TestProxy;
  let client: ReturnType<typeof httpClient>;

  before(async () => {
    for (const n of names) up[n] = await startHttpUpstream(n);
    const clusters = names.map((n) => `  - { name: ${n}, endpoints: [127.0.0.1:${up[n].port}] }`).join('\n');
    proxy = await startProxy(`
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes:
      - match: { host: api.example.com, pathPrefix: /v1/ }
        cluster: api
        rewrite: { pathPrefix: / }
      - match: { host: "*.example.com", headers: { x-canary: "1" } }
        weightedClusters: [ { cluster: canary, weight: 10 }, { cluster: web, weight: 90 } ]
      - match: { host: "*.example.com", pathPrefix: /only-wild }
        cluster: wild
      - match: { path: /exact }
        cluster: exact
      - match: { pathRegex: "/items/[0-9]+" }
        cluster: regex
      - match: { pathPrefix: /flag, headers: { x-flag: { present: true } } }
        cluster: present
      - match: { pathPrefix: /static/, methods: [GET, HEAD] }
        cluster: static
        requestHeaders: { set: { x-served-by: portside }, remove: [cookie] }
        responseHeaders: { set: { x-cache: none }, remove: [x-upstream] }
      - match: { pathPrefix: /seg }
        cluster: api
        rewrite: { pathPrefix: /inner }
      - match: { pathPrefix: / }
        cluster: web
clusters:
${clusters}
`);
    client = httpClient(proxy.port('web'));
  });
  after(async () => {
    await client?.close();
    await proxy?.stop();
    for (const n of names) await up[n]?.close();
  });

  const who = async (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    (await client.json(path, { headers, method })).name;

  it('matches exact and wildcard hosts (port ignored, case-insensitive)', async () => {
    assert.equal(await who('/v1/users', { host: 'api.example.com' }), 'api');
    assert.equal(await who('/v1/users', { host: 'API.Example.com:8080' }), 'api');
    assert.equal(await who('/only-wild', { host: 'shop.example.com' }), 'wild');
    assert.equal(await who('/only-wild', { host: 'a.b.example.com' }), 'wild');
    assert.equal(
      await who('/only-wild', { host: 'example.com' }),
      'web',
      'the bare domain is not *.example.com',
    );
    assert.equal(await who('/v1/users', { host: 'other.test' }), 'web');
  });

  it('matches pathPrefix by whole segments, exact path, and anchored regex', async () => {
    assert.equal(await who('/seg'), 'api');
    assert.equal(await who('/seg/x'), 'api');
    assert.equal(await who('/segment'), 'web', '/seg must not match /segment');
    assert.equal(await who('/exact'), 'exact');
    assert.equal(await who('/exact?q=1'), 'exact', 'the query is not part of the path');
    assert.equal(await who('/exact/more'), 'web');
    assert.equal(await who('/items/42'), 'regex');
    assert.equal(await who('/items/42x'), 'web', 'the regex must match the whole path');
  });

  it('matches methods and headers (exact value and present)', async () => {
    assert.equal(await who('/static/app.js'), 'static');
    assert.equal((await client.request('/static/app.js', { method: 'HEAD' })).headers['x-cache'], 'none');
    assert.equal(await who('/static/app.js', {}, 'POST'), 'web', 'POST is not in methods');
    assert.equal(await who('/flag', { 'x-flag': 'anything' }), 'present');
    assert.equal(await who('/flag'), 'web');
    assert.equal(await who('/', { host: 'x.example.com', 'x-canary': '2' }), 'web');
  });

  it('takes the first matching route in order', async () => {
    // /v1/ on api.example.com also matches the catch-all "/" route below it.
    assert.equal(await who('/v1/x', { host: 'api.example.com' }), 'api');
    // With x-canary on a *.example.com host the weighted route (2nd) wins over /only-wild (3rd).
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++)
      seen.add(await who('/only-wild', { host: 'shop.example.com', 'x-canary': '1' }));
    assert.deepEqual([...seen].sort(), ['canary', 'web']);
  });

  it('rewrites the matched prefix and keeps the query', async () => {
    assert.equal(
      (await client.json('/v1/users?id=7', { headers: { host: 'api.example.com' } })).url,
      '/users?id=7',
    );
    assert.equal((await client.json('/seg/a/b', {})).url, '/inner/a/b');
    assert.equal((await client.json('/seg', {})).url, '/inner');
  });

  it('sets and removes request and response headers', async () => {
    const reply = await client.request('/static/app.css', {
      headers: { cookie: 'secret=1', 'x-keep': 'yes' },
    });
    const seen = JSON.parse(reply.body).headers;
    assert.equal(seen['x-served-by'], 'portside');
    assert.equal(seen.cookie, undefined);
    assert.equal(seen['x-keep'], 'yes');
    assert.equal(reply.headers['x-cache'], 'none');
    assert.equal(reply.headers['x-upstream'], undefined);
  });

  it('adds x-forwarded-*, keeps or creates x-request-id, strips hop-by-hop headers', async () => {
    // Raw bytes: well-behaved clients refuse to send some of these headers.
    const { response } = await rawExchange(
      proxy.port('web'),
      'GET / HTTP/1.1\r\nHost: shop.test\r\nX-Forwarded-For: 10.1.2.3\r\nX-Request-Id: given-id\r\n' +
        'Connection: close, x-hop\r\nX-Hop: must go\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n\r\n',
    );
    const seen = JSON.parse(/\{.*\}/s.exec(response)![0]).headers;
    assert.equal(seen['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'shop.test');
    assert.equal(seen['x-request-id'], 'given-id');
    assert.equal(seen['x-hop'], undefined);
    assert.equal(seen.te, undefined);
    assert.equal(seen['keep-alive'], undefined);
    assert.match(response, /^HTTP\/1\.1 200 /);
    const generated = (await client.json('/')).headers['x-request-id'];
    assert.match(generated ?? '', /^[0-9a-f-]{36}$/);
  });

  it('splits a weighted route within ±3% over 10,000 requests', async () => {
    const counts = { canary: 0, web: 0 } as Record<string, number>;
    const before = { canary: up.canary.requests.length, web: up.web.requests.length };
    const headers = { host: 'www.example.com', 'x-canary': '1' };
    for (let batch = 0; batch < 100; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const reply = await client.request('/', { headers });
          assert.equal(reply.status, 200);
          counts[JSON.parse(reply.body).name]!++;
        }),
      );
    }
    assert.equal(counts.canary! + counts.web!, 10_000);
    assert.equal(up.canary.requests.length - before.canary, counts.canary);
    const share = counts.canary! / 10_000;
    assert.ok(Math.abs(share - 0.1) <= 0.003, `canary share ${share} is 10% ± 3% of it`);
  });
});
