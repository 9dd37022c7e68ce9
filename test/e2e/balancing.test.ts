/**
 * Balancing through the real `portside run`: least_connections follows long-lived
 * connections, and source_hash keeps a client on one endpoint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { openConnection, readLine, whoAnswers } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'portside-balancing-'));

function writeConfig(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

async function threeServers(servers: TestServer[]): Promise<Record<string, TestServer>> {
  const named = {
    A: await startNamedServer('A'),
    B: await startNamedServer('B'),
    C: await startNamedServer('C'),
  };
  servers.push(...Object.values(named));
  return named;
}

const endpointList = (named: Record<string, TestServer>) =>
  Object.values(named)
    .map((s) => `127.0.0.1:${s.port}`)
    .join(', ');

describe('balancing end to end', { timeout: 60_000 }, () => {
  const servers: TestServer[] = [];
  const clients: Socket[] = [];
  after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.close();
  });

  /** Opens a connection that stays open, and says which upstream it reached. */
  async function hold(port: number): Promise<[string, Socket]> {
    const socket = await openConnection(port);
    clients.push(socket);
    return [await readLine(socket), socket];
  }

  it('least_connections sends new connections to the upstream with the fewest open ones', async () => {
    const named = await threeServers(servers);
    const file = writeConfig(
      'lc.yaml',
      `admin: { address: "127.0.0.1:0" }\nlisteners:\n  - { name: tcp, address: 127.0.0.1:0, cluster: c }\nclusters:\n  - name: c\n    endpoints: [${endpointList(named)}]\n    balancing: { policy: least_connections }\n`,
    );
    const cli = startCli(['run', '-c', file]);
    try {
      const port = await cli.listenerPort('tcp');
      const adminAddress = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
      /** Portside's own count of B's open connections (it learns of a close after the server does). */
      const activeOnB = async () => {
        const { clusters } = (await (await fetch(`http://${adminAddress}/clusters`)).json()) as {
          clusters: { endpoints: { address: string; active: number }[] }[];
        };
        return clusters[0]!.endpoints.find((e) => e.address.endsWith(`:${named.B!.port}`))!.active;
      };
      const held: [string, Socket][] = [];
      for (let i = 0; i < 6; i++) held.push(await hold(port));
      // Equal loads are served in turn: two long-lived connections on each.
      assert.deepEqual(held.map(([name]) => name).join(''), 'ABCABC');

      // B's clients leave; once Portside has closed their upstream side B is the least loaded.
      for (const [name, socket] of held) if (name === 'B') socket.destroy();
      await eventually(() => named.B!.sockets.size === 0, { what: 'B to see its connections close' });
      await eventually(async () => (await activeOnB()) === 0, { what: 'Portside to count none open on B' });
      assert.equal((await hold(port))[0], 'B');
      assert.equal((await hold(port))[0], 'B');
      assert.deepEqual(
        Object.values(named).map((s) => s.sockets.size),
        [2, 2, 2],
      );
    } finally {
      cli.kill();
    }
  });

  it('source_hash keeps one client on one endpoint across 100 connections', async () => {
    const named = await threeServers(servers);
    const file = writeConfig(
      'sh.yaml',
      `listeners:\n  - { name: hashed, address: 127.0.0.1:0, cluster: sh }\n  - { name: turns, address: 127.0.0.1:0, cluster: rr }\nclusters:\n  - name: sh\n    endpoints: [${endpointList(named)}]\n    balancing: { policy: sh }\n  - name: rr\n    endpoints: [${endpointList(named)}]\n    balancing: { policy: rr }\n`,
    );
    const cli = startCli(['run', '-c', file]);
    try {
      const hashed = await cli.listenerPort('hashed');
      const seen = new Set<string>();
      for (let i = 0; i < 100; i++) seen.add(await whoAnswers(hashed));
      assert.equal(seen.size, 1, `one client reached ${[...seen].join(', ')}`);
      // The same endpoints under round robin do spread: the hash, not the set, keeps the client in place.
      const turns = await cli.listenerPort('turns');
      const spread = new Set<string>();
      for (let i = 0; i < 3; i++) spread.add(await whoAnswers(turns));
      assert.equal(spread.size, 3);
    } finally {
      cli.kill();
    }
  });
});
