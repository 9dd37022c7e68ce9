/**
 * Upstream keep-alive pools outlive a reload: the proxy keeps each HTTP listener's pools,
 * so a reload that leaves the listener's upstream settings alone reuses the connections.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpClient, startHttpUpstream } from '../helpers/http.js';
import { parseConfig, startProxy } from '../helpers/proxy.js';

test('a reload that changes only routes keeps the upstream keep-alive connections', {
  timeout: 20_000,
}, async (t) => {
  const upstream = await startHttpUpstream('up');
  t.after(() => upstream.close());
  let accepted = 0;
  upstream.server.on('connection', () => accepted++);
  const yaml = (extraRoute: string, idle = '60s') => `
clusters:
  - { name: up, endpoints: ["127.0.0.1:${upstream.port}"] }
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    upstream: { idleTimeout: ${idle} }
    routes:
${extraRoute}      - { match: { pathPrefix: / }, cluster: up }
`;
  const p = await startProxy(yaml(''));
  t.after(() => p.stop());
  const port = p.port('web');

  // A client connection per request: the new handler serves the one after the reload.
  const ask = async () => {
    const client = httpClient(port, 1);
    try {
      return (await client.json('/x')).name;
    } finally {
      await client.close();
    }
  };
  assert.equal(await ask(), 'up');
  assert.equal(accepted, 1);

  await p.proxy.apply(parseConfig(yaml('      - { match: { pathPrefix: /other }, cluster: up }\n')));
  assert.equal(await ask(), 'up');
  assert.equal(accepted, 1, 'the idle upstream connection was reused after the reload');

  // Changed upstream settings: new pools; the old ones close once their handler drained.
  await p.proxy.apply(parseConfig(yaml('', '30s')));
  assert.equal(await ask(), 'up');
  assert.equal(accepted, 2);
});
