/**
 * The dashboard's figures in Chromium: "not checked" for a cluster nothing checks, failures,
 * latency, the status-code split, bytes with units, uptime and version, ejection time left,
 * and a 420 px wide screen without horizontal scrolling.
 *
 * `UPDATE_DOCS_SCREENSHOT=1 node --import tsx --test test/integration/dashboard-details.test.ts`
 * also rewrites docs/dashboard.png (the README's screenshot) from this page.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { AdminServer } from '../../src/admin/server.js';
import { Unavailable } from '../../src/core/endpoint.js';
import { DURATION_BOUNDS_S } from '../../src/listeners/duration-histogram.js';
import { ARTIFACTS_DIR, browserSkipReason, launchChromium, screenshotOnFailure } from '../helpers/browser.js';
import { FakeAdminSource } from '../helpers/fake-admin-source.js';

const CONFIG = `listeners: []
clusters:
  - name: api
    endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"]
    healthCheck: { http: { path: /healthz } }
    outlierDetection: {}
  - name: cache
    endpoints: ["127.0.0.1:9003"]
`;

function fakeProxy(): FakeAdminSource {
  const source = new FakeAdminSource(CONFIG);
  source.addCluster('api', [
    { port: 9001, zone: 'eu-west-1a' },
    { port: 9002, zone: 'eu-west-1b' },
  ]);
  source.addCluster('cache', [{ port: 9003 }]);
  // Totals from before the page opened (set now, so the first rate sample does not count them).
  source.endpoint('api', '127.0.0.1:9001').state.requestsTotal = 1225;
  source.endpoint('cache', '127.0.0.1:9003').state.connectionsTotal = 3;
  source.listenerList = [
    {
      name: 'web',
      protocol: 'http',
      address: '0.0.0.0:8080',
      boundAddress: '0.0.0.0:8080',
      bound: true,
      activeConnections: 12,
      connectionsTotal: 431,
      bytesReceived: 2_500_000,
      bytesSent: 15_000_000,
      // 900 requests within 2.5 ms, 300 within 5 ms, 60 within 10 ms, 10 within 25 ms.
      requestDurations: {
        bounds: DURATION_BOUNDS_S,
        counts: [0, 900, 300, 60, 10, ...DURATION_BOUNDS_S.slice(5).map(() => 0), 0],
        sumSeconds: 3.81,
        count: 1270,
      },
      responses: [
        [200, 'GET', 1180],
        [304, 'GET', 52],
        [404, 'GET', 31],
        [503, 'POST', 7],
        [0, 'GET', 1],
      ],
      routes: [
        {
          name: 'users',
          cluster: 'api',
          requestsTotal: 1225,
          errorsTotal: 7,
          responses: [
            [200, 'GET', 1180],
            [503, 'POST', 7],
          ],
        },
      ],
    },
    {
      name: 'redis',
      protocol: 'tcp',
      address: '127.0.0.1:6380',
      boundAddress: '127.0.0.1:6380',
      bound: true,
      cluster: 'cache',
      activeConnections: 0,
      connectionsTotal: 3,
      bytesReceived: 0,
      bytesSent: 0,
    },
  ];
  source.discoveryList = [
    { cluster: 'api', description: 'static', synced: true },
    { cluster: 'cache', description: 'static', synced: true },
  ];
  source.reload({ ok: true, version: 3, summary: 'clusters +1 (cache)' });
  return source;
}

/** Traffic as the proxies would report it; the admin server's observers must be in place first. */
function traffic(source: FakeAdminSource): void {
  const api = source.clusterList[0]!;
  const [first] = api.endpoints;
  for (let i = 0; i < 99; i++) api.reportSuccess(first!, 2);
  api.reportSuccess(first!, 40);
  first!.state.bytesToUpstream = 1536;
  first!.state.bytesFromUpstream = 3 * 1024 * 1024;
  const cache = source.clusterList[1]!;
  for (let i = 0; i < 3; i++) cache.reportFailure(cache.endpoints[0]!, 'connect-refused');
  // An ejection with 5 minutes left, as outlier detection records it.
  const ejected = source.endpoint('api', '127.0.0.1:9002');
  source.health.memoryFor(ejected).outlier.ejectedUntil = Date.now() + 300_000;
  source.setHealth('api', '127.0.0.1:9002', Unavailable.OutlierEjected, true, '5 failures in a row');
}

/** Sections, tables and headings wider than their box (they would scroll sideways). */
function overflowing(page: Page): Promise<string[]> {
  return page.$$eval('section, table, h3', (els) =>
    els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent?.slice(0, 40) ?? e.tagName),
  );
}

/** docs/dashboard.png: a few seconds of made-up traffic first, so the sparklines have a shape. */
async function docsScreenshot(source: FakeAdminSource, page: Page): Promise<void> {
  const [first] = source.clusterList[0]!.endpoints;
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    first!.state.requestsTotal += 20 + Math.round(15 * Math.sin(tick / 3));
  }, 100);
  try {
    await page.waitForFunction(
      () =>
        ((
          globalThis as unknown as {
            document: { querySelector(s: string): { getAttribute(name: string): string | null } | null };
          }
        ).document
          .querySelector('[data-rate="requests"] polyline')
          ?.getAttribute('points')
          ?.split(' ').length ?? 0) >= 12,
      undefined,
      { timeout: 30_000 },
    );
  } finally {
    clearInterval(timer);
  }
  await page.screenshot({
    path: join(import.meta.dirname, '..', '..', 'docs', 'dashboard.png'),
    fullPage: true,
  });
}

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

test('the dashboard shows checks, failures, latency, status codes, bytes, uptime and ejection time', {
  timeout: 60_000,
  skip: browserSkipReason(),
}, async (t) => {
  const source = fakeProxy();
  const admin = new AdminServer({ address: '127.0.0.1:0', source, processMetrics: false });
  const address = await admin.start();
  t.after(() => admin.close());
  traffic(source);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));

  await screenshotOnFailure(page, 'dashboard-details', async () => {
    await page.goto(`http://${address}/`);
    await page.waitForSelector('[data-availability="cache"]', { timeout: 10_000 });

    // Nothing checks "cache": no green "1/1 available", and its connect failures show.
    assert.equal(await text(page, '[data-availability="cache"]'), 'not checked');
    assert.doesNotMatch((await page.getAttribute('[data-availability="cache"]', 'class')) ?? '', /\bok\b/);
    assert.equal(await text(page, '[data-endpoint="cache/127.0.0.1:9003"] .health'), 'not checked');
    assert.equal(await text(page, '[data-failures="cache"]'), 'connect-refused ×3');
    assert.equal(await text(page, '[data-endpoint="cache/127.0.0.1:9003"] .failures'), '3');
    // "api" is checked: its count is a verified one.
    assert.equal(await text(page, '[data-availability="api"]'), '1/2 available');
    assert.match(await text(page, '[data-cluster="api"] h3'), /checks: active, outlier/);

    const ejected = await text(page, '[data-endpoint="api/127.0.0.1:9002"] .health');
    assert.match(ejected, /^OutlierEjected \((5m0s|4m\d\ds) left\)$/);

    // 99 of 100 at 2 ms: p50 inside the 1-2.5 ms bucket, p99 at most its top.
    const latency = await text(page, '[data-latency="api"]');
    const [, p50, p99, mean] =
      latency.match(/p50 ([\d.]+) ms · p99 ([\d.]+) ms · mean ([\d.]+) ms \(100\)/) ?? [];
    assert.ok(p50 && p99 && mean, `latency shown: ${latency}`);
    assert.ok(Number(p50) >= 1 && Number(p50) <= 2.5, `p50 ${p50}`);
    assert.ok(Number(p99) >= Number(p50) && Number(p99) <= 2.5, `p99 ${p99}`);
    assert.equal(mean, '2.4');
    assert.equal(await text(page, '[data-latency="cache"]'), 'latency –');

    const codes = async (row: string) =>
      page.$$eval(`${row} [data-class]`, (els) => els.map((e) => e.textContent));
    assert.deepEqual(await codes('[data-listener="web"]'), [
      '2xx 1180',
      '3xx 52',
      '4xx 31',
      '5xx 7',
      'none 1',
    ]);
    assert.deepEqual(await codes('[data-route="web/users"]'), ['2xx 1180', '5xx 7']);
    assert.equal(await text(page, '[data-listener="web"] .bytes'), '2.4 MiB / 14 MiB');
    // p50: rank 635 of the 900 in (1, 2.5] ms; p99: rank 1257.3, in (5, 10] ms.
    assert.equal(await text(page, '[data-listener="web"] .latency'), '2.1 ms / 9.8 ms');
    assert.equal(await text(page, '[data-listener="redis"] .latency'), '–');
    assert.equal(await text(page, '[data-listener="redis"] .bytes'), '0 B / 0 B');
    assert.equal(await text(page, '[data-endpoint="api/127.0.0.1:9001"] .bytes'), '1.5 KiB / 3.0 MiB');

    assert.match(await text(page, '#build'), /^portside \d+\.\d+\.\d+\S* · node \d+\.\d+\.\d+ · up \d+s$/);

    assert.deepEqual(await overflowing(page), [], 'no section scrolls sideways at 1280 px');

    if (process.env.UPDATE_DOCS_SCREENSHOT) await docsScreenshot(source, page);

    // A phone: one column, rows stacked, nothing wider than the screen.
    await page.setViewportSize({ width: 420, height: 900 });
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
          .documentElement.scrollWidth <= 420,
      undefined,
      { timeout: 10_000 },
    );
    assert.deepEqual(await overflowing(page), [], 'no section scrolls sideways at 420 px');
    const badge = await page.locator('[data-availability="cache"]').boundingBox();
    assert.ok(badge && badge.x >= 0 && badge.x + badge.width <= 420, 'the "not checked" badge is on screen');
    assert.equal(
      await page.getAttribute('[data-endpoint="cache/127.0.0.1:9003"] .health', 'data-label'),
      'Health',
      'stacked cells carry their column name',
    );
    if (process.env.UPDATE_DOCS_SCREENSHOT)
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-420.png'), fullPage: true });
    assert.deepEqual(pageErrors, [], 'no script errors');
  });
});
