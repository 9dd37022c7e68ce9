import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startHttpUpstream } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { startReloadingProxy } from '../helpers/reloading-proxy.js';

/**
 * Config number `i`: the http listener `web` (under load, access log on) gains route /r{i}
 * and loses /r{i-1}; endpoints come and go in `main`; every third change routes to another
 * cluster; every change has a listener on a new port.
 */
function configFor(i: number, a: number, b: number): string {
  const mainEndpoints = i % 2 === 0 ? `["127.0.0.1:${a}", "127.0.0.1:${b}"]` : `["127.0.0.1:${a}"]`;
  const routeCluster = i % 3 === 0 ? 'only-b' : 'main';
  return `
clusters:
  - { name: main, endpoints: ${mainEndpoints} }
  - { name: only-b, endpoints: ["127.0.0.1:${b}"] }
listeners:
  - name: web
    address: "127.0.0.1:0"
    protocol: http
    routes:
      - { match: { pathPrefix: /r${i}/ }, cluster: ${routeCluster} }
      - { match: {}, cluster: main }
  - { name: extra-${i}, address: "127.0.0.1:0", cluster: main }
`;
}

const CHANGES = 8;

// The log goes to a file next to the config, at info level with one access-log line per
// request, as `portside run -c portside.yaml > portside.log` writes it. Every line is an
// event in the watched directory; the watcher once restarted its quiet time on each of them
// and never read an edit while the load lasted.
test(`${CHANGES} config changes under HTTP load with the access log next to the config: each applies, no request fails`, {
  timeout: 180_000,
}, async (t) => {
  const named = (name: string) => startHttpUpstream(name, (_req, res) => res.end(name));
  const [a, b] = [await named('A'), await named('B')];
  t.after(() => Promise.all([a.close(), b.close()]));
  const p = await startReloadingProxy(t, configFor(0, a.port, b.port), { logFile: 'portside.log' });
  const webPort = p.port('web');
  const logSize = () => statSync(join(p.file, '..', 'portside.log')).size;

  const load = startLoad(t, {
    url: `http://127.0.0.1:${webPort}/`,
    connections: 20,
    duration: 150,
    timeout: 10,
  });

  const waits: number[] = [];
  for (let i = 1; i <= CHANGES; i++) {
    const sizeBefore = logSize();
    const started = Date.now();
    // Far longer than a reload takes on a loaded machine; before the fix, none came at all.
    const result = await p.edit(configFor(i, a.port, b.port), 30_000);
    waits.push(Date.now() - started);
    assert.ok(logSize() > sizeBefore, 'the access log was being written next to the config');
    assert.equal(result.ok, true, `change ${i}: ${result.summary} ${result.errors?.join('; ') ?? ''}`);
    assert.equal(p.port('web'), webPort, 'the loaded listener keeps its socket');
    const response = await fetch(`http://127.0.0.1:${webPort}/r${i}/x`).catch((e) => {
      throw new Error(`change ${i}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    });
    assert.equal(response.status, 200, `the route added by change ${i} serves`);
    const answered = await response.text();
    const expected = i % 3 === 0 ? ['B'] : i % 2 === 0 ? ['A', 'B'] : ['A'];
    assert.ok(expected.includes(answered), `change ${i}: ${answered} answered, expected one of ${expected}`);
    const extra = await fetch(`http://127.0.0.1:${p.port(`extra-${i}`)}/`, {
      headers: { connection: 'close' },
    });
    assert.equal(extra.status, 200, `the listener added by change ${i} serves`);
  }
  const result = await load.stop();
  t.diagnostic(`write-to-reload ms: ${waits.join(', ')}`);
  t.diagnostic(`${result.requests.total} requests, ${result.errors} errors, ${result.non2xx} non-2xx`);
  assert.ok(result['2xx'] > 0, 'the load generator got answers');
  assert.deepEqual(
    { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, resets: result.resets },
    { errors: 0, timeouts: 0, non2xx: 0, resets: 0 },
  );
});
