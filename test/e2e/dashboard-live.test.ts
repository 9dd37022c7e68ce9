import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { browserSkipReason, launchChromium, screenshotOnFailure } from '../helpers/browser.js';
import { startCli } from '../helpers/cli.js';
import { deadPort, startNamedServer } from '../helpers/servers.js';

test('the dashboard of portside run shows an endpoint going down and a reload, live', {
  timeout: 60_000,
  skip: browserSkipReason(),
}, async (t) => {
  const [a, b] = [await startNamedServer('A'), await startNamedServer('B')];
  const nobody = await deadPort();
  const dir = mkdtempSync(join(tmpdir(), 'portside-dashboard-'));
  const file = join(dir, 'portside.yaml');
  t.after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const config = (extraListener = '') => `admin: { address: "127.0.0.1:0" }
listeners:
  - { name: web, address: "127.0.0.1:0", cluster: api }
  - { name: dead, address: "127.0.0.1:0", cluster: unchecked, connectTimeout: 1s }
${extraListener}clusters:
  - name: api
    endpoints: ["127.0.0.1:${a.port}", "127.0.0.1:${b.port}"]
    healthCheck: { interval: 200ms, timeout: 200ms, unhealthyThreshold: 1, healthyThreshold: 1, tcp: {} }
  - name: unchecked
    endpoints: ["127.0.0.1:${nobody}"]
`;
  writeFileSync(file, config());
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const admin = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await screenshotOnFailure(page, 'dashboard-live', async () => {
    await page.goto(`http://${admin}/`);
    const row = (port: number, health: string) =>
      `[data-endpoint="api/127.0.0.1:${port}"][data-health="${health}"]`;
    await page.waitForSelector(row(b.port, 'available'), { timeout: 10_000 });
    await page.waitForSelector('#ready.ok', { timeout: 10_000 });

    // The upstream goes away: the health checker marks it down, the page follows.
    await b.close();
    await page.waitForSelector(row(b.port, 'unavailable'), { timeout: 15_000 });
    assert.equal(await page.textContent(`${row(b.port, 'unavailable')} .health`), 'ActiveCheckFailed');
    await page.waitForSelector(`[data-transition="api/127.0.0.1:${b.port}"]`, { timeout: 10_000 });

    // Nothing checks "unchecked", whose only endpoint refuses connections: it must not look
    // verified, and the refusals a client just met must show.
    assert.equal(await page.textContent('[data-availability="unchecked"]'), 'not checked');
    const dead = (await page.textContent('[data-listener="dead"] code')) ?? '';
    const [host, port] = [
      dead.slice(0, dead.lastIndexOf(':')),
      Number(dead.slice(dead.lastIndexOf(':') + 1)),
    ];
    await new Promise<void>((resolve) =>
      connect(port, host)
        .on('close', () => resolve())
        .on('error', () => {}),
    );
    await page.waitForSelector('[data-failures="unchecked"]', { timeout: 10_000 });
    assert.match((await page.textContent('[data-failures="unchecked"]')) ?? '', /^connect-refused ×\d+$/);
    assert.match(
      (await page.textContent(`[data-endpoint="unchecked/127.0.0.1:${nobody}"]`)) ?? '',
      /not checked.*connect-refused/,
    );
    // One connection through "web": its connect time reaches the latency figures.
    const web = (await page.textContent('[data-listener="web"] code')) ?? '';
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(web.slice(web.lastIndexOf(':') + 1)), '127.0.0.1');
      socket
        .once('data', () => socket.end())
        .on('close', () => resolve())
        .on('error', reject);
    });
    await page.waitForSelector('[data-latency="api"]:has-text("p50")', { timeout: 10_000 });
    assert.match((await page.textContent('[data-latency="api"]')) ?? '', /p50 [\d.]+ (µs|ms) · p99/);

    // A reload shows up too.
    writeFileSync(file, config('  - { name: extra, address: "127.0.0.1:0", cluster: api }\n'));
    await page.waitForSelector('[data-listener="extra"]', { timeout: 10_000 });
    assert.equal(await page.textContent('#version'), '2');
    assert.match((await page.textContent('#reloads')) ?? '', /v2: listeners \+1 \(extra\)/);
  });
});
