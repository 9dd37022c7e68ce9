import assert from 'node:assert/strict';
import { test } from 'node:test';
import { History } from '../../src/admin/history.js';
import { Unavailable } from '../../src/core/endpoint.js';
import { FakeAdminSource } from '../helpers/fake-admin-source.js';

test('rates are per second since the previous sample, per cluster and in total', (t) => {
  const source = new FakeAdminSource();
  source.addCluster('web', [{ port: 1 }, { port: 2 }]);
  source.addCluster('tcp', [{ port: 3 }]);
  const history = new History(source, { intervalMs: 60_000 });
  t.after(() => history.close());
  const start = Date.now();
  history.sample(start);

  source.endpoint('web', '127.0.0.1:1').state.requestsTotal = 30;
  source.endpoint('web', '127.0.0.1:2').state.requestsTotal = 10;
  source.endpoint('web', '127.0.0.1:2').state.failuresTotal = 4;
  source.endpoint('tcp', '127.0.0.1:3').state.connectionsTotal = 6; // L4 traffic counts connections
  const sample = history.sample(start + 2000);
  assert.deepEqual(sample.perCluster, { web: { requests: 20, errors: 2 }, tcp: { requests: 3, errors: 0 } });
  assert.equal(sample.requests, 23);
  assert.equal(sample.errors, 2);
  assert.equal(history.rates.length, 2);
});

test('keeps the latest events, including the reload that happened before it started', (t) => {
  const source = new FakeAdminSource();
  source.addCluster('web', [{ port: 1 }]);
  source.reload({ ok: true, version: 1, summary: 'initial config' });
  const history = new History(source, { events: 3, intervalMs: 60_000 });
  t.after(() => history.close());
  for (let i = 0; i < 5; i++)
    source.setHealth('web', '127.0.0.1:1', Unavailable.ActiveCheckFailed, i % 2 === 0);
  source.reload({ ok: false, version: 1, summary: 'invalid config' });
  assert.deepEqual(
    history.health.map((h) => h.to),
    [['ActiveCheckFailed'], [], ['ActiveCheckFailed']],
  );
  assert.deepEqual(
    history.reloads.map((r) => r.summary),
    ['initial config', 'invalid config'],
  );
});
