/**
 * Running out of file descriptors, for real: the CLI runs under `prlimit --nofile`, idle
 * client connections fill its fd table, and then both an L4 connection and an L7 request
 * need one more fd for the upstream. Neither may count against the endpoint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EXHAUSTION_MESSAGE } from '../../src/listeners/resource-errors.js';
import { adminRequest } from '../helpers/admin-request.js';
import { CLI, startCli } from '../helpers/cli.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startTcpServer } from '../helpers/servers.js';
import { eventually } from '../helpers/wait.js';

const FD_LIMIT = 160;

function prlimitSkipReason(): string | undefined {
  const probe = spawnSync('prlimit', ['--nofile=64:64', 'true']);
  return probe.status === 0 ? undefined : 'prlimit (util-linux) is not available';
}

/** A connection the proxy accepted (still open after a while), or null when it was closed at once. */
async function tryConnection(port: number): Promise<Socket | null> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let closed = false;
  socket.once('close', () => (closed = true));
  socket.once('end', () => (closed = true));
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  await delay(150);
  return closed ? null : socket;
}

/** Opens idle connections until one is closed unaccepted: the proxy's fd table is then full. */
async function fillUp(port: number, held: Socket[]): Promise<void> {
  for (let i = 0; i < FD_LIMIT + 100; i++) {
    const socket = await tryConnection(port);
    if (socket === null) return;
    held.push(socket);
  }
  throw new Error(`the proxy still accepted connections after ${held.length}`);
}

test('out of file descriptors: refused, counted, logged once a second, never held against the endpoint', {
  timeout: 120_000,
  skip: prlimitSkipReason(),
}, async (t) => {
  const upstream = await startTcpServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
  });
  t.after(() => upstream.close());
  const dir = mkdtempSync(join(tmpdir(), 'portside-fd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'portside.yaml');
  writeFileSync(
    file,
    `admin: { address: "127.0.0.1:0" }
listeners:
  - name: web
    address: "127.0.0.1:0"
    protocol: http
    limits: { headersTimeout: 120s, keepAliveTimeout: 120s }
    routes:
      - { match: { pathPrefix: / }, cluster: up }
  - { name: tcp, address: "127.0.0.1:0", cluster: up }
clusters:
  - name: up
    endpoints: ["127.0.0.1:${upstream.port}"]
    outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 }
`,
  );
  const cli = startCli(['run', '-c', file], {
    command: 'prlimit',
    args: [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, CLI],
  });
  t.after(() => cli.kill());
  const admin = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const web = await cli.listenerPort('web');
  const tcp = await cli.listenerPort('tcp');
  await eventually(async () => (await adminRequest(admin, '/ready')).status === 200, {
    what: '/ready to answer 200',
    timeoutMs: 20_000,
  });
  const held: Socket[] = [];
  t.after(() => {
    for (const s of held) s.destroy();
  });
  const exhausted = () => cli.lines.filter((l) => l.msg === EXHAUSTION_MESSAGE);
  const connectErrors = () => exhausted().reduce((n, l) => n + Number(l.connectErrors), 0);

  // L4: with one fd left, the client is accepted and the upstream connect fails (EMFILE).
  await fillUp(web, held);
  held.pop()!.destroy();
  await eventually(
    async () => {
      const socket = await tryConnection(tcp);
      socket?.destroy();
      return connectErrors() > 0;
    },
    { what: 'an L4 upstream connect to fail with EMFILE', timeoutMs: 30_000 },
  );

  // L7: a request on an accepted connection while the table is full.
  await fillUp(web, held);
  const client = held.shift()!;
  const reply = new Promise<string>((resolve) => {
    let text = '';
    client.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(text);
    });
  });
  client.write('GET /x HTTP/1.1\r\nHost: h\r\n\r\n');
  const head = await reply;
  assert.match(head, /^HTTP\/1\.1 503 /);
  assert.match(head, /x-portside-error: proxy-out-of-resources/i);
  client.destroy();

  for (const s of held.splice(0)) s.destroy();
  const metrics = await eventually(
    async () => {
      const reply = await adminRequest(admin, '/metrics');
      return reply.status === 200 ? parsePrometheusText(reply.body) : undefined;
    },
    { what: 'the admin API to answer once fds are free', timeoutMs: 20_000 },
  );
  assert.ok((sampleValue(metrics, 'portside_connect_local_errors_total', { code: 'EMFILE' }) ?? 0) >= 2);
  const endpoint = { cluster: 'up', endpoint: `127.0.0.1:${upstream.port}` };
  assert.equal(sampleValue(metrics, 'portside_endpoint_failures_total', endpoint), 0, 'no endpoint failure');
  assert.equal(sampleValue(metrics, 'portside_endpoint_available', endpoint), 1, 'not ejected');
  assert.equal(sampleValue(metrics, 'portside_outlier_ejections_total', endpoint) ?? 0, 0);

  // Logged, but at most once a second, each line with the count since the previous one.
  const lines = exhausted();
  assert.ok(lines.length >= 1);
  const times = lines.map((l) => Date.parse(String(l.time)));
  for (let i = 1; i < times.length; i++)
    assert.ok(times[i]! - times[i - 1]! >= 900, 'at most one line a second');
  assert.ok(lines.every((l) => Number(l.occurrences) >= 1 && l.code === 'EMFILE'));
  assert.equal(
    cli.lines.filter((l) => /tcp connection rejected/.test(String(l.msg))).length,
    0,
    'not reported as an endpoint problem',
  );

  // Back to normal once fds are free.
  const after = await tryConnection(web);
  assert.ok(after);
  after.write('GET /x HTTP/1.1\r\nHost: h\r\n\r\n');
  const ok = await new Promise<string>((resolve) => after.once('data', (c: Buffer) => resolve(c.toString())));
  assert.match(ok, /^HTTP\/1\.1 200 /);
  after.destroy();
});
