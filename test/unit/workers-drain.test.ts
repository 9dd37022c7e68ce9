/**
 * A worker that never says it drained (stuck in a loop) must not hold SIGTERM forever: the
 * pool ends it once drainTimeout is surely over, and says which worker.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { WorkerPool } from '../../src/workers/pool.js';
import { captureLogger, parseConfig } from '../helpers/proxy.js';

const repo = resolve(import.meta.dirname, '..', '..');

test('a worker that never finishes draining is ended after drainTimeout and a grace period', {
  timeout: 30_000,
}, async () => {
  const { logger, lines } = captureLogger();
  const pool = new WorkerPool({
    count: 2,
    log: logger,
    write: () => {},
    endpoints: () => ({}),
    services: () => [],
    entry: pathToFileURL(join(repo, 'test', 'fixtures', 'wedged-worker.mjs')),
  });
  await pool.start(
    parseConfig(`
drainTimeout: 1s
listeners: [{ name: t, address: "127.0.0.1:0", protocol: tcp, cluster: c }]
clusters: [{ name: c, endpoints: ["127.0.0.1:1"] }]
`),
  );
  assert.deepEqual(
    pool.workers().map((w) => w.alive),
    [true, true],
  );
  const started = Date.now();
  assert.equal(await pool.drain(), 0);
  const tookMs = Date.now() - started;
  assert.ok(tookMs >= 1000, `waited for drainTimeout first (${tookMs} ms)`);
  assert.deepEqual(
    pool.workers().map((w) => w.alive),
    [false, false],
    'both ended',
  );
  const warned = lines.filter((l) => String(l.msg).endsWith('did not finish draining; ending it'));
  assert.deepEqual(warned.map((l) => l.worker).sort(), [0, 1]);
});
