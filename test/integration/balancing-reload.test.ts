/** Session affinity and active counts survive a config reload (state kept outside the generation). */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { startProxy } from '../helpers/proxy.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';

describe('balancing across reloads', { timeout: 30_000 }, () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('a client keeps its affinity endpoint when a reload reorders the endpoints', async () => {
    for (const name of ['A', 'B', 'C']) servers.push(await startNamedServer(name));
    const config = (order: TestServer[]) =>
      `listeners:\n  - { name: tcp, address: 127.0.0.1:0, cluster: c }\nclusters:\n  - name: c\n    endpoints: [${order
        .map((s) => `127.0.0.1:${s.port}`)
        .join(
          ', ',
        )}]\n    balancing:\n      policy: round_robin\n      affinity: { clientIp: { timeout: 1h } }\n`;
    const proxy = await startProxy(config(servers));
    try {
      const port = proxy.port('tcp');
      const bound = await whoAnswers(port);
      assert.equal(await whoAnswers(port), bound, 'affinity holds within a generation');

      const reversed = loadConfigText(config([...servers].reverse())).config!;
      await proxy.proxy.apply(reversed);
      assert.equal(proxy.proxy.version, 2);
      // The new generation's round robin would start at the other end; the binding wins.
      for (let i = 0; i < 3; i++) assert.equal(await whoAnswers(port), bound);

      // Without affinity in the next config the bindings are dropped: round robin again.
      await proxy.proxy.apply(
        loadConfigText(config([...servers].reverse()).replace(/\s+affinity:.*\n/, '\n')).config!,
      );
      const spread = new Set<string>();
      for (let i = 0; i < 3; i++) spread.add(await whoAnswers(port));
      assert.equal(spread.size, 3);
    } finally {
      await proxy.stop();
    }
  });
});
