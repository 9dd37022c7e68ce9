import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminRequest } from '../helpers/admin-request.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startNamedServer } from '../helpers/servers.js';
import { eventually } from '../helpers/wait.js';

function tempConfig(t: { after: (fn: () => void) => void }, yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'portside-admin-hardening-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'portside.yaml');
  writeFileSync(file, yaml);
  return file;
}

test('portside run: a tokenless admin refuses a rebound Host and a foreign Origin', {
  timeout: 60_000,
}, async (t) => {
  const upstream = await startNamedServer('A');
  t.after(() => upstream.close());
  const file = tempConfig(
    t,
    `admin: { address: "127.0.0.1:0" }
listeners:
  - { name: web, address: "127.0.0.1:0", cluster: a }
clusters:
  - { name: a, endpoints: ["127.0.0.1:${upstream.port}"] }
`,
  );
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const address = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const port = address.split(':').pop();
  await eventually(async () => (await adminRequest(address, '/ready')).status === 200, {
    what: '/ready to answer 200',
    timeoutMs: 20_000,
  });

  const evil = `evil.example:${port}`;
  const drain = await adminRequest(address, '/drain', {
    method: 'POST',
    headers: { host: evil, origin: `http://${evil}` },
  });
  assert.equal(drain.status, 403);
  assert.equal(JSON.parse(drain.body).error.code, 'ADMIN_HOST_REFUSED');
  const config = await adminRequest(address, '/config', { headers: { host: evil } });
  assert.equal(config.status, 403);
  assert.doesNotMatch(config.body, /listeners/);
  const csrf = await adminRequest(address, '/drain', {
    method: 'POST',
    headers: { host: `127.0.0.1:${port}`, origin: 'http://evil.example' },
  });
  assert.equal(csrf.status, 403);
  assert.equal(JSON.parse(csrf.body).error.code, 'ADMIN_CROSS_ORIGIN');

  const ready = await adminRequest(address, '/ready');
  assert.equal(ready.status, 200, 'still serving: nothing was drained');
  assert.equal(cli.lines.filter((l) => l.msg === 'admin: drain requested').length, 0);
  assert.equal(
    (await adminRequest(address, '/config', { headers: { host: `localhost:${port}` } })).status,
    200,
  );
});

test('portside run: no header value or URL password shows in the admin API, logs or print-defaults', {
  timeout: 60_000,
}, async (t) => {
  // An etcd stand-in that refuses every request, as one with auth on refuses a wrong password.
  const etcd = createServer((_request, response) => {
    response.writeHead(401, { 'content-type': 'application/json' });
    response.end('{"error":"etcdserver: user name or password is not correct"}');
  });
  await new Promise<void>((resolve) => etcd.listen(0, '127.0.0.1', resolve));
  t.after(() => etcd.close());
  const etcdPort = (etcd.address() as AddressInfo).port;
  const upstream = await startNamedServer('A');
  t.after(() => upstream.close());
  const file = tempConfig(
    t,
    `admin: { address: "127.0.0.1:0" }
listeners:
  - name: web
    address: "127.0.0.1:0"
    protocol: http
    routes:
      - match: { pathPrefix: / }
        cluster: static
        requestHeaders:
          set: { x-api-key: "KEY-s3cret", cookie: "session=s3cret-cookie" }
        responseHeaders:
          set: { x-upstream-token: "s3cret-response" }
clusters:
  - name: static
    endpoints: ["127.0.0.1:${upstream.port}"]
  - name: registry
    discovery:
      etcd:
        endpoints: ["http://portside:s3cret-password@127.0.0.1:${etcdPort}"]
        prefix: /services/api/
`,
  );
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const address = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  // Two failures: the error is stored and logged on every retry.
  await eventually(() => cli.lines.filter((l) => /etcd discovery failed/.test(String(l.msg))).length >= 2, {
    what: 'two etcd failure log lines',
    timeoutMs: 20_000,
  });

  const answers: string[] = [];
  for (const path of ['/config', '/clusters', '/api/dashboard', '/listeners', '/ready', '/metrics']) {
    const reply = await adminRequest(address, path);
    answers.push(`${path}: ${reply.body}`);
  }
  const all = answers.join('\n');
  assert.doesNotMatch(all, /s3cret/, 'no secret in the admin API');
  const config = JSON.parse(answers[0]!.slice('/config: '.length)).config;
  assert.deepEqual(config.listeners[0].routes[0].requestHeaders.set, {
    'x-api-key': '[redacted]',
    cookie: '[redacted]',
  });
  assert.deepEqual(config.clusters[1].discovery.etcd.endpoints, [`http://[redacted]@127.0.0.1:${etcdPort}`]);
  const { clusters } = JSON.parse(answers[1]!.slice('/clusters: '.length));
  const lastError = clusters.find((c: { name: string }) => c.name === 'registry').discovery[0].lastError;
  assert.ok(lastError, 'the failure is still explained');
  assert.match(lastError, /\[redacted\]@127\.0\.0\.1|HTTP 401/);

  const printed = await runCli(['validate', '--print-defaults', file]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /x-api-key: "?\[redacted\]/);
  assert.doesNotMatch(printed.stdout + printed.stderr, /s3cret/);

  cli.child.kill('SIGTERM');
  await cli.exited;
  const logs = `${cli.lines.map((l) => JSON.stringify(l)).join('\n')}\n${cli.stderr()}`;
  assert.ok(cli.lines.length > 3, 'the run logged');
  assert.doesNotMatch(logs, /s3cret/, 'no secret in stdout or stderr');
});
