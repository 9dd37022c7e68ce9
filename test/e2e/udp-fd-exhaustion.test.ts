/**
 * A UDP listener out of file descriptors, for real (the CLI under `prlimit --nofile`): each
 * session needs one socket, so past the limit new sessions fail to open. They are dropped and
 * counted, never held against the endpoint, and sessions open again once idle ones end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { adminRequest } from '../helpers/admin-request.js';
import { CLI } from '../helpers/cli.js';
import { DnsClient } from '../helpers/dns-client.js';
import { dnsmasqSkipReason } from '../helpers/dnsmasq.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startUdpPortside } from '../helpers/udp-portside.js';
import { eventually } from '../helpers/wait.js';

const FD_LIMIT = 120;

function skipReason(): string | undefined {
  if (spawnSync('prlimit', ['--nofile=64:64', 'true']).status !== 0)
    return 'prlimit (util-linux) is not available';
  return dnsmasqSkipReason();
}

test("udp sessions out of file descriptors: dropped, counted, not the endpoint's fault, back once sessions end", {
  timeout: 120_000,
  skip: skipReason(),
}, async (t) => {
  const { dns, admin, port, clients, cli } = await startUdpPortside(t, {
    listener: 'idleTimeout: 3s',
    cluster: '    outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 }',
    launcher: { command: 'prlimit', args: [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, CLI] },
  });

  // More sessions than the process has descriptors: the last ones cannot open a socket.
  // All at once, well within the idle timeout, so that no session ends meanwhile.
  clients.push(...(await Promise.all(Array.from({ length: FD_LIMIT + 20 }, () => DnsClient.open()))));
  const answers = await Promise.all(
    clients.map((c) => c.resolve(port, 'who.internal', { timeoutMs: 1000, tries: 1 })),
  );
  const answered = answers.filter((a) => a !== undefined).length;
  assert.ok(answered > 0 && answered < FD_LIMIT, `${answered} of ${answers.length} sessions answered`);

  // The admin API needs a descriptor too: it answers once the sessions idle out (3s).
  const metrics = await eventually(
    async () => {
      const reply = await adminRequest(admin, '/metrics');
      return reply.status === 200 ? parsePrometheusText(reply.body) : undefined;
    },
    {
      timeoutMs: 20_000,
      intervalMs: 200,
      // If it never answers, say whether the process is still there and what it said last.
      what: () => {
        const state = cli.child.exitCode ?? cli.child.signalCode ?? 'running';
        const last = cli.lines.slice(-5).map((l) => JSON.stringify(l));
        return `the admin API to answer once descriptors are free (process: ${state}; stderr: ${cli.stderr().slice(-500)}; last lines: ${last.join(' ')})`;
      },
    },
  );
  assert.ok((sampleValue(metrics, 'portside_connect_local_errors_total', { code: 'EMFILE' }) ?? 0) > 0);
  assert.ok(
    (sampleValue(metrics, 'portside_listener_dropped_datagrams_total', {
      listener: 'dns',
      reason: 'out_of_resources',
    }) ?? 0) > 0,
  );
  const endpoint = { cluster: 'dns', endpoint: dns.address };
  assert.equal(sampleValue(metrics, 'portside_endpoint_failures_total', endpoint), 0, 'no endpoint failure');
  assert.equal(sampleValue(metrics, 'portside_endpoint_available', endpoint), 1, 'not ejected');

  // The sessions' sockets are free again: a new client is served.
  await eventually(
    async () => {
      const c = await DnsClient.open();
      clients.push(c);
      return (await c.resolve(port, 'who.internal', { timeoutMs: 500, tries: 1 }))?.[0] === '10.0.0.1';
    },
    { timeoutMs: 20_000, intervalMs: 500, what: 'a new session to be answered' },
  );
});
