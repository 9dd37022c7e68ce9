import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { UdpListener } from '../../src/listeners/udp-listener.js';
import { DnsClient, digBatch, digSkipReason } from '../helpers/dns-client.js';
import { Dnsmasq, dnsmasqSkipReason } from '../helpers/dnsmasq.js';
import { parseConfig, startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

/** Each dnsmasq answers `who.internal` with its own address, so an answer names its server. */
const WHO = 'who.internal';

function udpConfig(servers: Dnsmasq[], { listener = '', cluster = '' } = {}): string {
  return `listeners:
  - name: dns
    protocol: udp
    address: 127.0.0.1:0
    cluster: dns
${listener}
clusters:
  - name: dns
    endpoints: [${servers.map((s) => s.address).join(', ')}]
${cluster}
drainTimeout: 1s
`;
}

const skip = dnsmasqSkipReason() ?? digSkipReason();

describe('UDP proxy with dnsmasq behind it', { timeout: 120_000, skip }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function dnsmasq(address: string): Promise<Dnsmasq> {
    const server = await Dnsmasq.start({ hosts: { [WHO]: [address] } });
    cleanups.push(() => server.stop());
    return server;
  }
  async function proxy(yaml: string): Promise<TestProxy> {
    const p = await startProxy(yaml);
    cleanups.push(() => p.stop());
    return p;
  }
  async function client(address?: string): Promise<DnsClient> {
    const c = await DnsClient.open(address);
    cleanups.push(() => c.close());
    return c;
  }
  const listenerOf = (p: TestProxy) => p.proxy.listener('dns') as UdpListener;

  it('spreads 1,000 dig queries (a session each) round robin across two dnsmasq', async () => {
    const a = await dnsmasq('10.0.0.1');
    const b = await dnsmasq('10.0.0.2');
    const p = await proxy(udpConfig([a, b]));
    const answers = await digBatch(
      p.port('dns'),
      Array.from({ length: 1000 }, () => WHO),
    );
    assert.equal(answers.length, 1000);
    const counts = new Map<string, number>();
    for (const answer of answers) counts.set(answer, (counts.get(answer) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), ['10.0.0.1', '10.0.0.2']);
    // dig sends each query from a new socket, so sessions alternate. The kernel may give a
    // later query the port of an earlier one whose session is still open: it then stays on that
    // session's endpoint. So the split is exact in sessions, and close to it in queries.
    const [sessionsA, sessionsB] = p.proxy
      .current!.clusters.get('dns')!
      .endpoints.map((e) => e.state.connectionsTotal);
    assert.ok(Math.abs(sessionsA! - sessionsB!) <= 1, `sessions per endpoint: ${sessionsA}, ${sessionsB}`);
    for (const [answer, count] of counts) assert.ok(count >= 400, `${answer} answered ${count} of 1,000`);
    const stats = listenerOf(p).stats;
    assert.equal(stats.connectionsTotal, sessionsA! + sessionsB!);
    assert.ok(stats.connectionsTotal >= 900, `sessions opened: ${stats.connectionsTotal}`);
    assert.ok(stats.datagramsSent >= 1000);
    assert.ok(
      stats.bytesReceived > 0 && stats.bytesSent > stats.bytesReceived,
      'answers are longer than queries',
    );
  });

  it('keeps each client address on one endpoint with source_hash', async () => {
    const a = await dnsmasq('10.0.0.1');
    const b = await dnsmasq('10.0.0.2');
    const p = await proxy(udpConfig([a, b], { cluster: '    balancing: { policy: source_hash }' }));
    const byAddress = new Map<string, Set<string>>();
    for (let host = 2; host < 22; host++) {
      const address = `127.0.0.${host}`;
      const seen = new Set<string>();
      // A new socket (port) each time: a new session, hashed by address only.
      for (let i = 0; i < 5; i++) {
        const c = await DnsClient.open(address);
        seen.add((await c.resolve(p.port('dns'), WHO))?.join() ?? 'none');
        await c.close();
      }
      byAddress.set(address, seen);
    }
    for (const [address, seen] of byAddress) assert.equal(seen.size, 1, `${address} saw ${[...seen]}`);
    const used = new Set([...byAddress.values()].flatMap((s) => [...s]));
    assert.deepEqual([...used].sort(), ['10.0.0.1', '10.0.0.2'], 'twenty addresses use both endpoints');
  });

  it('puts every session of a listener on one endpoint with destination_hash', async () => {
    const a = await dnsmasq('10.0.0.1');
    const b = await dnsmasq('10.0.0.2');
    const p = await proxy(udpConfig([a, b], { cluster: '    balancing: { policy: destination_hash }' }));
    const clients = await Promise.all(Array.from({ length: 10 }, () => client()));
    const answers = await Promise.all(clients.map((c) => c.resolve(p.port('dns'), WHO)));
    assert.equal(new Set(answers.map((x) => x?.join())).size, 1, `answers: ${answers.join(' ')}`);
    assert.equal(listenerOf(p).stats.connectionsTotal, 10, 'ten sessions');
  });

  it('moves the sessions of a killed dnsmasq to the other on their next datagram', async () => {
    const a = await dnsmasq('10.0.0.1');
    const b = await dnsmasq('10.0.0.2');
    const p = await proxy(udpConfig([a, b]));
    const port = p.port('dns');
    const clients = await Promise.all(Array.from({ length: 40 }, () => client()));
    const first = await Promise.all(clients.map((c) => c.resolve(port, WHO)));
    const onA = clients.filter((_, i) => first[i]?.[0] === '10.0.0.1');
    assert.equal(onA.length, 20, 'round robin put half of the sessions on each');
    await a.stop();
    // The first datagram after the kill meets "port unreachable"; the client's retry moves.
    const again = await Promise.all(clients.map((c) => c.resolve(port, WHO, { timeoutMs: 300, tries: 10 })));
    for (const answer of again) assert.deepEqual(answer, ['10.0.0.2']);
    assert.equal(listenerOf(p).openConnections, 40, 'the same sessions, moved, not new ones');
    const endpointA = p.proxy.current!.clusters.get('dns')!.endpoints.find((e) => e.port === a.port)!;
    assert.ok(endpointA.state.failuresTotal >= 1, 'the refusals count against the dead endpoint');
    assert.equal(endpointA.state.active, 0, 'no session is left on it');
  });

  it('with replyTimeout, ejects an endpoint that stops answering and moves its sessions', async () => {
    const a = await dnsmasq('10.0.0.1');
    const b = await dnsmasq('10.0.0.2');
    const p = await proxy(
      udpConfig([a, b], {
        listener: '    replyTimeout: 200ms',
        cluster: '    outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 30s }',
      }),
    );
    const port = p.port('dns');
    const clients = await Promise.all(Array.from({ length: 10 }, () => client()));
    await Promise.all(clients.map((c) => c.resolve(port, WHO)));
    a.pause(); // silent, no "port unreachable": only missing answers tell
    try {
      const answers = await Promise.all(
        clients.map((c) => c.resolve(port, WHO, { timeoutMs: 400, tries: 20 })),
      );
      for (const answer of answers) assert.deepEqual(answer, ['10.0.0.2']);
      const endpointA = p.proxy.current!.clusters.get('dns')!.endpoints.find((e) => e.port === a.port)!;
      assert.notEqual(endpointA.state.flags, 0, 'outlier detection ejected the silent endpoint');
      assert.equal(endpointA.state.lastError, 'no-reply');
    } finally {
      a.resume();
    }
  });

  it('drops and counts new clients beyond maxSessions', async () => {
    const a = await dnsmasq('10.0.0.1');
    const p = await proxy(udpConfig([a], { listener: '    maxSessions: 5' }));
    const port = p.port('dns');
    const clients = await Promise.all(Array.from({ length: 8 }, () => client()));
    const answers = [];
    for (const c of clients) answers.push(await c.resolve(port, WHO, { timeoutMs: 300, tries: 1 }));
    assert.equal(answers.filter((x) => x !== undefined).length, 5);
    assert.deepEqual(answers.slice(5), [undefined, undefined, undefined]);
    assert.equal(listenerOf(p).stats.dropped.session_limit, 3);
    assert.deepEqual(await clients[0]!.resolve(port, WHO), ['10.0.0.1'], 'open sessions go on');
  });

  it('ends idle sessions with one log line each', async () => {
    const a = await dnsmasq('10.0.0.1');
    const p = await proxy(udpConfig([a], { listener: '    idleTimeout: 200ms' }));
    const port = p.port('dns');
    const c = await client();
    assert.deepEqual(await c.resolve(port, WHO), ['10.0.0.1']);
    assert.deepEqual(await c.resolve(port, WHO), ['10.0.0.1']);
    const line = await eventually(() => p.lines.find((l) => l.msg === 'udp session'), {
      timeoutMs: 5000,
      what: 'the session log line',
    });
    assert.equal(line.client, `127.0.0.1:${c.port}`);
    assert.equal(line.endpoint, a.address);
    assert.equal(line.datagramsFromClient, 2);
    assert.equal(line.datagramsToClient, 2);
    assert.equal(line.end, 'idle_timeout');
    assert.equal(listenerOf(p).openConnections, 0);
  });

  it('keeps its socket and its sessions across a reload, which applies to them', async () => {
    const a = await dnsmasq('10.0.0.1');
    const b = await dnsmasq('10.0.0.2');
    const p = await proxy(udpConfig([a]));
    const port = p.port('dns');
    const c = await client();
    assert.deepEqual(await c.resolve(port, WHO), ['10.0.0.1']);
    const listener = listenerOf(p);
    // Same listener, its cluster now only b: the session moves on its next datagram.
    await p.proxy.apply(parseConfig(udpConfig([b])));
    assert.equal(p.proxy.listener('dns'), listener, 'the same socket');
    assert.equal(listener.openConnections, 1, 'the session was handed over');
    assert.deepEqual(await c.resolve(port, WHO), ['10.0.0.2']);
    assert.equal(listener.stats.connectionsTotal, 1, 'still one session');
  });

  it('when a reload removes it, serves its open sessions until they idle out, then releases the port', async () => {
    const a = await dnsmasq('10.0.0.1');
    const p = await proxy(udpConfig([a], { listener: '    idleTimeout: 300ms' }));
    const port = p.port('dns');
    const listener = listenerOf(p);
    const open = await client();
    assert.deepEqual(await open.resolve(port, WHO), ['10.0.0.1']);
    await p.proxy.apply(parseConfig(`clusters:\n  - { name: dns, endpoints: ["${a.address}"] }\n`));
    assert.deepEqual(p.proxy.drainingListeners, [listener]);
    assert.deepEqual(await open.resolve(port, WHO), ['10.0.0.1'], 'the open session is still served');
    const late = await client();
    assert.equal(await late.resolve(port, WHO, { timeoutMs: 200, tries: 1 }), undefined, 'no new session');
    assert.equal(listener.stats.dropped.draining, 1);
    await eventually(() => !listener.bound && p.proxy.drainingListeners.length === 0, {
      timeoutMs: 10_000,
      what: 'the drained listener to close its socket',
    });
    const line = p.lines.find((l) => l.msg === 'listener drained');
    assert.equal(line?.cut, 0, 'the session ended by idling, not cut');
  });

  it('refuses a taken UDP port in words', async () => {
    const a = await dnsmasq('10.0.0.1');
    const p = await proxy(udpConfig([a]));
    const yaml = `listeners:\n  - { name: again, protocol: udp, address: "127.0.0.1:${p.port('dns')}", cluster: dns }\nclusters:\n  - { name: dns, endpoints: ["${a.address}"] }\n`;
    await assert.rejects(
      startProxy(yaml),
      /listener "again" cannot bind 127\.0\.0\.1:\d+\/udp: the port is already in use by another process \(EADDRINUSE\)/,
    );
  });
});
