import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { adoptWithReadBuffer } from '../../src/listeners/adopt-socket.js';
import { openConnection } from '../helpers/tcp.js';

test('an accepted socket reads into the caller’s buffers, in place, on this Node', async (t) => {
  const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;

  const buffers: Buffer[] = [];
  let received = '';
  let gotHello!: () => void;
  const hello = new Promise<void>((resolve) => {
    gotHello = resolve;
  });
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = await openConnection(port);
  t.after(() => client.destroy());
  const [socket] = await accepted;
  const adopted = adoptWithReadBuffer(socket, {
    buffer: () => {
      const next = Buffer.alloc(64);
      buffers.push(next);
      return next;
    },
    callback: (length, buffer) => {
      // The bytes arrive in the buffer the generator gave, not in one Node allocated.
      assert.ok(buffers.includes(buffer as Buffer), 'read into a generated buffer');
      received += (buffer as Buffer).toString('latin1', 0, length);
      if (received === 'hello') gotHello();
      return true;
    },
  });
  assert.equal(adopted, socket, 'adopted in place: the fast path is available on this Node');
  socket.on('data', () => assert.fail('no data events once adopted'));
  adopted.resume();
  client.write('hello');
  await hello;
  // Adopting twice is refused: the socket already reads into buffers.
  assert.equal(adoptWithReadBuffer(socket, { buffer: Buffer.alloc(8), callback: () => true }), undefined);
  socket.destroy();
});
