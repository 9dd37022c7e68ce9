/**
 * gRPC streaming through Portside with real @grpc/grpc-js peers: server streaming of
 * 10,000 messages, client streaming, bidirectional echo, and a reader that stops reading:
 * HTTP/2 flow control must hold the server back end to end instead of Portside buffering
 * what the client does not take.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EchoClient, type EchoReply, echoClient, type GrpcServer, grpc } from '../helpers/grpc.js';
import { type GrpcSetup, grpcListener, startGrpcSetup } from '../helpers/grpc-proxy.js';
import { eventually } from '../helpers/wait.js';

/** Resolves once `read()` returns the same value `times` polls in a row (the writer is held back). */
async function settles(read: () => number, times = 5, intervalMs = 100): Promise<number> {
  let last = -1;
  let same = 0;
  return eventually(
    () => {
      const now = read();
      same = now === last ? same + 1 : 0;
      last = now;
      return same >= times ? now + 1 : 0; // +1: a settled 0 is still an answer
    },
    { timeoutMs: 20_000, intervalMs, what: 'the stream to stall' },
  ).then((n) => n - 1);
}

function externalBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('gRPC streaming', { timeout: 90_000 }, () => {
  let setup: GrpcSetup;
  let server: GrpcServer;
  let client: EchoClient;

  before(async () => {
    setup = await startGrpcSetup(['s'], {
      listeners: [grpcListener('quiet', { keys: ['limits: { bodyTimeout: 500ms }'] })],
    });
    server = setup.servers[0]!;
    client = setup.client;
  });
  after(() => setup?.close());

  it('streams 10,000 messages from the server, in order', async () => {
    const call = client.ServerStream({ count: 10_000, payloadBytes: 16 });
    let expected = 0;
    await new Promise<void>((resolve, reject) => {
      call.on('data', (m: EchoReply) => {
        if (m.seq !== expected) reject(new Error(`message ${m.seq} arrived where ${expected} was due`));
        expected++;
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    assert.equal(expected, 10_000);
  });

  it('passes a status in the trailers after messages, and a cancel mid-stream reaches the server', async () => {
    const failing = client.ServerStream({ count: 100, failAfter: 40 });
    let received = 0;
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      failing.on('data', () => received++);
      failing.on('error', resolve);
    });
    assert.equal(error.code, grpc.status.ABORTED);
    assert.equal(error.details, 'aborted mid-stream');
    assert.equal(received, 40);

    const cancelled = server.cancelled;
    const endless = client.ServerStream({ count: 1_000_000, payloadBytes: 1024 });
    const gone = new Promise<grpc.ServiceError>((resolve) => {
      let n = 0;
      endless.on('data', () => {
        if (++n === 100) endless.cancel();
      });
      endless.on('error', resolve);
    });
    assert.equal((await gone).code, grpc.status.CANCELLED);
    await eventually(() => server.cancelled > cancelled, {
      timeoutMs: 10_000,
      what: 'the server to see the cancel',
    });
    assert.ok(server.streamed < 1_000_000);
  });

  it('carries large messages and metadata both ways (binary metadata included)', async () => {
    const text = 'é'.repeat(1_500_000); // 3 MB of UTF-8
    const metadata = new grpc.Metadata();
    metadata.set('x-echo-plain', 'hello');
    metadata.set('x-echo-bin', Buffer.from([0, 1, 2, 255]));
    let head: grpc.Metadata | undefined;
    let trailers: grpc.Metadata | undefined;
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = client.Unary({ text }, metadata, {}, (error, r) => (error ? reject(error) : resolve(r!)));
      call.on('metadata', (m) => {
        head = m;
      });
      call.on('status', (s) => {
        trailers = s.metadata;
      });
    });
    assert.equal(reply.text, text);
    assert.equal(head?.get('x-echo-plain')[0], 'hello');
    assert.deepEqual(head?.get('x-echo-bin')[0], Buffer.from([0, 1, 2, 255]));
    assert.equal(trailers?.get('x-echo-plain')[0], 'hello');
  });

  it('streams from the client', async () => {
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = client.ClientStream((error, r) => (error ? reject(error) : resolve(r!)));
      for (let i = 0; i < 2000; i++) call.write({ text: `m${i}` });
      call.end();
    });
    assert.equal(reply.seq, 2000);
    assert.equal(reply.text, 'm1999');
  });

  it('echoes both ways on one call', async () => {
    const call = client.Bidi();
    const seen: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (m: EchoReply) => {
        seen.push(m.text);
        // Ping-pong: the next message goes only after its answer came back through Portside.
        if (seen.length < 200) call.write({ text: `m${seen.length}` });
        else call.end();
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    call.write({ text: 'm0' });
    await ended;
    assert.deepEqual(
      seen,
      Array.from({ length: 200 }, (_, i) => `m${i}`),
    );
  });

  it('keeps a bidirectional call whose client is quiet while the server streams (limits.bodyTimeout)', async () => {
    const quiet = echoClient(setup.proxy.port('quiet'));
    const call = quiet.Bidi();
    let ticks = 0;
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', () => {
        // Three seconds of server messages, far past the 500 ms body timeout.
        if (++ticks === 30) call.end();
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    call.write({ text: 'ticks 30' });
    try {
      await ended;
    } finally {
      quiet.close();
    }
    assert.equal(ticks, 30);
  });

  it('holds a fast server back while the client does not read, without Portside buffering it', async () => {
    const count = 5000;
    const payloadBytes = 64 * 1024; // 320 MiB if nothing held the server back
    global.gc?.();
    const memoryBefore = externalBytes();
    const startedAt = server.streamed;
    const call = client.ServerStream({ count, payloadBytes });
    let received = 0;
    call.on('data', () => {
      received++;
    });
    call.pause();
    const sent = await settles(() => server.streamed - startedAt);
    const growth = externalBytes() - memoryBefore;
    // Windows and socket buffers along the way hold a few MiB; never the whole stream.
    assert.ok(sent < count / 4, `the server wrote ${sent} of ${count} messages to a paused reader`);
    assert.ok(growth < 96 * 1024 * 1024, `memory grew by ${Math.round(growth / 1048576)} MiB`);
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.resume();
    await ended;
    assert.equal(received, count);
  });
});
