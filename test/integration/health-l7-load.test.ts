import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HealthTransition } from '../../src/core/events.js';
import { isDown, isUp, nextTransition } from '../helpers/health.js';
import { type HealthUpstream, startHealthUpstream } from '../helpers/health-upstream.js';
import { startLoad } from '../helpers/load.js';
import { startProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

/**
 * The issue's acceptance test: L7 GETs under load (autocannon, 20 connections, at most 15 s)
 * while one of three upstreams is killed and restarted; retries and health together must
 * keep every client request successful. The run ends as soon as the restarted upstream
 * serves traffic again, so it usually takes a few seconds.
 */
test('L7 under load: killing and restarting one of three upstreams fails no client request', {
  timeout: 60_000,
}, async (t) => {
  const upstreams: HealthUpstream[] = [];
  for (const name of ['a', 'b', 'c']) upstreams.push(await startHealthUpstream(name));
  t.after(() => Promise.all(upstreams.map((u) => u.kill())));
  const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes:
      - match: {}
        cluster: up
        retries: { attempts: 2, on: [connect-failure, reset, 5xx] }
clusters:
  - name: up
    endpoints: [${upstreams.map((u) => `127.0.0.1:${u.port}`).join(', ')}]
    healthCheck: { interval: 100ms, timeout: 1s, unhealthyThreshold: 2, healthyThreshold: 2, http: { path: /healthz } }
    outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 1s, maxEjectionTime: 10s }
drainTimeout: 1s
`);
  t.after(() => p.stop());
  const victim = upstreams[1]!;
  const about = (t: HealthTransition) => t.endpoint === `127.0.0.1:${victim.port}`;

  const load = startLoad(t, { url: `http://127.0.0.1:${p.port('web')}/`, connections: 20, duration: 15 });

  await eventually(() => victim.requests >= 200, { timeoutMs: 10_000, what: 'traffic to every upstream' });
  const down = nextTransition(p.proxy.events, (t) => about(t) && isDown('ActiveCheckFailed')(t), 10_000);
  await victim.kill();
  await down;
  const others = () => upstreams[0]!.requests + upstreams[2]!.requests;
  const servedWhileDown = others();
  await eventually(() => others() >= servedWhileDown + 500, {
    timeoutMs: 10_000,
    what: 'traffic to the others',
  });

  const up = nextTransition(p.proxy.events, (t) => about(t) && isUp('ActiveCheckFailed')(t), 10_000);
  const restarted = await startHealthUpstream('b', victim.port);
  upstreams[1] = restarted;
  await up;
  await eventually(() => restarted.requests >= 200, {
    timeoutMs: 10_000,
    what: 'traffic to the restarted upstream',
  });
  const r = await load.stop();
  assert.ok(r['2xx'] > 0, 'the load ran');
  assert.deepEqual(
    { errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, resets: r.resets },
    { errors: 0, timeouts: 0, non2xx: 0, resets: 0 },
  );
});
