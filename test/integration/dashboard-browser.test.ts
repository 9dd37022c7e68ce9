import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminServer } from '../../src/admin/server.js';
import { Unavailable } from '../../src/core/endpoint.js';
import { browserSkipReason, launchChromium, screenshotOnFailure } from '../helpers/browser.js';
import { FakeAdminSource } from '../helpers/fake-admin-source.js';

test('the dashboard shows a health change live, without reloading the page', {
  timeout: 60_000,
  skip: browserSkipReason(),
}, async (t) => {
  const source = new FakeAdminSource('listeners: []');
  source.addCluster('api', [{ port: 9001, zone: 'z1' }, { port: 9002 }]);
  source.listenerList = [
    {
      name: 'web',
      protocol: 'tcp',
      address: '127.0.0.1:7000',
      boundAddress: '127.0.0.1:7000',
      bound: true,
      cluster: 'api',
      activeConnections: 2,
      connectionsTotal: 40,
    },
  ];
  source.discoveryList = [{ cluster: 'api', description: 'static', synced: true }];
  source.reload({ ok: true, version: 2, summary: 'listeners +1 (web); clusters +1 (api)' });
  const admin = new AdminServer({ address: '127.0.0.1:0', source, processMetrics: false });
  const address = await admin.start();
  t.after(() => admin.close());

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));

  await screenshotOnFailure(page, 'dashboard-health-change', async () => {
    await page.goto(`http://${address}/`);
    const row = (health: string) => `[data-endpoint="api/127.0.0.1:9001"][data-health="${health}"]`;
    await page.waitForSelector(row('available'), { timeout: 10_000 });
    assert.equal(await page.textContent('#version'), '2');
    assert.match((await page.textContent('#reloads')) ?? '', /listeners \+1 \(web\)/);
    assert.match((await page.textContent('[data-listener="web"]')) ?? '', /127\.0\.0\.1:7000.*tcp → api/);
    // A marker that a page reload would wipe out.
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
    });

    source.setHealth('api', '127.0.0.1:9001', Unavailable.ActiveCheckFailed, true, 'http 503 from /healthz');

    await page.waitForSelector(row('unavailable'), { timeout: 10_000 });
    const health = (await page.textContent(`${row('unavailable')} .health`)) ?? '';
    assert.equal(health, 'ActiveCheckFailed');
    await page.waitForSelector('[data-transition="api/127.0.0.1:9001"]', { timeout: 10_000 });
    assert.match((await page.textContent('#health')) ?? '', /ActiveCheckFailed.*http 503 from \/healthz/);
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker),
      42,
      'the page was not reloaded',
    );
    assert.deepEqual(pageErrors, [], 'no script errors');
  });
});
