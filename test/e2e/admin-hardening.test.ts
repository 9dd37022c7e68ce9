import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminRequest } from '../helpers/admin-request.js';
import { startCli } from '../helpers/cli.js';
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
