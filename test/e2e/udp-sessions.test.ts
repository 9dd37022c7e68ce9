/**
 * 10,000 UDP sessions open at once through the real CLI, with dnsmasq behind it: every one
 * answered, memory bounded per session, clients beyond `maxSessions` dropped and counted.
 * Portside runs in its own process so that its 10,000 upstream sockets and the test's 10,000
 * client sockets each fit in a process's file descriptor limit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { adminRequest } from '../helpers/admin-request.js';
import { DnsClient } from '../helpers/dns-client.js';
import { dnsmasqSkipReason } from '../helpers/dnsmasq.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startUdpPortside } from '../helpers/udp-portside.js';

const SESSIONS = 10_000;
/** Below a default receive buffer (about 256 small datagrams), dnsmasq's included. */
const BATCH = 200;
/** Generous: measured at 1.7-4.1 KiB per session (a socket, its handle and the session). */
const MAX_BYTES_PER_SESSION = 16 * 1024;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/**
 * The clients' addresses: 127.1.x.y, all on one port. Ten thousand clients on ephemeral ports
 * would take a third of the machine's range (Portside's upstream sockets take another), and
 * other tests that pick a free port and bind it a moment later would then collide.
 */
function clientAddress(i: number): string {
  return `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** `count` more clients, each asking once (with retries): a session each. Returns how many got an answer. */
async function openSessions(port: number, count: number, clients: DnsClient[], tries = 5): Promise<number> {
  let answered = 0;
  for (let done = 0; done < count; done += BATCH) {
    const first = clients.length;
    const size = Math.min(BATCH, count - done);
    // The first client takes an ephemeral port; every later one binds that same port.
    const clientPort = clients[0]?.port ?? 0;
    const batch: DnsClient[] = [];
    for (let i = 0; i < size; i++) {
      const c = await DnsClient.open(clientAddress(first + i), clientPort || batch[0]?.port || 0);
      batch.push(c);
      clients.push(c);
    }
    const answers = await Promise.all(
      batch.map((c) => c.resolve(port, 'who.internal', { timeoutMs: 1000, tries })),
    );
    answered += answers.filter((a) => a?.[0] === '10.0.0.1').length;
  }
  return answered;
}

test('10,000 concurrent UDP sessions: all answered, memory bounded, the cap enforced', {
  timeout: 300_000,
  skip: dnsmasqSkipReason(),
}, async (t) => {
  // Sessions log when they end: with a 10 minute idle timeout, none does during the test.
  const { cli, admin, port, clients } = await startUdpPortside(t, {
    listener: `idleTimeout: 10m, maxSessions: ${SESSIONS}`,
  });

  const t0 = Date.now();
  // One batch first, so that one-time growth (code, heap) is not counted per session.
  assert.equal(await openSessions(port, BATCH, clients), BATCH);
  const before = rssBytes(cli.child.pid!);
  assert.equal(
    await openSessions(port, SESSIONS - BATCH, clients),
    SESSIONS - BATCH,
    'every session answered',
  );
  const after = rssBytes(cli.child.pid!);
  const perSession = (after - before) / (SESSIONS - BATCH);
  t.diagnostic(
    `RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB: ${Math.round(perSession)} bytes per session`,
  );
  assert.ok(perSession < MAX_BYTES_PER_SESSION, `${Math.round(perSession)} bytes per session`);

  t.diagnostic(`opened in ${Date.now() - t0} ms`);
  // At the cap: further clients are dropped and counted, open sessions still answered.
  const beyond = await openSessions(port, 100, clients, 1);
  assert.equal(beyond, 0, 'no session beyond maxSessions');
  assert.deepEqual(await clients[0]!.resolve(port, 'who.internal'), ['10.0.0.1']);

  const metrics = parsePrometheusText((await adminRequest(admin, '/metrics')).body);
  const listener = { listener: 'dns' };
  assert.equal(sampleValue(metrics, 'portside_listener_active_connections', listener), SESSIONS);
  assert.equal(sampleValue(metrics, 'portside_listener_connections_total', listener), SESSIONS);
  assert.equal(
    sampleValue(metrics, 'portside_listener_dropped_datagrams_total', {
      listener: 'dns',
      reason: 'session_limit',
    }),
    100,
  );
  const received = sampleValue(metrics, 'portside_listener_received_datagrams_total', listener)!;
  const sent = sampleValue(metrics, 'portside_listener_sent_datagrams_total', listener)!;
  assert.ok(received >= SESSIONS + 101 && sent >= SESSIONS + 1, `received ${received}, sent ${sent}`);
});
