import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { bodyOf } from '../helpers/json.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startNamedServer } from '../helpers/servers.js';
import { openConnection, whoAnswers } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

test('portside run serves the admin API and reloads on file edits and SIGHUP', {
  timeout: 60_000,
}, async (t) => {
  const [a, b] = [await startNamedServer('A'), await startNamedServer('B')];
  const dir = mkdtempSync(join(tmpdir(), 'portside-admin-e2e-'));
  const file = join(dir, 'portside.yaml');
  t.after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const config = (cluster: string, extra = '') => `admin: { address: "127.0.0.1:0" }
drainTimeout: 2s
listeners:
  - { name: web, address: "127.0.0.1:0", cluster: ${cluster}${extra} }
clusters:
  - { name: a, endpoints: [{ address: "127.0.0.1:${a.port}", zone: z1 }] }
  - { name: b, endpoints: ["127.0.0.1:${b.port}"] }
`;
  writeFileSync(file, config('a'));
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const adminAddress = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const admin = (path: string, init?: RequestInit) => fetch(`http://${adminAddress}${path}`, init);
  const port = await cli.listenerPort('web');

  assert.equal((await bodyOf(await admin('/healthz'))).status, 'ok');
  await eventually(async () => (await admin('/ready')).status === 200, { what: '/ready to answer 200' });
  assert.equal(await whoAnswers(port), 'A');

  const { clusters } = await bodyOf(await admin('/clusters'));
  assert.deepEqual(
    clusters.map((c: { name: string; endpoints: { address: string; locality: object }[] }) => [
      c.name,
      c.endpoints.map((e) => [e.address, e.locality]),
    ]),
    [
      ['a', [[`127.0.0.1:${a.port}`, { zone: 'z1' }]]],
      ['b', [[`127.0.0.1:${b.port}`, {}]]],
    ],
  );
  assert.equal(clusters[0].endpoints[0].connectionsTotal, 1);

  const metrics = parsePrometheusText(await (await admin('/metrics')).text());
  assert.equal(sampleValue(metrics, 'portside_config_version'), 1);
  assert.equal(sampleValue(metrics, 'portside_listener_connections_total', { listener: 'web' }), 1);
  assert.equal(
    sampleValue(metrics, 'portside_endpoint_connections_total', {
      cluster: 'a',
      endpoint: `127.0.0.1:${a.port}`,
    }),
    1,
  );
  // The L4 proxy reports the outcome (and so the latency sample) when the connection ends.
  await eventually(
    async () => {
      const text = await (await admin('/metrics')).text();
      return (
        sampleValue(parsePrometheusText(text), 'portside_upstream_latency_seconds_count', {
          cluster: 'a',
          phase: 'connect',
        }) === 1
      );
    },
    { what: 'one upstream connect-time sample for cluster a' },
  );
  assert.equal(sampleValue(metrics, 'portside_discovery_syncs_total', { cluster: 'a', source: 'static' }), 1);
  assert.ok(
    (sampleValue(metrics, 'portside_discovery_staleness_seconds', { cluster: 'a', source: 'static' }) ??
      -1) >= 0,
  );
  const browser = { headers: { accept: 'text/html' } };
  assert.match(await (await admin('/', browser)).text(), /<title>Portside<\/title>/);
  assert.match(await (await admin('/')).text(), /^ {2}GET {2}\/explain /m, 'curl gets the endpoint list');

  // A file edit reloads; the listener keeps its port.
  writeFileSync(file, config('b'));
  await cli.waitForLog((l) => l.msg === 'config reloaded: v2: listeners ~1 (web)');
  assert.equal(await whoAnswers(port), 'B');
  // Cluster a did not change: it keeps its source (no second sync), and its counter stays.
  const afterReload = parsePrometheusText(await (await admin('/metrics')).text());
  assert.equal(
    sampleValue(afterReload, 'portside_discovery_syncs_total', { cluster: 'a', source: 'static' }),
    1,
  );

  // SIGHUP reloads too (here: nothing changed).
  cli.child.kill('SIGHUP');
  await cli.waitForLog((l) => l.msg === 'config reload: no changes' && l.trigger === 'SIGHUP');

  // An invalid edit is rejected with file:line:col; the running config stays.
  const invalid = config('b', ', idleTimeout: soon');
  const column = invalid.split('\n')[3]!.indexOf('soon') + 1;
  writeFileSync(file, invalid);
  const rejected = await cli.waitForLog((l) => String(l.msg).startsWith('config reload rejected:'));
  assert.equal(
    rejected.msg,
    `config reload rejected: ${file}:4:${column} listeners[0].idleTimeout: invalid duration "soon"; write a number with a unit: ms, s, m or h (e.g. "500ms", "1m30s")`,
  );
  const shown = await bodyOf(await admin('/config'));
  assert.deepEqual([shown.version, shown.lastReload.ok], [2, false]);
  assert.equal(await whoAnswers(port), 'B');

  // POST /drain: not ready any more, no new connections, the process stays up for SIGTERM.
  const drained = await admin('/drain', { method: 'POST' });
  assert.equal(drained.status, 200);
  const ready = await admin('/ready');
  assert.equal(ready.status, 503);
  assert.ok((await bodyOf(ready)).reasons.includes('draining'));
  await assert.rejects(openConnection(port), /ECONNREFUSED/);

  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0);
});
