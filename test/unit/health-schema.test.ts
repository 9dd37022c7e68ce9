import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem, loadConfigText } from '../../src/config/load.js';

function cluster(extra: string) {
  return `clusters:\n  - name: api\n    endpoints: [127.0.0.1:9001]\n${extra}`;
}

function load(extra: string) {
  const result = loadConfigText(cluster(extra), 'c.yaml');
  return { config: result.config?.clusters[0], errors: result.problems.map(formatProblem) };
}

test('health sections are off by default; panicThreshold defaults to 50%', () => {
  const { config, errors } = load('');
  assert.deepEqual(errors, []);
  assert.equal(config?.healthCheck, undefined);
  assert.equal(config?.outlierDetection, undefined);
  assert.equal(config?.panicThreshold, 50);
});

test('the example from the issue parses, with every default filled in', () => {
  const { config, errors } = load(`    healthCheck:
      interval: 2s
      timeout: 500ms
      unhealthyThreshold: 2
      healthyThreshold: 2
      jitter: 10%
      http: { path: /healthz, expectedStatus: [200-399], host: api.local }
    outlierDetection:
      consecutiveFailures: 5
      baseEjectionTime: 30s
      maxEjectionTime: 5m
      maxEjectionPercent: 50
    panicThreshold: 25%
`);
  assert.deepEqual(errors, []);
  assert.deepEqual(config?.healthCheck, {
    interval: '2s',
    timeout: '500ms',
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    jitter: 10,
    http: { path: '/healthz', expectedStatus: ['200-399'], host: 'api.local' },
  });
  assert.deepEqual(config?.outlierDetection, {
    consecutiveFailures: 5,
    baseEjectionTime: '30s',
    maxEjectionTime: '5m',
    maxEjectionPercent: 50,
  });
  assert.equal(config?.panicThreshold, 25);
});

test('empty sections get defaults: a TCP check every 2s, outlier detection after 5 failures', () => {
  const { config, errors } = load('    healthCheck: {}\n    outlierDetection: {}\n');
  assert.deepEqual(errors, []);
  assert.deepEqual(config?.healthCheck, {
    interval: '2s',
    timeout: '1s',
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    jitter: 10,
  });
  assert.deepEqual(config?.outlierDetection, {
    consecutiveFailures: 5,
    baseEjectionTime: '30s',
    maxEjectionTime: '5m',
    maxEjectionPercent: 50,
  });
  const http = load('    healthCheck: { http: {} }\n').config?.healthCheck?.http;
  assert.deepEqual(http, { path: '/', expectedStatus: ['200-399'] });
});

test('expectedStatus takes numbers, ranges, a mix, or a single value', () => {
  const statuses = (value: string) =>
    load(`    healthCheck: { http: { expectedStatus: ${value} } }\n`).config?.healthCheck?.http
      ?.expectedStatus;
  assert.deepEqual(statuses('[200, 204]'), [200, 204]);
  assert.deepEqual(statuses('[200-299, 404]'), ['200-299', 404]);
  assert.deepEqual(statuses('["200 - 204"]'), ['200-204']);
  assert.deepEqual(statuses('204'), [204]);
  assert.deepEqual(statuses('200-399'), ['200-399']);
  assert.deepEqual(statuses('["301-301"]'), [301]);
});

test('bad values get an error naming the field and its place in the file', () => {
  const cases: [string, string][] = [
    [
      '    healthCheck: { http: { expectedStatus: [299-200] } }\n',
      'c.yaml:4:45 clusters[0].healthCheck.http.expectedStatus[0]: status range "299-200" is backwards; write the lower code first',
    ],
    [
      '    healthCheck: { http: { expectedStatus: [ok] } }\n',
      'c.yaml:4:45 clusters[0].healthCheck.http.expectedStatus[0]: invalid status "ok"; write a code (200) or a range ("200-399")',
    ],
    [
      '    healthCheck: { http: { expectedStatus: [200-700] } }\n',
      'c.yaml:4:45 clusters[0].healthCheck.http.expectedStatus[0]: status "200-700" is outside 100-599',
    ],
    [
      '    healthCheck: { http: { expectedStatus: [] } }\n',
      'c.yaml:4:44 clusters[0].healthCheck.http.expectedStatus: list at least one status',
    ],
    [
      '    healthCheck: { http: { path: healthz } }\n',
      'c.yaml:4:34 clusters[0].healthCheck.http.path: expected a path starting with "/" and without spaces, e.g. "/healthz"',
    ],
    [
      '    healthCheck: { jitter: 120% }\n',
      'c.yaml:4:28 clusters[0].healthCheck.jitter: invalid percentage "120%"; write a value from 0% to 100%, e.g. "50%"',
    ],
    [
      '    healthCheck: { interval: 2 }\n',
      'c.yaml:4:30 clusters[0].healthCheck.interval: expected a duration with a unit, e.g. "500ms", "1s", "10m"',
    ],
    [
      '    healthCheck: { tcp: {}, http: {} }\n',
      'c.yaml:4:35 clusters[0].healthCheck.http: choose one probe: "tcp", "http" or "grpc", not two',
    ],
    [
      '    healthCheck: { http: {}, grpc: { service: a } }\n',
      'c.yaml:4:36 clusters[0].healthCheck.grpc: choose one probe: "tcp", "http" or "grpc", not two',
    ],
    [
      '    healthCheck: { grpc: { service: 1 } }\n',
      'c.yaml:4:37 clusters[0].healthCheck.grpc.service: expected a service name, e.g. "helloworld.Greeter"',
    ],
    [
      '    outlierDetection: { baseEjectionTime: 1m, maxEjectionTime: 30s }\n',
      'c.yaml:4:64 clusters[0].outlierDetection.maxEjectionTime: maxEjectionTime (30s) must not be shorter than baseEjectionTime (1m)',
    ],
    [
      '    outlierDetection: { consecutiveFailures: 0 }\n',
      'c.yaml:4:46 clusters[0].outlierDetection.consecutiveFailures: must be at least 1',
    ],
    [
      '    healthCheck: { interval: 0s }\n',
      'c.yaml:4:30 clusters[0].healthCheck.interval: interval must be above 0',
    ],
    [
      '    panicThreshold: lots\n',
      'c.yaml:4:21 clusters[0].panicThreshold: invalid percentage "lots"; write a value from 0% to 100%, e.g. "50%"',
    ],
  ];
  for (const [yaml, expected] of cases) assert.deepEqual(load(yaml).errors, [expected], yaml);
});

test('an HTTP check refuses a host or path that would inject into its request head', () => {
  const { errors } = load(`    healthCheck:
      http: { path: "/healthz\\0", host: "api.local\\r\\nx-injected: 1" }
`);
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors.join('\n'), /healthCheck\.http\.path: a path has no control characters/);
  assert.match(errors.join('\n'), /healthCheck\.http\.host: a Host header value is host\[:port\]/);
});
