import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { configWriter, runCli, startCli } from '../helpers/cli.js';
import { startEchoServer, startNamedServer, type TestServer } from '../helpers/servers.js';
import { exchange, openConnection, readLine, whoAnswers } from '../helpers/tcp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { write: writeConfig } = configWriter('portside-e2e-');

describe('portside CLI', { timeout: 60_000 }, () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('prints its version and help', async () => {
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^portside \d+\.\d+\.\d+\n$/);
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /portside run --config FILE/);
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.doesNotMatch(unknown.stderr, /did you mean/);
  });

  it('validate: exits 0 with a one-line summary for the contract config', async () => {
    const result = await runCli(['validate', join(ROOT, 'config', 'portside.yaml')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /portside\.yaml: valid \(1 listener, 1 cluster, 2 static endpoints\)\n$/);
  });

  it('validate: exits 1 and lists every problem as FILE:LINE:COL field: message', async () => {
    const file = join(ROOT, 'test', 'fixtures', 'bad.yaml');
    const result = await runCli(['validate', file]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      `${file}:3:14 listeners[0].address: port 99999 is out of range (0-65535) in address "127.0.0.1:99999"`,
      `${file}:6:21 listeners[0].connectTimeout: expected a duration with a unit, e.g. "500ms", "1s", "10m"`,
      `${file}:7:5 listeners[0].colour: unknown field "colour"; fields here: name, address, protocol, cluster, connectTimeout, idleTimeout, tls`,
    ]);
    assert.equal(lines[3], `${file}: invalid (3 errors)`);
  });

  it('validate --print-defaults shows the effective config', async () => {
    const result = await runCli(['validate', '--print-defaults', join(ROOT, 'config', 'portside.yaml')]);
    assert.equal(result.code, 0, result.stderr);
    const effective = parse(result.stdout);
    assert.equal(effective.drainTimeout, '30s');
    assert.equal(effective.listeners[0].idleTimeout, '10m');
    assert.equal(effective.clusters[0].endpoints[0].weight, 1);
  });

  it('run: refuses an invalid config and starts nothing', async () => {
    const result = await runCli(['run', '-c', join(ROOT, 'test', 'fixtures', 'bad.yaml')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad\.yaml:3:14 listeners\[0\]\.address/);
    assert.match(result.stderr, /invalid config; nothing started/);
  });

  it('run: fails clearly when a listener cannot bind', async () => {
    const busy = await startEchoServer();
    servers.push(busy);
    const file = writeConfig(
      'busy.yaml',
      `listeners:\n  - { name: l, address: 127.0.0.1:${busy.port}, cluster: c }\nclusters:\n  - { name: c, endpoints: [127.0.0.1:1] }\n`,
    );
    const result = await runCli(['run', '-c', file]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `^portside: listener "l" cannot bind 127\\.0\\.0\\.1:${busy.port}: the port is already in use by another process \\(EADDRINUSE\\)\n$`,
      ),
    );
    // The log says it once, without a stack trace.
    const fatal = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((line) => line.level === 60);
    assert.equal(fatal.length, 1);
    assert.equal(fatal[0].code, 'EADDRINUSE');
    assert.equal(fatal[0].err, undefined, 'no error object with a stack');
    assert.doesNotMatch(result.stdout + result.stderr, /\n\s+at /);
  });

  it('run: proxies traffic, then drains an open connection on SIGTERM and exits 0', async () => {
    const a = await startNamedServer('A');
    const b = await startNamedServer('B');
    servers.push(a, b);
    const file = writeConfig(
      'run.yaml',
      `listeners:\n  - { name: tcp, address: 127.0.0.1:0, cluster: c }\nclusters:\n  - { name: c, endpoints: [127.0.0.1:${a.port}, 127.0.0.1:${b.port}] }\ndrainTimeout: 10s\n`,
    );
    const cli = startCli(['run', '-c', file]);
    try {
      const port = await cli.listenerPort('tcp');
      assert.deepEqual([await whoAnswers(port), await whoAnswers(port)].sort(), ['A', 'B']);

      const open = await openConnection(port);
      await readLine(open);
      cli.child.kill('SIGTERM');
      await cli.waitForLog((l) => l.msg === 'draining');
      // New connections are refused while the open one keeps working.
      await assert.rejects(openConnection(port), /ECONNREFUSED/);
      open.write('still here\n');
      assert.equal(await readLine(open), 'still here');
      open.end();
      assert.equal(await cli.exited, 0);
      const drained = await cli.waitForLog((l) => l.msg === 'drained');
      assert.equal(drained.cut, 0);
    } finally {
      cli.kill();
    }
  });

  it('run: cuts connections still open when drainTimeout expires, and exits 0', async () => {
    const echo = await startEchoServer();
    servers.push(echo);
    const file = writeConfig(
      'cut.yaml',
      `listeners:\n  - { name: tcp, address: 127.0.0.1:0, cluster: c }\nclusters:\n  - { name: c, endpoints: [127.0.0.1:${echo.port}] }\ndrainTimeout: 300ms\n`,
    );
    const cli = startCli(['run', '-c', file, '--log-level', 'info']);
    try {
      const port = await cli.listenerPort('tcp');
      assert.equal((await exchange(port, 'ok')).toString(), 'ok');
      const open = await openConnection(port);
      // Proxied end to end before SIGTERM: a connection still in the accept queue when the
      // listening socket closes is reset by the kernel, whatever the proxy does.
      open.write('x');
      await once(open, 'data');
      const closed = once(open, 'end');
      cli.child.kill('SIGTERM');
      await closed;
      assert.equal(await cli.exited, 0);
      const drained = await cli.waitForLog((l) => l.msg === 'drained');
      assert.equal(drained.cut, 1);
      open.destroy();
    } finally {
      cli.kill();
    }
  });
});
