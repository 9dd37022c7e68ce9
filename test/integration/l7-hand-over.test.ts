import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import { startHttpUpstream } from '../helpers/http.js';
import { startReloadingProxy } from '../helpers/reloading-proxy.js';
import { eventually } from '../helpers/wait.js';

function configFor(i: number, port: number): string {
  return `
clusters:
  - { name: main, endpoints: ["127.0.0.1:${port}"] }
listeners:
  - name: web
    address: "127.0.0.1:0"
    protocol: http
    routes:
      - { match: { pathPrefix: /r${i}/ }, cluster: main }
      - { match: {}, cluster: main, timeout: 2s }
`;
}

// Handler A's connection serves its next request through B (A.current); B has no
// connections of its own. When C replaces B, B must not drain (closing its pools and
// stopping its deadlines) while that request is in flight on it: here the upstream never
// answers, and B's route timeout must still answer 504. Before the fix it never came.
test('a request that an older connection runs on a replaced handler keeps its route timeout across a second reload', {
  timeout: 60_000,
}, async (t) => {
  let slowArrived = false;
  const upstream = await startHttpUpstream('up', (req, res) => {
    if (req.url === '/slow') {
      slowArrived = true; // and never answered
      return;
    }
    res.end('fast');
  });
  t.after(() => upstream.close());
  const p = await startReloadingProxy(t, configFor(0, upstream.port));
  const client = new Pool(`http://127.0.0.1:${p.port('web')}`, {
    connections: 1,
    headersTimeout: 50_000,
  });
  t.after(() => client.close());

  const first = await client.request({ path: '/fast', method: 'GET' });
  assert.equal(await first.body.text(), 'fast'); // the connection belongs to handler A

  assert.equal((await p.edit(configFor(1, upstream.port))).ok, true); // A → B
  const slow = client.request({ path: '/slow', method: 'GET' }); // A's connection, run on B
  await eventually(() => slowArrived, { timeoutMs: 10_000, what: 'the slow request upstream' });
  assert.equal((await p.edit(configFor(2, upstream.port))).ok, true); // B → C
  const response = await slow;
  assert.equal(response.statusCode, 504, 'the route timeout of the handler it runs on answered');
  await response.body.text();
});
