/**
 * `workers: N` through the real CLI: refused in one line on a Node without reusePort,
 * and on Node 22.12+ two worker threads serve one port, /metrics sums them, SIGTERM drains
 * them all and exits 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reusePortMissing } from '../../src/workers/support.js';
import { configWriter, runCli, startCli } from '../helpers/cli.js';
import { startHttpUpstream, upstreamFor } from '../helpers/http.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';

const missing = reusePortMissing();

function config(upstream: number): string {
  return `workers: 2
admin: { address: "127.0.0.1:0" }
listeners:
  - name: web
    address: "127.0.0.1:0"
    protocol: http
    routes: [{ name: all, match: { pathPrefix: / }, cluster: up }]
clusters:
  - { name: up, endpoints: ["127.0.0.1:${upstream}"] }
`;
}

test('validate accepts workers and --print-defaults shows it', { timeout: 30_000 }, async () => {
  const { write } = configWriter('portside-workers-');
  const printed = await runCli(['validate', '--print-defaults', write('one.yaml', 'listeners: []\n')]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /^workers: 1$/m);
  const auto = await runCli(['validate', write('auto.yaml', 'workers: auto\nlisteners: []\n')]);
  assert.equal(auto.code, 0, auto.stderr);
});

test('workers > 1 on a Node without reusePort stops the start in one line', {
  timeout: 30_000,
  ...(missing ? {} : { skip: `Node ${process.versions.node} has reusePort` }),
}, async () => {
  const { write } = configWriter('portside-workers-');
  const run = await runCli(['run', '-c', write('p.yaml', config(9))]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr, `portside: ${missing}\n`);
  assert.match(run.stderr, new RegExp(`Node\\.js ${process.versions.node.replaceAll('.', '\\.')}`));
});

test('two worker threads serve one port; /metrics sums them; SIGTERM drains both', {
  timeout: 60_000,
  ...(missing ? { skip: missing } : {}),
}, async (t) => {
  const up = await startHttpUpstream('up');
  t.after(() => up.close());
  const { write } = configWriter('portside-workers-');
  const cli = startCli(['run', '-c', write('p.yaml', config(up.port))]);
  t.after(() => cli.kill());
  const admin = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const started = await cli.waitForLog((l) => l.msg === 'portside started');
  assert.equal(started.workers, 2);
  const port = await cli.listenerPort('web');
  const sent = 30;
  for (let i = 0; i < sent; i++) assert.equal(await upstreamFor(port, 'example.com'), 'up');
  const bound = cli.lines.filter((l) => l.msg === 'listener bound' && l.listener === 'web');
  assert.deepEqual(bound.map((l) => l.worker).sort(), [0, 1]);

  const metrics = parsePrometheusText(await (await fetch(`http://${admin}/metrics`)).text());
  assert.equal(
    sampleValue(metrics, 'portside_route_requests_total', { listener: 'web', route: 'all', cluster: 'up' }),
    sent,
  );
  assert.equal(sampleValue(metrics, 'portside_workers', {}), 2);

  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0);
  assert.equal(cli.lines.filter((l) => l.msg === 'drained' && l.worker !== undefined).length, 2);
});
