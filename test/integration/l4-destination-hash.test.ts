/** destination_hash on TCP listeners: the key is the address and port the client connected to. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';

describe('destination_hash on L4 listeners', { timeout: 60_000 }, () => {
  const servers: TestServer[] = [];
  let proxy: TestProxy;

  before(async () => {
    for (const name of ['A', 'B', 'C']) servers.push(await startNamedServer(name));
    const endpoints = servers.map((s) => `127.0.0.1:${s.port}`).join(', ');
    proxy = await startProxy(`
listeners:
  - { name: one, address: 127.0.0.1:0, cluster: dh }
  - { name: two, address: 127.0.0.1:0, cluster: dh }
  - { name: turns, address: 127.0.0.1:0, cluster: rr }
clusters:
  - { name: dh, endpoints: [${endpoints}], balancing: { policy: dh } }
  - { name: rr, endpoints: [${endpoints}], balancing: { policy: rr } }
`);
  });
  after(async () => {
    await proxy?.stop();
    for (const s of servers) await s.close();
  });

  it('sends every connection to one listener to the same endpoint', async () => {
    for (const listener of ['one', 'two']) {
      const names = new Set<string>();
      for (let i = 0; i < 12; i++) names.add(await whoAnswers(proxy.port(listener)));
      assert.equal(names.size, 1, `${listener}: ${[...names]}`);
    }
    const turns = new Set<string>();
    for (let i = 0; i < 6; i++) turns.add(await whoAnswers(proxy.port('turns')));
    assert.equal(turns.size, 3, 'the same endpoints in turn, for comparison');
  });
});
