import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import type { Endpoint } from '../../src/core/endpoint.js';
import { EndpointState } from '../../src/core/endpoint.js';
import { httpProbe, tcpProbe } from '../../src/health/probes.js';
import { startHealthUpstream } from '../helpers/health-upstream.js';
import { deadPort, startTcpServer } from '../helpers/servers.js';
import { eventually } from '../helpers/wait.js';

function endpointOn(port: number): Endpoint {
  return {
    id: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    weight: 1,
    locality: {},
    state: new EndpointState(),
  };
}

/** The http check section exactly as the config loader produces it from YAML. */
function httpCheckFromYaml(expectedStatus: string) {
  const yaml = `clusters:\n  - name: api\n    endpoints: [127.0.0.1:1]\n    healthCheck:\n      http: { path: /healthz, expectedStatus: ${expectedStatus} }\n`;
  const { config, problems } = loadConfigText(yaml);
  assert.deepEqual(problems, []);
  return config!.clusters[0]!.healthCheck!.http!;
}

const never = new AbortController().signal;

test('expectedStatus ranges and lists decide which answers are healthy', { timeout: 30_000 }, async (t) => {
  const upstream = await startHealthUpstream('a');
  t.after(() => upstream.kill());
  const endpoint = endpointOn(upstream.port);
  const cases: [string, number, boolean][] = [
    ['[200-399]', 200, true],
    ['[200-399]', 302, true],
    ['[200-399]', 399, true],
    ['[200-399]', 404, false],
    ['[200-399]', 500, false],
    ['[200, 204]', 204, true],
    ['[200, 204]', 201, false],
    ['[200-204, 418]', 418, true],
    ['[200-204, 418]', 205, false],
    ['204', 204, true],
    ['"500-599"', 503, true],
  ];
  for (const [expected, status, healthy] of cases) {
    upstream.healthStatus = status;
    const result = await httpProbe(httpCheckFromYaml(expected))(endpoint, 5000, never);
    assert.equal(result.ok, healthy, `status ${status} with expectedStatus ${expected}`);
    if (!result.ok) assert.equal(result.reason, `http-${status}`);
  }
});

test('HTTP probe sends the configured path and host header', { timeout: 30_000 }, async (t) => {
  const seen: { url?: string; host?: string }[] = [];
  const server = await startTcpServer((socket) => {
    socket.once('data', (data) => {
      const head = data.toString();
      seen.push({ url: head.split(' ')[1], host: /\r\nhost: ([^\r]+)/i.exec(head)?.[1] });
      socket.end('HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n');
    });
  });
  t.after(() => server.close());
  const probe = httpProbe({ path: '/ready?full=1', expectedStatus: ['200-299'], host: 'api.local' });
  assert.deepEqual(await probe(endpointOn(server.port), 5000, never), { ok: true });
  assert.deepEqual(seen, [{ url: '/ready?full=1', host: 'api.local' }]);
});

test('probes fail with a reason: refused, timeout, aborted', { timeout: 30_000 }, async (t) => {
  const refused = endpointOn(await deadPort());
  assert.deepEqual(await tcpProbe(refused, 1000, never), { ok: false, reason: 'connect-refused' });
  const http = httpProbe({ path: '/', expectedStatus: [200] });
  assert.deepEqual(await http(refused, 1000, never), { ok: false, reason: 'connect-refused' });

  // Accepts, then never answers: the HTTP probe times out and closes its connection.
  let closedByProbe = 0;
  const silent = await startTcpServer((socket) => socket.resume().once('end', () => closedByProbe++));
  t.after(() => silent.close());
  assert.deepEqual(await http(endpointOn(silent.port), 100, never), { ok: false, reason: 'timeout' });
  const abort = new AbortController();
  const pending = http(endpointOn(silent.port), 5000, abort.signal);
  abort.abort();
  assert.deepEqual(await pending, { ok: false, reason: 'aborted' });
  await eventually(() => closedByProbe === silent.accepted, {
    what: 'the probes to close their connections',
  });
});
