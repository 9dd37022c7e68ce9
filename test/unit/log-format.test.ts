/**
 * Log lines as operators read them: level names, not numbers, in every line the proxy
 * writes (access log lines included, which are written by hand), and colour only where it
 * belongs.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { flushInfoLines } from '../../src/core/info-lines.js';
import { createLogger, useColor } from '../../src/core/log.js';
import { ConnectionLog } from '../../src/l4/connection-log.js';
import type { TcpSessionSummary } from '../../src/l4/tcp-session.js';
import { AccessLogWriter } from '../../src/l7/access-log.js';
import { eventually } from '../helpers/wait.js';

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

it('writes each TCP connection line exactly as pino would, and both in one write soon after', async () => {
  const out: string[] = [];
  const log = createLogger('info', false, { write: (text: string) => out.push(text) });
  const summaries: TcpSessionSummary[] = [
    {
      listener: 'db "primary"',
      client: '127.0.0.1:5000',
      endpoint: '10.0.0.1:5432',
      attempts: 2,
      bytesFromClient: 10,
      bytesToClient: 2048,
      durationMs: 12,
      end: 'closed',
      error: undefined,
    },
    {
      listener: 'db',
      client: '',
      endpoint: undefined,
      attempts: 3,
      bytesFromClient: 0,
      bytesToClient: 0,
      durationMs: 0,
      end: 'connect_failed',
      error: 'connect-refused',
    },
  ];
  const byHand = new ConnectionLog(log);
  for (const s of summaries) {
    log.info(s, 'tcp connection');
    byHand.write(s);
  }
  // pino wrote its two lines at once; the hand-written ones wait to be written together.
  assert.equal(out.length, 2);
  await eventually(() => out.length === 3, { what: 'the batch of hand-written lines' });
  assert.equal(out.length, 3, 'both hand-written lines in one write');
  const withoutTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":""');
  const pinoLines = out.slice(0, 2).map(withoutTime);
  const handLines = out[2]!
    .trimEnd()
    .split('\n')
    .map((l) => withoutTime(`${l}\n`));
  assert.deepEqual(handLines, pinoLines);
});

it('colours pretty logs only on a terminal without NO_COLOR', () => {
  assert.equal(useColor({}, true), true);
  assert.equal(useColor({}, false), false);
  assert.equal(useColor({ NO_COLOR: '1' }, true), false);
  assert.equal(useColor({ NO_COLOR: '' }, true), true);
});

it('writes the time as pino does, milliseconds included', (t) => {
  const out: string[] = [];
  const log = createLogger('info', false, { write: (text: string) => out.push(text) });
  const byHand = new ConnectionLog(log);
  const summary: TcpSessionSummary = {
    listener: 'db',
    client: '',
    endpoint: undefined,
    attempts: 1,
    bytesFromClient: 0,
    bytesToClient: 0,
    durationMs: 0,
    end: 'closed',
    error: undefined,
  };
  const second = Date.parse('2026-12-07T04:27:51.000Z');
  const instants = [5, 50, 999, 1000, 1007, 61_123].map((ms) => second + ms);
  t.mock.timers.enable({ apis: ['Date'], now: instants[0] });
  for (const at of instants) {
    t.mock.timers.setTime(at);
    byHand.write(summary);
  }
  t.mock.timers.reset();
  flushInfoLines();
  const times = out
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).time as string);
  assert.deepEqual(
    times,
    instants.map((at) => new Date(at).toISOString()),
  );
});
