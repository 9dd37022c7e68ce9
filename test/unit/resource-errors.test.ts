import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { test } from 'node:test';
import { classifyError } from '../../src/l7/retry-policy.js';
import { Listener } from '../../src/listeners/listener.js';
import {
  EXHAUSTION_MESSAGE,
  isResourceExhaustion,
  ResourceErrors,
  resourceErrors,
} from '../../src/listeners/resource-errors.js';
import { captureLogger } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

const errno = (code: string) => Object.assign(new Error(`${code}: too many open files`), { code });

test("fd and buffer exhaustion is the proxy's own failure, not the endpoint's", () => {
  for (const code of ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']) {
    assert.ok(isResourceExhaustion(errno(code)), code);
    assert.deepEqual(classifyError(errno(code)), { kind: 'out-of-resources', reason: 'out-of-resources' });
  }
  assert.equal(classifyError(errno('ECONNREFUSED')).kind, 'connect-failure');
  assert.ok(!isResourceExhaustion(errno('ECONNRESET')));
  assert.ok(!isResourceExhaustion(null));
});

test('logged at most once a second, with the occurrences since the previous line', {
  timeout: 10_000,
}, async () => {
  const { logger, lines } = captureLogger();
  const errors = new ResourceErrors();
  errors.record('connect', 'EMFILE', logger, { listener: 'web' });
  for (let i = 0; i < 4; i++) errors.record('accept', 'EMFILE', logger);
  errors.record('connect', 'ENFILE', logger);
  assert.equal(lines.length, 1, 'the first one at once');
  assert.equal(lines[0]!.msg, EXHAUSTION_MESSAGE);
  assert.deepEqual([lines[0]!.occurrences, lines[0]!.connectErrors, lines[0]!.listener], [1, 1, 'web']);
  await eventually(() => lines.length === 2, { timeoutMs: 5000, what: 'the summary line' });
  assert.deepEqual(
    [lines[1]!.occurrences, lines[1]!.acceptErrors, lines[1]!.connectErrors, lines[1]!.code],
    [5, 4, 1, 'ENFILE'],
  );
  assert.deepEqual(errors.snapshot(), [
    { side: 'connect', code: 'EMFILE', count: 1 },
    { side: 'accept', code: 'EMFILE', count: 4 },
    { side: 'connect', code: 'ENFILE', count: 1 },
  ]);
});

test('an accept error on a bound listener is counted, not thrown', { timeout: 10_000 }, async (t) => {
  const { logger, lines } = captureLogger();
  const listener = new Listener('web', '127.0.0.1:0', logger);
  await listener.bind();
  t.after(() => listener.stopAccepting());
  // What libuv reports when it cannot accept even with its reserve fd (no seam in net.Server).
  (listener as unknown as { servers: Server[] }).servers[0]!.emit('error', errno('EMFILE'));
  assert.deepEqual(resourceErrors.snapshot(), [{ side: 'accept', code: 'EMFILE', count: 1 }]);
  assert.deepEqual(
    [lines[0]!.msg, lines[0]!.listener, lines[0]!.acceptErrors],
    [EXHAUSTION_MESSAGE, 'web', 1],
  );
});
