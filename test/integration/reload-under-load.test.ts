import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttpUpstream } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { startReloadingProxy } from '../helpers/reloading-proxy.js';

/**
 * Config number `i` of the run: listener `load` (under load, never changes address) plus
 * one listener that is new in every change, endpoints added and removed, a cluster
 * added and removed, and a setting changed now and then.
 */
function configFor(i: number, a: number, b: number): string {
  const webEndpoints = i % 2 === 0 ? `["127.0.0.1:${a}", "127.0.0.1:${b}"]` : `["127.0.0.1:${a}"]`;
  const extraCluster = i % 3 === 0 ? 'only-b' : 'web';
  return `
drainTimeout: ${i % 4 === 0 ? '5s' : '4s'}
clusters:
  - { name: web, endpoints: ${webEndpoints} }
${i % 3 === 0 ? `  - { name: only-b, endpoints: ["127.0.0.1:${b}"] }\n` : ''}listeners:
  - { name: load, address: "127.0.0.1:0", cluster: web }
  - { name: extra-${i}, address: "127.0.0.1:0", cluster: ${extraCluster} }
`;
}

// Each reload loads the config in a child process (through tsx here); on a loaded 2-core
// machine that alone can take seconds, so the run is bounded by count, not by a rate.
const CHANGES = 10;

test(`${CHANGES} config changes under load: no failed request, each new listener serves at once`, {
  timeout: 240_000,
}, async (t) => {
  const named = (name: string) => startHttpUpstream(name, (_req, res) => res.end(name));
  const [a, b] = [await named('A'), await named('B')];
  t.after(() => Promise.all([a.close(), b.close()]));
  const p = await startReloadingProxy(t, configFor(0, a.port, b.port));
  const loadPort = p.port('load');

  const load = startLoad(t, {
    url: `http://127.0.0.1:${loadPort}/`,
    connections: 20,
    // Reconnect often, so new connections land on every new generation, not just the first.
    reconnectRate: 20,
    duration: 200,
    timeout: 10,
  });

  const reloadMs: number[] = [];
  for (let i = 1; i <= CHANGES; i++) {
    const started = performance.now();
    const result = await p.edit(configFor(i, a.port, b.port));
    reloadMs.push(performance.now() - started);
    assert.equal(result.ok, true, `change ${i}: ${result.summary} ${result.errors?.join('; ') ?? ''}`);
    assert.equal(result.version, i + 1);
    assert.equal(p.port('load'), loadPort, 'the loaded listener keeps its socket');
    assert.match(result.summary, new RegExp(`listeners \\+1 \\(extra-${i}\\) -1 \\(extra-${i - 1}\\)`));
    const response = await fetch(`http://127.0.0.1:${p.port(`extra-${i}`)}/`, {
      headers: { connection: 'close' },
    });
    assert.equal(response.status, 200, `the listener added by change ${i} serves`);
    const answered = await response.text();
    // only-b has B; web has A, and B too in even-numbered changes.
    const expected = i % 3 === 0 ? ['B'] : i % 2 === 0 ? ['A', 'B'] : ['A'];
    assert.ok(expected.includes(answered), `change ${i}: ${answered} answered, expected one of ${expected}`);
  }
  const result = await load.stop();

  t.diagnostic(
    `${result.requests.total} requests, ${result.errors} errors, ${result.non2xx} non-2xx; ` +
      `reload (write → applied) median ${Math.round(reloadMs.sort((x, y) => x - y)[CHANGES >> 1]!)} ms`,
  );
  assert.ok(result['2xx'] > 0, 'the load generator got answers');
  assert.deepEqual(
    { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, resets: result.resets },
    { errors: 0, timeouts: 0, non2xx: 0, resets: 0 },
  );
});
