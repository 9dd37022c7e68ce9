import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED } from '../../src/admin/redact.js';
import { AdminServer } from '../../src/admin/server.js';
import { Unavailable } from '../../src/core/endpoint.js';
import { adminRequest } from '../helpers/admin-request.js';
import { FakeAdminSource } from '../helpers/fake-admin-source.js';
import { bodyOf } from '../helpers/json.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';

const TOKEN = 'test-admin-token-0123456789';
/** `2026-12-07T01:57:45.476Z`: the one time format of the admin API. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const CONFIG = `
listeners:
  - { name: web, address: "127.0.0.1:0", cluster: api }
clusters:
  - name: api
    endpoints: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 3, zone: z1, node: n1 }]
admin: { address: "127.0.0.1:0", token: ${TOKEN} }
`;

async function start(t: { after: (fn: () => Promise<void>) => void }, token?: string) {
  const source = new FakeAdminSource(CONFIG);
  source.addCluster('api', [{ port: 9001 }, { port: 9002, weight: 3, zone: 'z1', node: 'n1' }]);
  source.listenerList = [
    {
      name: 'web',
      protocol: 'tcp',
      address: '127.0.0.1:0',
      bound: false,
      cluster: 'api',
      activeConnections: 0,
    },
  ];
  source.discoveryList = [{ cluster: 'api', description: 'static', synced: true }];
  const server = new AdminServer({ address: '127.0.0.1:0', source, token, processMetrics: true });
  const address = await server.start();
  t.after(() => server.close());
  const url = (path: string) => `http://${address}${path}`;
  return { source, server, url, address };
}

test('healthz, ready, config and clusters report the proxy state', { timeout: 10_000 }, async (t) => {
  const { source, url } = await start(t);

  const healthz = await fetch(url('/healthz'));
  assert.equal(healthz.status, 200);
  const alive = await bodyOf(healthz);
  assert.equal(alive.status, 'ok');
  assert.match(alive.startedAt, RFC3339);

  let ready = await fetch(url('/ready'));
  assert.equal(ready.status, 503);
  assert.deepEqual((await bodyOf(ready)).reasons, ['listener web (127.0.0.1:0) is not bound']);
  source.listenerList[0]!.bound = true;
  source.discoveryList[0]!.synced = false;
  ready = await fetch(url('/ready'));
  assert.equal(ready.status, 503);
  assert.match((await bodyOf(ready)).reasons[0], /cluster api: discovery static has not synced/);
  source.discoveryList[0]!.synced = true;
  ready = await fetch(url('/ready'));
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true, reasons: [] });

  source.reload({
    ok: false,
    version: 1,
    summary: 'rejected: 1 error',
    errors: ['fake.yaml:3:5 listeners[0].address: bad'],
  });
  const config = await bodyOf(await fetch(url('/config')));
  assert.equal(config.version, 1);
  assert.equal(config.lastReload.ok, false);
  assert.match(config.lastReload.at, RFC3339, 'times are RFC 3339');
  assert.deepEqual(config.lastReload.errors, ['fake.yaml:3:5 listeners[0].address: bad']);
  assert.equal(config.config.admin.token, REDACTED);
  assert.equal(config.config.listeners[0].name, 'web');
  assert.equal(config.config.drainTimeout, '30s');

  const state = source.endpoint('api', '127.0.0.1:9002').state;
  state.active = 2;
  state.requestsTotal = 41;
  state.lastError = 'connect-refused';
  source.setHealth('api', '127.0.0.1:9001', Unavailable.ActiveCheckFailed, true);
  const { clusters } = await bodyOf(await fetch(url('/clusters')));
  assert.equal(clusters.length, 1);
  assert.equal(clusters[0].name, 'api');
  assert.equal(clusters[0].panic, false);
  assert.deepEqual(clusters[0].discovery, [{ cluster: 'api', description: 'static', synced: true }]);
  const [first, second] = clusters[0].endpoints;
  assert.deepEqual(
    [first.address, first.flags, first.available],
    ['127.0.0.1:9001', ['ActiveCheckFailed'], false],
  );
  assert.deepEqual(
    [second.address, second.weight, second.active, second.requestsTotal, second.lastError, second.locality],
    ['127.0.0.1:9002', 3, 2, 41, 'connect-refused', { zone: 'z1', node: 'n1' }],
  );
});

test('metrics are valid Prometheus text read from live state', { timeout: 10_000 }, async (t) => {
  const { source, url } = await start(t);
  source.listenerList[0]!.bound = true;
  source.discoveryList[0]!.stale = false;
  Object.assign(source.listenerList[0]!, {
    activeConnections: 4,
    connectionsTotal: 10,
    bytesReceived: 100,
    rejectedTotal: 2,
    bytesSent: 200,
  });
  const cluster = source.clusterList[0]!;
  const endpoint = source.endpoint('api', '127.0.0.1:9001');
  endpoint.state.requestsTotal = 7;
  endpoint.state.bytesToUpstream = 1234;
  cluster.reportSuccess(endpoint, 12);
  cluster.reportFailure(endpoint, 'connect-refused');
  source.setHealth('api', '127.0.0.1:9002', Unavailable.OutlierEjected, true, 'outlier');
  // Panic mode, as the health module engages it: only Draining still excludes.
  cluster.excludeFlags = Unavailable.Draining;
  source.events.emit('panic', {
    cluster: 'api',
    panic: true,
    available: 1,
    total: 2,
    thresholdPercent: 60,
    at: Date.now(),
  });
  source.reload({ ok: true, version: 2, summary: 'listeners +0' });
  source.reload({ ok: false, version: 2, summary: 'rejected' });

  const response = await fetch(url('/metrics'));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheusText(await response.text());
  const api = { cluster: 'api' };
  assert.equal(m.get('portside_endpoint_requests_total')?.type, 'counter');
  assert.equal(sampleValue(m, 'portside_endpoint_requests_total', { ...api, endpoint: '127.0.0.1:9001' }), 7);
  assert.equal(sampleValue(m, 'portside_endpoint_failures_total', { ...api, endpoint: '127.0.0.1:9001' }), 1);
  assert.equal(
    sampleValue(m, 'portside_endpoint_sent_bytes_total', { ...api, endpoint: '127.0.0.1:9001' }),
    1234,
  );
  assert.equal(sampleValue(m, 'portside_endpoint_weight', { ...api, endpoint: '127.0.0.1:9002' }), 3);
  assert.equal(sampleValue(m, 'portside_endpoint_available', { ...api, endpoint: '127.0.0.1:9002' }), 0);
  assert.equal(
    sampleValue(m, 'portside_endpoint_unavailable', {
      ...api,
      endpoint: '127.0.0.1:9002',
      reason: 'OutlierEjected',
    }),
    1,
  );
  assert.equal(sampleValue(m, 'portside_cluster_endpoints', { ...api, state: 'available' }), 1);
  const answered = { ...api, phase: 'response' };
  assert.equal(sampleValue(m, 'portside_upstream_latency_seconds_count', answered), 1);
  assert.equal(sampleValue(m, 'portside_upstream_latency_seconds_bucket', { ...answered, le: '0.025' }), 1);
  assert.equal(sampleValue(m, 'portside_upstream_latency_seconds_bucket', { ...answered, le: '0.01' }), 0);
  assert.equal(sampleValue(m, 'portside_upstream_failures_total', { ...api, reason: 'connect-refused' }), 1);
  assert.equal(sampleValue(m, 'portside_health_transitions_total', { ...api, to: 'unavailable' }), 1);
  assert.equal(sampleValue(m, 'portside_outlier_ejections_total', { ...api, endpoint: '127.0.0.1:9002' }), 1);
  assert.equal(sampleValue(m, 'portside_listener_active_connections', { listener: 'web' }), 4);
  assert.equal(sampleValue(m, 'portside_listener_connections_total', { listener: 'web' }), 10);
  assert.equal(sampleValue(m, 'portside_listener_bound', { listener: 'web' }), 1);
  assert.equal(sampleValue(m, 'portside_listener_rejected_total', { listener: 'web' }), 2);
  assert.equal(sampleValue(m, 'portside_listener_received_bytes_total', { listener: 'web' }), 100);
  assert.equal(sampleValue(m, 'portside_discovery_synced', { ...api, source: 'static' }), 1);
  assert.equal(sampleValue(m, 'portside_discovery_stale', { ...api, source: 'static' }), 0);
  assert.equal(sampleValue(m, 'portside_cluster_panic', api), 1);
  assert.equal(sampleValue(m, 'portside_panic_transitions_total', { ...api, to: 'on' }), 1);
  assert.equal(sampleValue(m, 'portside_config_version'), 2);
  assert.equal(sampleValue(m, 'portside_config_reloads_total', { result: 'success' }), 1);
  assert.equal(sampleValue(m, 'portside_config_reloads_total', { result: 'failure' }), 1);
  assert.equal(sampleValue(m, 'portside_config_last_reload_success'), 0);
  assert.ok((sampleValue(m, 'process_resident_memory_bytes') ?? 0) > 0, 'process metrics are exported');

  // Counters follow the live state at the next scrape, without the proxy touching prom-client.
  endpoint.state.requestsTotal = 9;
  const again = parsePrometheusText(await (await fetch(url('/metrics'))).text());
  assert.equal(
    sampleValue(again, 'portside_endpoint_requests_total', { ...api, endpoint: '127.0.0.1:9001' }),
    9,
  );
});

test('drain is POST-only, refuses cross-origin requests and makes /ready fail', {
  timeout: 10_000,
}, async (t) => {
  const { source, url } = await start(t);
  source.listenerList[0]!.bound = true;
  assert.equal((await fetch(url('/drain'))).status, 405);
  const crossOrigin = await fetch(url('/drain'), {
    method: 'POST',
    headers: { origin: 'http://evil.example' },
  });
  assert.equal(crossOrigin.status, 403);
  assert.equal(source.drainCalls, 0);
  const drained = await fetch(url('/drain'), { method: 'POST' });
  assert.equal(drained.status, 200);
  assert.equal((await bodyOf(drained)).drained, true);
  assert.equal(source.drainCalls, 1);
  const ready = await fetch(url('/ready'));
  assert.equal(ready.status, 503);
  assert.deepEqual((await bodyOf(ready)).reasons, ['draining']);
  const missing = await fetch(url('/nope'));
  assert.equal(missing.status, 404);
  const notFound = await bodyOf(missing);
  assert.equal(notFound.error.code, 'ADMIN_NOT_FOUND');
  assert.ok(
    notFound.endpoints.some((e: { path: string }) => e.path === '/explain'),
    'an unknown path lists the endpoints',
  );
});

test('without a token, only loopback Host names are answered (DNS rebinding)', {
  timeout: 10_000,
}, async (t) => {
  const { source, address } = await start(t);
  const port = address.split(':').pop();
  for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, '10.0.0.1']) {
    for (const path of ['/config', '/clusters', '/api/dashboard', '/metrics', '/', '/healthz']) {
      const reply = await adminRequest(address, path, { headers: { host } });
      assert.equal(reply.status, 403, `${path} with Host ${host}`);
      assert.equal(JSON.parse(reply.body).error.code, 'ADMIN_HOST_REFUSED');
      assert.match(JSON.parse(reply.body).error.message, /not a loopback name.*admin\.token/);
      assert.doesNotMatch(reply.body, /9001|api/, 'nothing about the proxy in the refusal');
    }
    const drain = await adminRequest(address, '/drain', {
      method: 'POST',
      headers: { host, origin: `http://${host}` },
    });
    assert.equal(drain.status, 403, `drain with Host ${host}`);
  }
  assert.equal(source.drainCalls, 0, 'a rebound page cannot drain');
  for (const host of [
    `127.0.0.1:${port}`,
    `127.9.8.7:${port}`,
    `localhost:${port}`,
    'LOCALHOST',
    '[::1]',
    `[::1]:${port}`,
  ]) {
    const reply = await adminRequest(address, '/config', { headers: { host } });
    assert.equal(reply.status, 200, `/config with Host ${host}`);
  }
  // A browser page on another origin cannot POST even though its request reaches a loopback Host.
  for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${Number(port) + 1}`]) {
    const reply = await adminRequest(address, '/drain', {
      method: 'POST',
      headers: { host: `127.0.0.1:${port}`, origin },
    });
    assert.equal(reply.status, 403, `drain from Origin ${origin}`);
    assert.equal(JSON.parse(reply.body).error.code, 'ADMIN_CROSS_ORIGIN');
  }
  assert.equal(source.drainCalls, 0);
  const own = await adminRequest(address, '/drain', {
    method: 'POST',
    headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` },
  });
  assert.equal(own.status, 200, "the admin page's own origin may POST");
  assert.equal(source.drainCalls, 1);
});

test('with a token, the token is the check and no CORS preflight is granted', {
  timeout: 10_000,
}, async (t) => {
  const { source, address } = await start(t, TOKEN);
  const bearer = { authorization: `Bearer ${TOKEN}` };
  const config = await adminRequest(address, '/config', {
    headers: { host: 'portside.internal:9901', ...bearer },
  });
  assert.equal(config.status, 200, 'any Host name with the token (admin on a non-loopback address)');
  const unauthorized = await adminRequest(address, '/config', { headers: { host: 'evil.example' } });
  assert.equal(unauthorized.status, 401);
  // A page would need a preflight to send Authorization cross-origin; the admin grants none.
  const preflight = await adminRequest(address, '/drain', {
    method: 'OPTIONS',
    headers: {
      host: 'evil.example',
      origin: 'http://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization',
    },
  });
  assert.notEqual(preflight.status, 200);
  assert.notEqual(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  assert.equal(preflight.headers['access-control-allow-headers'], undefined);
  const crossOrigin = await adminRequest(address, '/drain', {
    method: 'POST',
    headers: { host: 'evil.example', origin: 'http://evil.example:1', ...bearer },
  });
  assert.equal(crossOrigin.status, 403, 'a foreign Origin is refused even with the token');
  assert.equal(source.drainCalls, 0);
});

test('with a token, everything but probes and the page needs the bearer token', {
  timeout: 10_000,
}, async (t) => {
  const { url } = await start(t, TOKEN);
  for (const path of ['/healthz', '/ready', '/', '/help']) {
    assert.notEqual((await fetch(url(path))).status, 401, `${path} is open`);
  }
  assert.match(await (await fetch(url('/help'))).text(), /GET {2}\/clusters +clusters.* \[token\]\n/);
  for (const path of [
    '/metrics',
    '/config',
    '/clusters',
    '/listeners',
    '/api/dashboard',
    '/explain?tcp=web',
  ]) {
    const denied = await fetch(url(path));
    assert.equal(denied.status, 401, `${path} without token`);
    assert.equal((await bodyOf(denied)).error.code, 'ADMIN_UNAUTHORIZED');
    const wrong = await fetch(url(path), { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401, `${path} with a wrong token`);
    const allowed = await fetch(url(path), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(allowed.status, 200, `${path} with the token`);
  }
  assert.equal((await fetch(url('/drain'), { method: 'POST' })).status, 401);
});

test('admin.openMetrics lets /metrics answer without the token, and only /metrics', {
  timeout: 10_000,
}, async (t) => {
  const source = new FakeAdminSource(CONFIG);
  const server = new AdminServer({ address: '127.0.0.1:0', source, token: TOKEN, openMetrics: () => true });
  const address = await server.start();
  t.after(() => server.close());
  assert.equal((await fetch(`http://${address}/metrics`)).status, 200);
  assert.equal((await fetch(`http://${address}/config`)).status, 401);
  assert.doesNotMatch(await (await fetch(`http://${address}/help`)).text(), /\/metrics .*\[token\]/);
});

test('the dashboard page is self-contained', { timeout: 10_000 }, async (t) => {
  const { url } = await start(t);
  const page = await fetch(url('/'), { headers: { accept: 'text/html,application/xhtml+xml;q=0.9' } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const html = await page.text();
  assert.match(html, /<script>[\s\S]*api\/dashboard[\s\S]*<\/script>/);
  assert.doesNotMatch(
    html,
    /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    'no external resources',
  );
  const state = await bodyOf(await fetch(url('/api/dashboard')));
  assert.match(state.now, RFC3339);
  assert.match(state.startedAt, RFC3339);
  assert.deepEqual(Object.keys(state).sort(), [
    'build',
    'clusters',
    'draining',
    'health',
    'lastReload',
    'listeners',
    'now',
    'rates',
    'ready',
    'reloads',
    'startedAt',
    'uptimeSeconds',
    'version',
  ]);
});

test('an admin address that cannot be bound is a clear error', { timeout: 10_000 }, async (t) => {
  const { server } = await start(t);
  const second = new AdminServer({
    address: server.address,
    source: new FakeAdminSource(),
    processMetrics: false,
  });
  t.after(() => second.close());
  await assert.rejects(second.start(), {
    message: `admin server cannot bind ${server.address}: the port is already in use by another process (EADDRINUSE)`,
  });
});

test('/ and /help list the endpoints for a client that is not a browser', { timeout: 10_000 }, async (t) => {
  const { url } = await start(t);
  for (const path of ['/', '/help']) {
    const reply = await fetch(url(path), { headers: { accept: '*/*' } });
    assert.equal(reply.status, 200, path);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await reply.text();
    assert.match(text, /^Portside admin API\. Endpoints:\n/);
    for (const endpoint of [
      '/healthz',
      '/ready',
      '/metrics',
      '/config',
      '/clusters',
      '/listeners',
      '/explain',
    ]) {
      assert.match(text, new RegExp(`^  GET  ${endpoint} `, 'm'), `${path} lists ${endpoint}`);
    }
    assert.match(text, /^ {2}POST \/drain /m);
    assert.match(text, /only loopback Host names are answered/);
  }
});

test('/explain answers the explanation of a TCP listener, and says what is wrong with a query', {
  timeout: 10_000,
}, async (t) => {
  const { source, url } = await start(t);
  source.setHealth('api', '127.0.0.1:9001', Unavailable.DiscoveryNotReady, true);
  const reply = await fetch(url('/explain?tcp=web'));
  assert.equal(reply.status, 200);
  const explanation = await bodyOf(reply);
  assert.equal(explanation.mode, 'live');
  assert.match(explanation.at, RFC3339);
  assert.equal(explanation.version, 1);
  const [cluster] = explanation.results[0].clusters;
  assert.deepEqual(
    cluster.endpoints.map((e: { address: string; usable: boolean; reasons: string[] }) => [
      e.address,
      e.usable,
      e.reasons,
    ]),
    [
      ['127.0.0.1:9001', false, ['discovery says not ready']],
      ['127.0.0.1:9002', true, []],
    ],
  );
  assert.equal(cluster.nextPick, '127.0.0.1:9002');
  const bad = await fetch(url('/explain?method=GET'));
  assert.equal(bad.status, 400);
  assert.equal((await bodyOf(bad)).error.code, 'ADMIN_EXPLAIN_QUERY');
  const unknown = await bodyOf(await fetch(url('/explain?tcp=nope')));
  assert.match(unknown.error.message, /no listener named or bound at "nope"/);
  source.currentConfig = undefined;
  assert.equal((await fetch(url('/explain?tcp=web'))).status, 503);
});
