/**
 * Hash keys read from the request target through a real http listener: `query:NAME`
 * (HAProxy url_param) with maglev, and `uri` with ring_hash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type HttpUpstream, httpClient, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

describe('L7 hash keys from the query and the full URI', { timeout: 60_000 }, () => {
  const upstreams: HttpUpstream[] = [];
  let proxy: TestProxy;

  before(async () => {
    for (const name of ['a', 'b', 'c', 'd']) upstreams.push(await startHttpUpstream(name));
    const endpoints = upstreams.map((u) => `127.0.0.1:${u.port}`).join(', ');
    proxy = await startProxy(`
listeners:
  - name: byUser
    address: 127.0.0.1:0
    protocol: http
    routes: [{ match: { pathPrefix: / }, cluster: users }]
  - name: byUri
    address: 127.0.0.1:0
    protocol: http
    routes: [{ match: { pathPrefix: / }, cluster: pages }]
clusters:
  - name: users
    endpoints: [${endpoints}]
    balancing: { policy: mh, key: "query:user", tableSize: 65537 }
  - name: pages
    endpoints: [${endpoints}]
    balancing: { policy: ring_hash, key: uri, minimumRingSize: 4096 }
`);
  });
  after(async () => {
    await proxy?.stop();
    for (const u of upstreams) await u.close();
  });

  it('query:user sends every request of a user to one upstream, whatever the path and other parameters', async () => {
    const client = httpClient(proxy.port('byUser'));
    try {
      const homes = new Map<string, string>();
      for (let user = 0; user < 40; user++) {
        for (const path of [
          `/cart?user=u${user}`,
          `/items/${user}?page=2&user=u${user}`,
          `/x?user=u${user}&z=1`,
        ]) {
          const { name, url } = await client.json(path);
          assert.equal(url, path, 'forwarded unchanged');
          const home = homes.get(`u${user}`) ?? name;
          homes.set(`u${user}`, home);
          assert.equal(name, home, `${path} left u${user}'s upstream`);
        }
      }
      const used = new Set(homes.values());
      assert.equal(used.size, 4, `40 users over 4 upstreams reached ${[...used]}`);
      // Without the parameter the request is still served, by any upstream.
      const names = new Set<string>();
      for (let i = 0; i < 40; i++) names.add((await client.json(`/cart?other=${i}`)).name);
      assert.ok(names.size > 1, 'requests without the key spread over upstreams');
    } finally {
      await client.close();
    }
  });

  it('uri keeps one target on one upstream and tells targets apart by their query', async () => {
    const client = httpClient(proxy.port('byUri'));
    try {
      const byQuery = new Set<string>();
      for (let page = 0; page < 40; page++) {
        const target = `/list?page=${page}`;
        const first = (await client.json(target)).name;
        assert.equal((await client.json(target)).name, first, target);
        byQuery.add(first);
      }
      assert.ok(byQuery.size >= 3, `40 queries of one path reached ${byQuery.size} upstreams`);
    } finally {
      await client.close();
    }
  });
});
