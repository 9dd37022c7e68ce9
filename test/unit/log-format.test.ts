/**
 * Log lines as operators read them: level names, not numbers, in every line the proxy
 * writes (access log lines included, which are written by hand), and colour only where it
 * belongs.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger, useColor } from '../../src/core/log.js';
import { AccessLogWriter } from '../../src/l7/access-log.js';

it('writes level names, and access log lines in the same shape as pino lines', () => {
  const out: string[] = [];
  const destination = { write: (text: string) => out.push(text) };
  // The proxy's own logger, writing to a sink here instead of stdout.
  const log = createLogger('info', false, destination).child({ listener: 'web' });
  log.info({ a: 1 }, 'hello');
  const writer = new AccessLogWriter(log);
  writer.write({
    method: 'GET',
    host: 'h',
    path: '/x?y="z"',
    status: 200,
    route: 'api',
    cluster: 'c',
    endpoint: 'e',
    attempts: 1,
    durationMs: 1.5,
    bytesIn: 0,
    bytesOut: 3,
    requestId: 'r',
    error: undefined,
    grpcStatus: undefined,
  });
  writer.flush();
  const lines = out
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines[0].level, 'info');
  assert.equal(lines[1].level, 'info');
  assert.equal(lines[1].listener, 'web');
  assert.equal(lines[1].route, 'api');
  assert.equal(lines[1].path, '/x?y="z"');
  assert.equal(lines[1].msg, 'http request');
  assert.deepEqual(Object.keys(lines[1]).slice(0, 5), ['level', 'time', 'pid', 'listener', 'method']);
});

it('colours pretty logs only on a terminal without NO_COLOR', () => {
  assert.equal(useColor({}, true), true);
  assert.equal(useColor({}, false), false);
  assert.equal(useColor({ NO_COLOR: '1' }, true), false);
  assert.equal(useColor({ NO_COLOR: '' }, true), true);
});
