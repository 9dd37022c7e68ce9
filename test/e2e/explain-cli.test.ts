import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { configWriter, runCli, startCli } from '../helpers/cli.js';
import { deadPort, startNamedServer } from '../helpers/servers.js';
import { openConnection } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

describe('portside explain (offline, from a file)', () => {
  const file = join(import.meta.dirname, '..', 'fixtures', 'explain.yaml');

  it('prints the route that matches, why earlier ones did not, the split and the endpoints', async () => {
    const run = await runCli([
      'explain',
      '-c',
      file,
      'POST',
      'http://api.local:18080/api/users',
      '-H',
      'X-Canary: 1',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout;
    assert.match(out, /^offline explanation at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/m);
    assert.match(
      out,
      /route admin-only: no\n {4}- host: wants "admin.local", got Host "api.local"\n {4}- path: wants prefix "\/admin"/,
    );
    assert.match(out, /route canary: MATCHES/);
    assert.doesNotMatch(out, /route api:/, 'routes after the match are not tried');
    assert.match(out, /split: api 90% \(weight 90\), canary 10% \(weight 10\), off 0% \(weight 0\)/);
    assert.match(out, /cluster api: round_robin; endpoints from static/);
    assert.match(out, /usable {5}10\.0\.0\.2:80 \(weight 3\)/);
    assert.match(out, /cluster canary:[\s\S]*note: nothing checks these endpoints/);
    assert.doesNotMatch(out, /cluster off/, 'a weight of 0 gets no request');
    assert.match(out, /cluster canary:[\s\S]*next pick: 10\.0\.0\.3:80/);
  });

  it('answers JSON with --output json, and exits 1 when the request would not be forwarded', async () => {
    const run = await runCli(['explain', '-c', file, '-o', 'json', 'DELETE', 'http://api.local:18080/nope']);
    assert.equal(run.code, 1, run.stderr);
    const explanation = JSON.parse(run.stdout);
    assert.equal(explanation.mode, 'offline');
    const [web] = explanation.results;
    assert.deepEqual(
      web.routes.map((r: { name: string; reasons: string[] }) => [r.name, r.reasons.at(-1)]),
      [
        ['admin-only', 'path: wants prefix "/admin" (whole segments), got "/nope"'],
        ['canary', 'header x-canary: wants "1", got absent'],
        ['api', 'path: wants prefix "/api" (whole segments), got "/nope"'],
      ],
    );
    assert.match(web.answer, /^404 no-route/);
  });

  it('explains a TCP listener by address, saying discovery is not contacted', async () => {
    const run = await runCli(['explain', '-c', file, 'tcp', '127.0.0.1:16380']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /listener redis \(tcp, 127\.0\.0\.1:16380\)/);
    assert.match(run.stdout, /endpoints come from dns A redis\.internal, not contacted offline/);
    assert.match(run.stdout, /next pick: not known offline/);
  });

  it('explains a UDP listener by name', async () => {
    const run = await runCli(['explain', '-c', file, 'udp', 'dns']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /listener dns \(udp, 127\.0\.0\.1:15353\)\n {2}cluster canary:/);
  });

  it('explains a TLS passthrough listener for a server name', async () => {
    const run = await runCli(['explain', '-c', file, 'tls', 'edge', '--sni', 'www.example.com']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /listener edge \(tls, 127\.0\.0\.1:18443\)\n {2}server name www\.example\.com: selected by route 1 \(sni: \*\.example\.com\)\n {2}cluster canary:/,
    );
    const refused = await runCli(['explain', '-c', file, 'tls', 'edge', '--sni', 'other.org']);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /answer: refused with a TLS unrecognized_name alert/);
  });

  it('refuses what it cannot explain, in one line', async () => {
    const missing = await runCli(['explain', '-c', file, 'tcp', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^portside: no listener named or bound at "nope"; listeners: web \(http/);
    const usage = await runCli(['explain', '-c', file, 'GET']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /explain needs METHOD URL \(or tcp LISTENER\)/);
    const header = await runCli(['explain', '-c', file, 'GET', '/', '-H', 'no colon']);
    assert.equal(header.code, 2);
    assert.match(header.stderr, /"no colon" is not a header/);
    const help = await runCli(['explain', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: portside explain/);
  });
});

test('portside explain --admin shows live health from the running proxy', { timeout: 90_000 }, async (t) => {
  const live = await startNamedServer('A');
  const dead = await deadPort();
  const gone = await deadPort();
  t.after(() => live.close());
  const token = 'explain-test-token-0123456789';
  const files = configWriter('portside-explain-live-');
  const file = files.write(
    'portside.yaml',
    `admin: { address: "127.0.0.1:0", token: ${token} }
listeners:
  - { name: web, address: "127.0.0.1:0", cluster: checked }
  - { name: flaky, address: "127.0.0.1:0", cluster: flaky }
  - name: api
    address: "127.0.0.1:0"
    protocol: http
    routes:
      - { name: v2, match: { pathPrefix: /v2 }, cluster: flaky }
      - { name: rest, match: {}, cluster: checked }
clusters:
  - name: checked
    endpoints: ["127.0.0.1:${live.port}", "127.0.0.1:${dead}"]
    healthCheck: { interval: 100ms, timeout: 1s, unhealthyThreshold: 1, healthyThreshold: 1 }
  - name: flaky
    endpoints: ["127.0.0.1:${gone}"]
    outlierDetection: { consecutiveFailures: 1, baseEjectionTime: 5m, maxEjectionTime: 5m, maxEjectionPercent: 100 }
    panicThreshold: 0
`,
  );
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const adminAddress = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const admin = `http://${adminAddress}`;
  const flakyPort = await cli.listenerPort('flaky');
  const clusters = async () =>
    (await (await fetch(`${admin}/clusters`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      clusters: { name: string; endpoints: { address: string; flags: string[] }[] }[];
    };
  // One connection to the flaky listener fails to connect: outlier detection ejects its endpoint.
  (await openConnection(flakyPort)).destroy();
  await eventually(
    async () => {
      const all = (await clusters()).clusters.flatMap((c) => c.endpoints.map((e) => e.flags.join()));
      return all.includes('ActiveCheckFailed') && all.includes('OutlierEjected');
    },
    { timeoutMs: 20_000, what: 'a failed active check and an ejection' },
  );

  const checked = await runCli(['explain', '--admin', admin, '-c', file, 'tcp', 'web']);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /^live explanation at \S+, config version 1$/m);
  assert.match(checked.stdout, /note: active health checks: TCP connect every 100ms/);
  assert.match(
    checked.stdout,
    new RegExp(
      `NOT usable 127\\.0\\.0\\.1:${dead} \\(weight 1, 0 active\\)\\n {6}- failing active health checks \\(\\d+ in a row\\)`,
    ),
  );
  assert.match(checked.stdout, new RegExp(`usable {5}127\\.0\\.0\\.1:${live.port}`));
  assert.match(checked.stdout, new RegExp(`next pick: 127\\.0\\.0\\.1:${live.port}`));

  // The listener by its bound address; JSON output; the token from the environment.
  const flakyAddress = `127.0.0.1:${flakyPort}`;
  const flaky = await runCli(['explain', '--admin', admin, '-o', 'json', 'tcp', flakyAddress], {
    env: { PORTSIDE_ADMIN_TOKEN: token },
  });
  assert.equal(flaky.code, 1, 'no usable endpoint: the connection would not be forwarded');
  const [result] = JSON.parse(flaky.stdout).results;
  assert.equal(result.listener.name, 'flaky');
  const [endpoint] = result.clusters[0].endpoints;
  assert.equal(endpoint.usable, false);
  assert.equal(endpoint.lastError, 'connect-refused');
  assert.match(endpoint.reasons[0], /^ejected by outlier detection: (4m\d\ds|5m) left$/);
  assert.ok(
    endpoint.ejectionLeftMs > 200_000 && endpoint.ejectionLeftMs <= 300_000,
    String(endpoint.ejectionLeftMs),
  );
  assert.equal(result.clusters[0].nextPick, null);

  const refused = await runCli(['explain', '--admin', admin, 'tcp', 'web'], {
    env: { PORTSIDE_ADMIN_TOKEN: '' },
  });
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /admin API: send Authorization: Bearer <admin token> \(give -c FILE with admin.token/,
  );
  // A request, its listener found by the port it bound (port 0 in the file).
  const apiPort = await cli.listenerPort('api');
  const request = await runCli([
    'explain',
    '--admin',
    admin,
    '-c',
    file,
    'GET',
    `http://api.local:${apiPort}/v1/x`,
  ]);
  assert.equal(request.code, 0, request.stderr);
  assert.match(request.stdout, new RegExp(`listener api \\(http, 127\\.0\\.0\\.1:${apiPort}\\)`));
  assert.match(
    request.stdout,
    /route v2: no\n {4}- path: wants prefix "\/v2" \(whole segments\), got "\/v1\/x"\n {2}route rest: MATCHES/,
  );
  assert.match(request.stdout, /upstream protocol: auto \(the client's: HTTP\/1\.1 or HTTP\/2\)/);
  assert.match(request.stdout, new RegExp(`next pick: 127\\.0\\.0\\.1:${live.port}`));
  const unknown = await runCli(['explain', '--admin', admin, '-c', file, 'tcp', 'nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /admin API: no listener named or bound at "nope"/);
});
