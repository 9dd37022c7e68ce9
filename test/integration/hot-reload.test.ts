import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { Unavailable } from '../../src/core/endpoint.js';
import { bodyOf } from '../helpers/json.js';
import { startReloadingProxy } from '../helpers/reloading-proxy.js';
import {
  deadPort,
  startEchoServer,
  startNamedServer,
  startTcpServer,
  type TestServer,
} from '../helpers/servers.js';
import { openConnection, readLine, whoAnswers } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

async function servers(t: { after: (fn: () => Promise<void>) => void }, ...names: string[]) {
  const started: TestServer[] = [];
  for (const name of names)
    started.push(name === 'echo' ? await startEchoServer() : await startNamedServer(name));
  t.after(async () => {
    for (const s of started) await s.close();
  });
  return started;
}

/** Sends a line and resolves with the line echoed back. */
function echo(socket: Socket, text: string): Promise<string> {
  const line = readLine(socket);
  socket.write(`${text}\n`);
  return line;
}

test('an invalid edit is rejected and the old config keeps serving; a fixed edit applies', {
  timeout: 20_000,
}, async (t) => {
  const [a, b] = await servers(t, 'A', 'B');
  const config = (cluster: string, address = '127.0.0.1:0') => `
admin: { address: "127.0.0.1:0" }
listeners:
  - name: web
    address: "${address}"
    cluster: ${cluster}
clusters:
  - { name: a, endpoints: ["127.0.0.1:${a!.port}"] }
  - { name: b, endpoints: ["127.0.0.1:${b!.port}"] }
`;
  const p = await startReloadingProxy(t, config('a'));
  const port = p.port('web');
  assert.equal(await whoAnswers(port), 'A');

  const rejected = await p.edit(config('b', '127.0.0.1:99999'));
  assert.equal(rejected.ok, false);
  assert.equal(rejected.version, 1);
  assert.deepEqual(rejected.errors, [
    `${p.file}:5:14 listeners[0].address: port 99999 is out of range (0-65535) in address "127.0.0.1:99999"`,
  ]);
  assert.equal(await whoAnswers(port), 'A', 'the old config keeps serving');
  const logged = p.lines.find((l) => String(l.msg).startsWith('config reload rejected:'));
  assert.match(String(logged?.msg), /portside\.yaml:5:14 listeners\[0\]\.address/);
  let shown = await bodyOf(await fetch(p.adminUrl('/config')));
  assert.equal(shown.version, 1);
  assert.equal(shown.lastReload.ok, false);
  assert.deepEqual(shown.lastReload.errors, rejected.errors);
  assert.equal(shown.config.listeners[0].cluster, 'a', '/config shows the running config');

  const applied = await p.edit(config('b'));
  assert.deepEqual([applied.ok, applied.version, applied.summary], [true, 2, 'listeners ~1 (web)']);
  assert.equal(p.port('web'), port, 'the listener kept its socket');
  assert.equal(await whoAnswers(port), 'B');
  shown = await bodyOf(await fetch(p.adminUrl('/config')));
  assert.deepEqual([shown.version, shown.lastReload.ok, shown.config.listeners[0].cluster], [2, true, 'b']);
  assert.ok(p.lines.some((l) => l.msg === 'config reloaded: v2: listeners ~1 (web)'));
});

test('an L4 connection keeps streaming across reloads and after its listener is removed, until drainTimeout', {
  timeout: 20_000,
}, async (t) => {
  const [upstream] = await servers(t, 'echo');
  const config = (listeners: string) => `
drainTimeout: 1s
clusters: [{ name: echo, endpoints: ["127.0.0.1:${upstream!.port}"] }]
listeners:
${listeners}`;
  const stream = '  - { name: stream, address: "127.0.0.1:0", cluster: echo }\n';
  const other = '  - { name: other, address: "127.0.0.1:0", cluster: echo }\n';
  const p = await startReloadingProxy(t, config(stream));
  const port = p.port('stream');
  const socket = await openConnection(port);
  t.after(async () => {
    socket.destroy();
  });
  assert.equal(await echo(socket, 'before'), 'before');

  assert.equal((await p.edit(config(stream + other))).summary, 'listeners +1 (other)');
  assert.equal(await echo(socket, 'after adding a listener'), 'after adding a listener');

  const cut = once(socket, 'end');
  const removed = await p.edit(config(other));
  assert.equal(removed.summary, 'listeners -1 (stream)');
  assert.equal(await echo(socket, 'after removal'), 'after removal', 'the open connection still streams');
  await assert.rejects(openConnection(port), /ECONNREFUSED/, 'the removed listener accepts nothing new');
  assert.equal(p.portside.proxy.drainingListeners.length, 1);

  await cut; // drainTimeout ends it from the proxy's side
  await eventually(() => p.portside.proxy.drainingListeners.length === 0, {
    what: 'the drained listener to be forgotten',
  });
  assert.ok(p.lines.some((l) => l.msg === 'listener drained' && l.listener === 'stream' && l.cut === 1));
});

test('a port that cannot be bound fails the whole reload; the old generation keeps serving', {
  timeout: 20_000,
}, async (t) => {
  const [a] = await servers(t, 'A');
  const taken = await startTcpServer(() => {});
  t.after(() => taken.close());
  const base = `
clusters: [{ name: a, endpoints: ["127.0.0.1:${a!.port}"] }]
listeners:
  - { name: web, address: "127.0.0.1:0", cluster: a }
`;
  const p = await startReloadingProxy(t, base);
  const failed = await p.edit(`${base}  - { name: fresh, address: "127.0.0.1:0", cluster: a }
  - { name: blocked, address: "127.0.0.1:${taken.port}", cluster: a }
`);
  assert.equal(failed.ok, false);
  assert.equal(failed.version, 1);
  assert.match(
    failed.errors?.[0] ?? '',
    new RegExp(`listener "blocked" cannot bind 127\\.0\\.0\\.1:${taken.port}: .*in use.* \\(EADDRINUSE\\)`),
  );
  assert.match(failed.summary, /^apply failed \(listeners \+2 \(fresh, blocked\)\); still serving v1$/);
  assert.equal(p.portside.proxy.listener('fresh'), undefined, 'nothing of the failed reload stays bound');
  assert.equal(p.portside.proxy.version, 1);
  assert.equal(await whoAnswers(p.port('web')), 'A');
});

test('active connections and counters survive a reload for endpoints that still exist', {
  timeout: 20_000,
}, async (t) => {
  const [a, b] = await servers(t, 'A', 'B');
  const config = (endpoints: string) => `
clusters: [{ name: c, endpoints: [${endpoints}] }]
listeners: [{ name: web, address: "127.0.0.1:0", cluster: c }]
`;
  const p = await startReloadingProxy(t, config(`"127.0.0.1:${a!.port}"`));
  const before = p.portside.proxy.current!.clusters.get('c')!.endpoints[0]!;
  const open = await openConnection(p.port('web'));
  t.after(async () => {
    open.destroy();
  });
  assert.equal(await readLine(open), 'A');

  const result = await p.edit(config(`"127.0.0.1:${a!.port}", "127.0.0.1:${b!.port}"`));
  assert.equal(result.summary, 'clusters ~1 (c)');
  const [kept, added] = p.portside.proxy.current!.clusters.get('c')!.endpoints;
  assert.equal(kept!.state, before.state, 'the same state object carries over');
  assert.deepEqual([kept!.state.active, kept!.state.connectionsTotal], [1, 1]);
  assert.deepEqual([added!.state.active, added!.state.connectionsTotal], [0, 0]);
});

test('an endpoint the health checker marked down stays down across a reload', {
  timeout: 20_000,
}, async (t) => {
  const [a] = await servers(t, 'A');
  const dead = await deadPort();
  const config = (listeners: string) => `
clusters:
  - name: c
    endpoints: ["127.0.0.1:${a!.port}", "127.0.0.1:${dead}"]
    healthCheck: { interval: 100ms, timeout: 100ms, unhealthyThreshold: 1, healthyThreshold: 3, tcp: {} }
listeners:
${listeners}`;
  const web = '  - { name: web, address: "127.0.0.1:0", cluster: c }\n';
  const p = await startReloadingProxy(t, config(web));
  const endpoint = () => p.portside.proxy.current!.clusters.get('c')!.endpoints.find((e) => e.port === dead)!;
  await eventually(() => endpoint().state.flags === Unavailable.ActiveCheckFailed, {
    what: 'the dead endpoint marked down',
  });

  const result = await p.edit(config(`${web}  - { name: more, address: "127.0.0.1:0", cluster: c }\n`));
  assert.equal(result.summary, 'listeners +1 (more)');
  assert.equal(endpoint().state.flags, Unavailable.ActiveCheckFailed, 'still down right after the swap');
  for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(p.port('more')), 'A');
});
