/**
 * Per-route and per-listener counters through the real CLI: requests, Portside's own
 * error answers and retries per route (under the route's name, or its position and match
 * when unnamed), responses by status code and method, and bytes per listener, on an HTTP
 * and a TCP listener.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { rawExchange, startHttpUpstream } from '../helpers/http.js';
import { bodyOf } from '../helpers/json.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { deadPort, startEchoServer } from '../helpers/servers.js';
import { exchange } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

test('routes count requests, errors and retries; listeners count bytes', { timeout: 60_000 }, async (t) => {
  const startedAt = Date.now();
  const live = await startHttpUpstream('live');
  const echo = await startEchoServer();
  const gone = await deadPort();
  const dir = mkdtempSync(join(tmpdir(), 'portside-route-metrics-'));
  t.after(async () => {
    await live.close();
    await echo.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'portside.yaml');
  writeFileSync(
    file,
    `admin: { address: "127.0.0.1:0" }
listeners:
  - name: web
    address: "127.0.0.1:0"
    protocol: http
    routes:
      - { name: ok, match: { pathPrefix: /ok }, cluster: live }
      - { match: { pathPrefix: /gone }, cluster: gone, retries: { attempts: 1 } }
  - { name: tcp, address: "127.0.0.1:0", cluster: echo }
clusters:
  - { name: live, endpoints: ["127.0.0.1:${live.port}"] }
  - { name: gone, endpoints: ["127.0.0.1:${gone}"] }
  - { name: echo, endpoints: ["127.0.0.1:${echo.port}"] }
`,
  );
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const adminAddress = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const web = await cli.listenerPort('web');
  const tcp = await cli.listenerPort('tcp');

  const get = (path: string) =>
    rawExchange(web, `GET ${path} HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n`);
  const sent: string[] = [];
  for (const path of ['/ok/1', '/ok/2', '/ok/3', '/gone', '/nowhere']) {
    const { response } = await get(path);
    sent.push(path);
    assert.match(response, path.startsWith('/ok') ? /^HTTP\/1\.1 200/ : /^HTTP\/1\.1 (404|502|503)/);
  }
  assert.equal((await exchange(tcp, 'hello')).toString(), 'hello');

  const metricsText = async () => (await fetch(`http://${adminAddress}/metrics`)).text();
  const route = (name: string) => ({ listener: 'web', route: name });
  // Connections are counted when they close, which the proxy may see just after the client.
  const m = await eventually(async () => {
    const parsed = parsePrometheusText(await metricsText());
    return (sampleValue(parsed, 'portside_listener_received_bytes_total', { listener: 'tcp' }) ?? 0) >= 5
      ? parsed
      : undefined;
  });
  assert.equal(sampleValue(m, 'portside_route_requests_total', route('ok')), 3);
  assert.equal(sampleValue(m, 'portside_route_errors_total', route('ok')), 0);
  assert.equal(sampleValue(m, 'portside_route_retries_total', route('ok')), 0);
  const unnamed = '#1 pathPrefix=/gone';
  assert.equal(sampleValue(m, 'portside_route_requests_total', route(unnamed)), 1);
  assert.equal(sampleValue(m, 'portside_route_errors_total', route(unnamed)), 1);
  assert.equal(sampleValue(m, 'portside_route_retries_total', route(unnamed)), 1);
  const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
  assert.equal(sampleValue(m, 'portside_build_info', { version, node_version: process.versions.node }), 1);
  const appliedAt = sampleValue(m, 'portside_config_last_reload_success_timestamp_seconds') ?? 0;
  assert.ok(
    appliedAt > startedAt / 1000 - 1 && appliedAt <= Date.now() / 1000,
    `config applied at ${appliedAt}`,
  );
  // Every HTTP request is in the listener's duration histogram; none took more than a minute.
  const durations = { listener: 'web' };
  assert.equal(sampleValue(m, 'portside_http_request_duration_seconds_count', durations), 5);
  assert.equal(
    sampleValue(m, 'portside_http_request_duration_seconds_bucket', { ...durations, le: '+Inf' }),
    5,
  );
  assert.equal(
    sampleValue(m, 'portside_http_request_duration_seconds_bucket', { ...durations, le: '30' }),
    5,
  );
  const sum = sampleValue(m, 'portside_http_request_duration_seconds_sum', durations) ?? -1;
  assert.ok(sum > 0 && sum < 60, `sum ${sum}`);
  // Responses by code and method: route misses count on the listener, not on any route.
  const code = (c: string) => ({ listener: 'web', code: c, method: 'GET' });
  assert.equal(sampleValue(m, 'portside_http_requests_total', code('200')), 3);
  assert.equal(sampleValue(m, 'portside_http_requests_total', code('404')), 1);
  assert.equal(sampleValue(m, 'portside_http_requests_total', code('502')), 1);
  assert.equal(
    sampleValue(m, 'portside_route_responses_total', {
      ...route('ok'),
      cluster: 'live',
      code: '200',
      method: 'GET',
    }),
    3,
  );
  assert.equal(
    sampleValue(m, 'portside_route_responses_total', {
      ...route(unnamed),
      cluster: 'gone',
      code: '502',
      method: 'GET',
    }),
    1,
  );
  assert.equal(sampleValue(m, 'portside_listener_received_bytes_total', { listener: 'tcp' }), 5);
  assert.equal(sampleValue(m, 'portside_listener_sent_bytes_total', { listener: 'tcp' }), 5);
  const webIn = sampleValue(m, 'portside_listener_received_bytes_total', { listener: 'web' }) ?? 0;
  const requestBytes = sent.reduce(
    (sum, path) => sum + `GET ${path} HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n`.length,
    0,
  );
  assert.equal(webIn, requestBytes, 'every request byte of the five closed connections');
  assert.ok((sampleValue(m, 'portside_listener_sent_bytes_total', { listener: 'web' }) ?? 0) > 0);

  const { listeners } = await bodyOf(await fetch(`http://${adminAddress}/listeners`));
  const webStatus = listeners.find((l: { name: string }) => l.name === 'web');
  assert.deepEqual(
    webStatus.routes.map((r: { name: string; requestsTotal: number }) => [r.name, r.requestsTotal]),
    [
      ['ok', 3],
      [unnamed, 1],
    ],
  );
});
